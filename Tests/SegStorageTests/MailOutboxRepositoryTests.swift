import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

/// The outbox's own rules: what it refuses, the order and exclusivity of claims, and its depth.
@Suite(.timeLimit(.minutes(5))) struct MailOutboxRepositoryTests {
    static let logger = Logger(label: "MailOutboxRepositoryTests")

    static func mail(_ recipient: String, template: String = "verify-email", messageID: String? = nil) -> OutgoingMail {
        OutgoingMail(
            template: template, recipient: recipient, subject: "Verify", text: "t", html: nil,
            messageID: messageID ?? "<\(UUID().uuidString.lowercased())@seghub.test>")
    }

    @Test func badRowsAndAReusedMessageIDAreRefused() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let template = try await storageError {
                _ = try await MailOutboxRepository.enqueue(Self.mail("a@lab.example", template: "Bad Template!"), on: database)
            }
            #expect(template == .invalidArgument("the outbox refuses this message (mail_outbox_template_check)"))
            let empty = try await storageError { _ = try await MailOutboxRepository.enqueue(Self.mail(""), on: database) }
            #expect(empty == .invalidArgument("the outbox refuses this message (mail_outbox_recipient_check)"))
            _ = try await MailOutboxRepository.enqueue(Self.mail("a@lab.example", messageID: "<same@seghub.test>"), on: database)
            let reused = try await storageError {
                _ = try await MailOutboxRepository.enqueue(Self.mail("b@lab.example", messageID: "<same@seghub.test>"), on: database)
            }
            #expect(reused == .conflict(constraint: "mail_outbox_message_id_key"))
        }
    }

    @Test func claimsTakeDueMessagesOldestFirstEachOnceAndCountTheAttempt() async throws {
        try await withTestDatabase { client in
            // setup: three messages; the middle one not due for an hour
            let database = Database(client: client, logger: Self.logger)
            let first = try await MailOutboxRepository.enqueue(Self.mail("1@lab.example"), on: database)
            let later = try await MailOutboxRepository.enqueue(Self.mail("2@lab.example"), on: database)
            let third = try await MailOutboxRepository.enqueue(Self.mail("3@lab.example"), on: database)
            try await client.query("UPDATE mail_outbox SET next_attempt_at = now() + interval '1 hour' WHERE id = \(later.id)")

            // MUT
            let a = try await MailOutboxRepository.claimNext(on: database)
            let b = try await MailOutboxRepository.claimNext(on: database)
            let none = try await MailOutboxRepository.claimNext(on: database)

            // validate: due ones in order, counted and marked, then nothing; the depth says so
            #expect(a?.id == first.id && b?.id == third.id && none == nil)
            #expect(a?.state == .sending && a?.attempts == 1 && a?.sendingSince != nil)
            let depth = try await MailOutboxRepository.depth(on: database)
            #expect(depth.counts == [.queued: 1, .sending: 2, .sent: 0, .failed: 0])
            #expect(depth.oldestDueSeconds == 0)
            // A mark applies only to a message in `sending`.
            #expect(try await MailOutboxRepository.markSent(id: first.id, reply: "ok", on: database))
            #expect(try await MailOutboxRepository.markSent(id: first.id, reply: "again", on: database) == false)
            #expect(try await MailOutboxRepository.markFailed(id: later.id, error: "x", on: database) == false)
        }
    }
}
