import Foundation
import Logging
import PostgresNIO
import SegStorage
import SegTestSupport
import Synchronization
import Testing

/// `Database`: where a repository call runs (pool or transaction) and whose logger its statements use.
@Suite(.timeLimit(.minutes(5))) struct DatabaseTests {
    @Test func aNestedTransactionJoinsTheCallersAndRollsBackWithIt() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: RecordedLines.logger(level: .critical, into: RecordedLines()))
            struct Abort: Error {}

            // MUT: `ProjectRepository.create` opens a transaction of its own; inside the caller's it must join it, so
            // the caller's rollback takes the project with the account.
            await #expect(throws: (any Error).self) {
                try await database.transaction { transaction in
                    #expect(transaction.isInTransaction)
                    let owner = try await UserRepository.create(NewUser(email: "nested@example.org", passwordHash: "h"), on: transaction)
                    _ = try await ProjectRepository.create(ownerID: owner.id, name: "Nested", description: "", on: transaction)
                    throw Abort()
                }
            }

            // validate
            let users = try await UserRepository.count(on: database)
            let projects = try await ProjectRepository.listAll(page: .first, on: database)
            #expect(!database.isInTransaction)
            #expect(users == 0)
            #expect(projects.items.isEmpty)
        }
    }

    @Test func aTransactionCommitsWhenItsBodyReturns() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: RecordedLines.logger(level: .critical, into: RecordedLines()))
            let project = try await database.transaction { transaction in
                let owner = try await UserRepository.create(NewUser(email: "commit@example.org", passwordHash: "h"), on: transaction)
                return try await ProjectRepository.create(ownerID: owner.id, name: "Kept", description: "", on: transaction)
            }
            let stored = try await ProjectRepository.find(id: project.id, on: database)
            #expect(stored?.name == "Kept")
        }
    }

    @Test func statementsAndLogLinesCarryTheCallersLogger() async throws {
        try await withTestDatabase { client in
            // setup: two callers on one client, each with its own request id
            let lines = RecordedLines()
            var first = RecordedLines.logger(level: .trace, into: lines)
            first[metadataKey: "request.id"] = "req-1"
            var second = first
            second[metadataKey: "request.id"] = "req-2"
            let database = Database(client: client, logger: first)

            // MUT
            let user = try await UserRepository.create(NewUser(email: "logged@example.org", passwordHash: "h"), on: database)
            _ = try await UserRepository.setDisabled(id: user.id, disabled: true, on: database.logging(to: second))

            // validate: the repository's own lines and postgres-nio's statement lines name the request that caused them
            let recorded = lines.all
            #expect(recorded.contains { $0.message == "user created" && $0.requestID == "req-1" })
            #expect(recorded.contains { $0.message == "user disabled" && $0.requestID == "req-2" })
            #expect(!recorded.contains { $0.message == "user disabled" && $0.requestID == "req-1" })
            #expect(recorded.contains { $0.message != "user created" && $0.requestID == "req-1" }, "postgres-nio's own lines for the insert")
        }
    }
}

/// Log lines kept in memory, with their `request.id`. A capture of the real logging path (a `LogHandler`), not a
/// double of anything the tests check.
final class RecordedLines: Sendable {
    struct Line: Sendable {
        var message: String
        var requestID: String?
    }

    private let lines = Mutex<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    func append(_ line: Line) { lines.withLock { $0.append(line) } }

    static func logger(level: Logger.Level, into lines: RecordedLines) -> Logger {
        var logger = Logger(label: "seg.test.database") { _ in Handler(lines: lines) }
        logger.logLevel = level
        return logger
    }

    private struct Handler: LogHandler {
        let lines: RecordedLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            lines.append(Line(message: "\(event.message)", requestID: merged["request.id"].map { "\($0)" }))
        }
    }
}
