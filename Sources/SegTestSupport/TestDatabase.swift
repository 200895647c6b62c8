import Foundation
import Logging
import PostgresNIO
import SegStorage

/// Why a test database could not be provided. Tests fail with it; they never skip.
public struct TestDatabaseError: Error, CustomStringConvertible {
    /// What went wrong and how to fix it.
    public var description: String
}

/// Runs `body` against a fresh database of its own, dropped afterwards.
///
/// The database is cloned from a template that is created and migrated once per test process
/// (`CREATE DATABASE seg_test_<uuid> TEMPLATE seg_template_<random>`), so each call costs a file copy,
/// not a migration run. The server comes from `SEG_TEST_DATABASE_URL`, which `scripts/test.sh` sets.
/// - Parameters:
///   - migrated: `false` gives an empty database (for migration tests) instead of a migrated one.
///   - body: The test; receives a running client for the new database.
/// - Throws: `TestDatabaseError` when `SEG_TEST_DATABASE_URL` is unset or the server is unreachable, and whatever `body` throws.
public func withTestDatabase<Result: Sendable>(
    migrated: Bool = true,
    _ body: (PostgresClient) async throws -> Result
) async throws -> Result {
    try await withTestDatabaseURL(migrated: migrated) { client, _ in try await body(client) }
}

/// Like `withTestDatabase`, but `body` also receives the new database's URL (`SEG_TEST_DATABASE_URL` with its
/// database replaced), for tests that hand the database to another process such as the `segctl` binary.
/// - Parameters:
///   - migrated: `false` gives an empty database instead of a migrated one.
///   - body: The test; receives a running client for the new database and its URL.
/// - Throws: `TestDatabaseError` when `SEG_TEST_DATABASE_URL` is unset or the server is unreachable, and whatever `body` throws.
public func withTestDatabaseURL<Result: Sendable>(
    migrated: Bool = true,
    _ body: (PostgresClient, String) async throws -> Result
) async throws -> Result {
    // Nested calls (a test database made inside another test's body) already hold a permit: taking a second one
    // could wait for ever once every permit is held by an outer call.
    if TestDatabasePermits.held {
        return try await withFreshTestDatabase(migrated: migrated, body)
    }
    await TestDatabasePermits.shared.acquire()
    do {
        let result = try await TestDatabasePermits.$held.withValue(true) {
            try await withFreshTestDatabase(migrated: migrated, body)
        }
        await TestDatabasePermits.shared.release()
        return result
    } catch {
        await TestDatabasePermits.shared.release()
        throw error
    }
}

private func withFreshTestDatabase<Result: Sendable>(
    migrated: Bool,
    _ body: (PostgresClient, String) async throws -> Result
) async throws -> Result {
    let server = try TestDatabaseServer.configuration()
    let template = migrated ? try await TestDatabaseServer.shared.migratedTemplate() : "template0"
    let name = "seg_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
    try await TestDatabaseServer.admin(server) { admin in
        try await TestDatabaseServer.createDatabase(name, template: template, admin: admin)
    }
    let result: Result
    do {
        let url = try TestDatabaseServer.url(database: name)
        result = try await PostgresClient.withRunning(server.with(database: name), logger: TestDatabaseServer.logger) { client in
            try await body(client, url)
        }
    } catch {
        try? await TestDatabaseServer.dropDatabase(name, server: server)
        throw error
    }
    try await TestDatabaseServer.dropDatabase(name, server: server)
    return result
}

