import ArgumentParser
import Foundation
import PostgresNIO
import SegStorage

extension SegCtl {
    /// `segctl queue stats|list|retry|cancel|prune`.
    struct Queue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect the job queue, retry failed jobs, cancel pending ones and prune finished ones.",
            subcommands: [Stats.self, List.self, Retry.self, Cancel.self, Prune.self])
    }
}

/// Which jobs `retry` and `cancel` act on: exactly one of an id, `--project` or `--all`.
struct JobSelectionOptions: ParsableArguments {
    @Argument(help: "A job id.") var id: UUID?
    @Option(name: .customLong("project"), help: "Every matching job of this project.") var project: UUID?
    @Flag(name: .customLong("all"), help: "Every matching job.") var all = false

    /// The selection as the queue takes it.
    var target: JobQueue.JobSelection {
        if let id { return .job(id) }
        if let project { return .project(project) }
        return .all
    }

    func validate() throws {
        let given = [id != nil, project != nil, all].filter { $0 }.count
        guard given == 1 else { throw ValidationError("give exactly one of a job id, --project ID or --all") }
    }
}

extension SegCtl.Queue {
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count jobs by state (optionally of one project).")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("project"), help: "Only this project's jobs.") var project: UUID?
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func run() async throws {
            let stats = try await database.withDatabase { postgres in
                try await JobQueue().stats(projects: project.map { [$0] }, on: postgres)
            }
            if json { return try Output.json(stats) }
            Terminal.output(Output.table(["QUEUED", "RUNNING", "FAILED"], [[String(stats.queued), String(stats.running), String(stats.failed)]]))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("state"), help: "queued, running, succeeded, failed or cancelled.") var state: JobState?
        @Option(name: .customLong("project"), help: "Only this project's jobs.") var project: UUID?
        @Option(name: .customLong("limit"), help: "At most this many (1…500).") var limit = 50
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of a table.") var json = false

        func validate() throws {
            guard (1...PageRequest.maximumLimit).contains(limit) else { throw ValidationError("--limit must be 1…\(PageRequest.maximumLimit)") }
        }

        struct Entry: Encodable {
            var id: UUID
            var kind: String
            var state: String
            var projectID: UUID?
            var imageID: UUID?
            var attempt: Int
            var maxAttempts: Int
            var lastError: String?
            var createdAt: Date
        }

        func run() async throws {
            let page = try await database.withDatabase { postgres in
                try await JobQueue().list(state: state, project: project, page: PageRequest(limit: limit, after: nil), on: postgres)
            }
            let entries = page.items.map {
                Entry(
                    id: $0.id, kind: $0.kind.rawValue, state: $0.state.rawValue, projectID: $0.projectID, imageID: $0.imageID, attempt: $0.attempt,
                    maxAttempts: $0.maxAttempts, lastError: $0.lastError, createdAt: $0.createdAt)
            }
            if json { return try Output.json(entries) }
            Terminal.output(
                Output.table(
                    ["ID", "KIND", "STATE", "ATTEMPT", "CREATED", "LAST ERROR"],
                    entries.map {
                        [
                            $0.id.uuidString.lowercased(), $0.kind, $0.state, "\($0.attempt)/\($0.maxAttempts)", Output.time($0.createdAt),
                            $0.lastError.map { String($0.prefix(60)) } ?? "",
                        ]
                    }))
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put failed jobs back in the queue with fresh attempts: one job by id (failed or cancelled), a project's, or all.")
        @OptionGroup var selection: JobSelectionOptions
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let count = try await database.withDatabase { postgres in
                let queue = JobQueue()
                let count = try await queue.retry(selection.target, on: postgres)
                if let id = selection.id, count == 0 {
                    throw CLIError.failed(
                        "job \(id.uuidString.lowercased()) is neither failed nor cancelled, or its image has a newer queued request")
                }
                try await Audit.record(
                    "queue.retry", targetType: selection.id != nil ? "job" : (selection.project != nil ? "project" : nil),
                    targetID: selection.id ?? selection.project, details: ["jobs": count], on: postgres)
                return count
            }
            Terminal.output("\(count) job(s) queued again\n")
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel queued and running jobs: one by id, a project's, or all; their images go back to their earlier status.")
        @OptionGroup var selection: JobSelectionOptions
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let count = try await database.withDatabase { postgres in
                let queue = JobQueue()
                let count = try await queue.cancel(selection.target, on: postgres)
                try await Audit.record(
                    "queue.cancel", targetType: selection.id != nil ? "job" : (selection.project != nil ? "project" : nil),
                    targetID: selection.id ?? selection.project, details: ["jobs": count], on: postgres)
                return count
            }
            Terminal.output("\(count) job(s) cancelled\n")
        }
    }
}

extension SegCtl.Queue {
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete jobs that finished (succeeded, failed or cancelled) more than --older-than-days ago.",
            discussion: "Queued and running jobs are never touched. Failed jobs deleted here can no longer be retried.")
        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("older-than-days"), help: "Keep jobs that finished more recently (at least 1).") var days = 30
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws {
            guard days >= 1 else { throw ValidationError("--older-than-days must be at least 1") }
        }

        func run() async throws {
            let cutoff = Date().addingTimeInterval(-Double(days) * 86_400)
            let count = try await database.withDatabase { postgres in
                let count = try await JobQueue().deleteFinished(before: cutoff, on: postgres)
                try await Audit.record(
                    "queue.prune", targetType: nil, targetID: nil, details: ["jobs": count, "olderThanDays": days], on: postgres)
                return count
            }
            if json { return try Output.json(["deleted": count]) }
            Terminal.output("\(count) finished job(s) deleted (finished more than \(days) day(s) ago)\n")
        }
    }
}

extension JobState: ExpressibleByArgument {}
