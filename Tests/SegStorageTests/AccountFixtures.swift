import Foundation
import Logging
import PostgresNIO
import SegStorage
import Testing

/// Shared setup for the account-side repository tests: the database on one client, users, hashes, timestamps.
struct AccountFixtures {
    static let logger: Logger = {
        var logger = Logger(label: "seg.test.accounts")
        logger.logLevel = .critical
        return logger
    }()

    let client: PostgresClient
    let database: Database

    init(client: PostgresClient) {
        self.client = client
        database = Database(client: client, logger: Self.logger)
    }

    /// A new account with a unique email.
    func user(_ name: String = "user", role: AccountRole = .user) async throws -> UserRecord {
        try await UserRepository.create(
            NewUser(email: "\(name)-\(UUID().uuidString.prefix(8))@example.org", name: name, passwordHash: "hash", role: role), on: database)
    }

    /// A new project owned by `owner`.
    func project(owner: UUID, name: String = "Spheroids") async throws -> ProjectRecord {
        try await ProjectRepository.create(ownerID: owner, name: name, description: "", on: database)
    }

    /// Gives every row of `table` whose `column` is in `ids` the same `created_at`, so keyset pages must break ties by id.
    func setCreatedAt(_ table: String, column: String = "id", ids: [UUID], to timestamp: String = "2026-01-01 12:00:00+00") async throws {
        try await client.query(
            "UPDATE \(unescaped: table) SET created_at = \(timestamp)::timestamptz WHERE \(unescaped: column) = ANY(\(ids))"
        )
    }

    /// A random 32-byte value standing in for a SHA-256 digest.
    static func hash() -> Data {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) })
    }

    /// Reads every page of a list with `limit` rows per page.
    static func allPages<Item>(limit: Int, _ fetch: (PageRequest) async throws -> Page<Item>) async throws -> (items: [Item], pages: Int) {
        var items: [Item] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await fetch(try PageRequest(limit: limit, cursor: cursor))
            #expect(page.items.count <= limit)
            items += page.items
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil && pages < 1000
        return (items, pages)
    }
}