/// How many test databases may be in use at once (`SEG_TEST_DATABASE_LIMIT`, default 24).
///
/// Swift Testing starts every test at once; each test database brings a pool, and an application under test adds its
/// own pool, database monitor and event listener. Unbounded, a full run opened about 500 sessions and met
/// PostgreSQL's `max_connections` ("sorry, too many clients already"), which failed whichever test was unlucky. The
/// tests past the limit wait for a permit before their database is made.
actor TestDatabasePermits {
    static let shared = TestDatabasePermits(
        limit: ProcessInfo.processInfo.environment["SEG_TEST_DATABASE_LIMIT"].flatMap { Int($0) }.map { max(1, $0) } ?? 24)

    /// Whether the current task already holds a permit.
    @TaskLocal static var held = false

    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) {
        self.available = limit
    }

    /// Waits until a permit is free and takes it.
    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one.
    func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}

/// The server named by `SEG_TEST_DATABASE_URL`, and the migrated template made once per process.
actor TestDatabaseServer {
    static let shared = TestDatabaseServer()
    static let environmentKey = "SEG_TEST_DATABASE_URL"

    static let logger: Logger = {
        var logger = Logger(label: "seg.test.database")
        logger.logLevel = .critical
        return logger
    }()

    private var template: Task<String, any Error>?

    static func configuration() throws -> DatabaseConfiguration {
        guard let url = ProcessInfo.processInfo.environment[environmentKey], !url.isEmpty else {
            throw TestDatabaseError(
                description: """
                    \(environmentKey) is not set: these tests need PostgreSQL. Run them with `scripts/test.sh`, which starts \
                    a throwaway cluster (scripts/dev/postgres.sh) and sets it, or export it yourself \
                    (postgres://postgres@127.0.0.1:55432/postgres).
                    """
            )
        }
        do {
            return try DatabaseConfiguration(url: url)
        } catch {
            throw TestDatabaseError(description: "\(environmentKey): \(error)")
        }
    }

    /// `SEG_TEST_DATABASE_URL` with its path replaced by `/<database>`.
    static func url(database: String) throws -> String {
        let url = ProcessInfo.processInfo.environment[environmentKey] ?? ""
        guard var components = URLComponents(string: url) else {
            throw TestDatabaseError(description: "\(environmentKey): cannot replace the database in the URL")
        }
        components.path = "/\(database)"
        guard let result = components.string else {
            throw TestDatabaseError(description: "\(environmentKey): cannot replace the database in the URL")
        }
        return result
    }

    /// The name of the migrated template; the first caller creates it, the others wait for it.
    func migratedTemplate() async throws -> String {
        if let template { return try await template.value }
        let task = Task<String, any Error> {
            let server = try Self.configuration()
            let name = "seg_template_\(UInt64.random(in: 0...UInt64.max))"
            try await Self.admin(server) { admin in
                try await Self.createDatabase(name, template: "template0", admin: admin)
            }
            _ = try await PostgresClient.withRunning(server.with(database: name), logger: Self.logger) { client in
                try await Migrator(on: Database(client: client, logger: Self.logger)).migrate()
            }
            // No session may stay connected to a template while it is copied.
            try await Self.admin(server) { admin in
                _ = try await admin.query(PostgresQuery(unsafeSQL: "ALTER DATABASE \(name) WITH ALLOW_CONNECTIONS false"), logger: Self.logger)
            }
            return name
        }
        template = task
        return try await task.value
    }

    static func admin<Result: Sendable>(_ server: DatabaseConfiguration, _ body: (PostgresClient) async throws -> Result) async throws -> Result {
        do {
            return try await PostgresClient.withRunning(server, logger: logger, body)
        } catch let error as StorageError {
            throw error
        } catch {
            throw TestDatabaseError(description: "cannot prepare a test database on \(environmentKey): \(StorageError(mapping: error))")
        }
    }

    static func createDatabase(_ name: String, template: String, admin: PostgresClient) async throws {
        // The template's last connection may still be closing on the server: retry "being accessed by other users".
        for attempt in 1...50 {
            do {
                _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) TEMPLATE \(template)"), logger: logger)
                return
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "55006" && attempt < 50 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    static func dropDatabase(_ name: String, server: DatabaseConfiguration) async throws {
        try await admin(server) { admin in
            _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }
}
