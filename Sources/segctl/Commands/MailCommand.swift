import ArgumentParser
import Foundation
import SegStorage

extension SegCtl {
    /// `segctl mail list|retry|purge`: the mail outbox (docs/mail.md).
    struct Mail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect the mail outbox, send failed messages again and purge sent ones.",
            subcommands: [List.self, Retry.self, Purge.self])
    }
}

extension SegCtl.Mail {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List messages, newest first, with their state, attempts and last error.",
            discussion: "States: queued (waiting for an attempt), sending (an attempt in progress), sent, failed (given up).")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("state"), help: "queued, sending, sent or failed.") var state: MailState?
        @Option(name: .customLong("limit"), help: "At most this many (1…500).") var limit = 50
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of a table.") var json = false

        func validate() throws {
            guard (1...500).contains(limit) else { throw ValidationError("--limit must be 1…500") }
        }

        struct Entry: Encodable {
            var id: UUID
            var template: String
            var recipient: String
            var state: String
            var attempts: Int
            var nextAttemptAt: Date
            var lastError: String?
            var sentAt: Date?
            var createdAt: Date
        }

        func run() async throws {
            let records = try await database.withDatabase { postgres in
                try await MailOutboxRepository.list(state: state, limit: limit, on: postgres)
            }
            let entries = records.map {
                Entry(
                    id: $0.id, template: $0.mail.template, recipient: $0.mail.recipient, state: $0.state.rawValue, attempts: $0.attempts,
                    nextAttemptAt: $0.nextAttemptAt, lastError: $0.lastError, sentAt: $0.sentAt, createdAt: $0.createdAt)
            }
            if json { return try Output.json(entries) }
            Terminal.output(
                Output.table(
                    ["ID", "TEMPLATE", "TO", "STATE", "ATTEMPTS", "CREATED", "LAST ERROR"],
                    entries.map {
                        [
                            $0.id.uuidString.lowercased(), $0.template, $0.recipient, $0.state, "\($0.attempts)", Output.time($0.createdAt),
                            $0.lastError.map { String($0.prefix(60)) } ?? "",
                        ]
                    }))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue failed messages again, due now: one by id, or --all.",
            discussion: "A message failed as interrupted may already have been delivered: retrying it can send it twice.")
        @Argument(help: "A failed message's id.") var id: UUID?
        @Flag(name: .customLong("all"), help: "Every failed message.") var all = false
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard (id != nil) != all else { throw ValidationError("give exactly one of a message id or --all") }
        }

        func run() async throws {
            let count = try await database.withDatabase { postgres in
                var ids: [UUID] = []
                if let id {
                    ids = [id]
                } else {
                    ids = try await MailOutboxRepository.list(state: .failed, limit: 100_000, on: postgres).map(\.id)
                }
                for id in ids {
                    do {
                        try await MailOutboxRepository.retry(id: id, on: postgres)
                    } catch StorageError.notFound {
                        throw CLIError.failed("mail \(id.uuidString.lowercased()) is not a failed message")
                    }
                }
                try await Audit.record(
                    "mail.retry", targetType: id != nil ? "mail" : nil, targetID: id, details: ["messages": ids.count], on: postgres)
                return ids.count
            }
            Terminal.output("\(count) message(s) queued again\n")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete sent messages older than --older-than-days (queued and failed ones are kept).")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("older-than-days"), help: "Keep messages sent more recently (at least 1).") var days = 30
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws {
            guard days >= 1 else { throw ValidationError("--older-than-days must be at least 1") }
        }

        func run() async throws {
            let count = try await database.withDatabase { postgres in
                let count = try await MailOutboxRepository.purgeSent(olderThanDays: days, on: postgres)
                try await Audit.record(
                    "mail.purge", targetType: nil, targetID: nil, details: ["messages": count, "olderThanDays": days], on: postgres)
                return count
            }
            if json { return try Output.json(["deleted": count]) }
            Terminal.output("\(count) sent message(s) deleted (sent more than \(days) day(s) ago)\n")
        }
    }
}

extension MailState: ExpressibleByArgument {}
