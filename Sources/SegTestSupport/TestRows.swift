import Foundation
import PostgresNIO

// A test's rows written straight into the database: no repository in between, so a test of one table needs no
// other code than the SQL. The schema's checks apply: an argument they refuse throws the `PSQLError` PostgreSQL sends
// (`storageError(fromSQL: true)` reads it as a repository would report it).

/// Inserts a user (password hash `hash`) and returns its id.
@discardableResult
public func insertUser(email: String, role: String = "user", client: PostgresClient) async throws -> UUID {
    try await insertReturningID(
        "INSERT INTO users (email, name, password_hash, role) VALUES (\(email), 'Test', 'hash', \(role)) RETURNING id", client: client)
}

/// Inserts a project owned by `owner` (not added to its members) and returns its id.
@discardableResult
public func insertProject(owner: UUID, name: String = "Spheroids", client: PostgresClient) async throws -> UUID {
    try await insertReturningID("INSERT INTO projects (owner_id, name) VALUES (\(owner), \(name)) RETURNING id", client: client)
}

/// Inserts an `images` row and returns its id. Nothing is stored under its keys unless the test stores it.
/// - Parameters:
///   - objectKey: The original's key; a fresh one by default, so rows share an object only when a test says so.
///   - thumbnailKey: The thumbnail's key; none by default.
///   - status: One of the statuses the schema allows (`new` by default).
///   - format: `png` by default.
@discardableResult
public func insertImage(
    project: UUID,
    objectKey: String = randomObjectKey(),
    thumbnailKey: String? = nil,
    name: String = "image.png",
    status: String = "new",
    format: String = "png",
    width: Int = 64,
    height: Int = 48,
    bytes: Int64 = 1234,
    client: PostgresClient
) async throws -> UUID {
    try await insertReturningID(
        """
        INSERT INTO images (project_id, name, object_key, thumbnail_key, width, height, format, bytes, status)
        VALUES (\(project), \(name), \(objectKey), \(thumbnailKey), \(width), \(height), \(format), \(bytes), \(status))
        RETURNING id
        """,
        client: client)
}

/// A well-formed object key (64 lowercase hex digits) that no other call returns.
public func randomObjectKey() -> String {
    (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
}

/// What a test's insert did not give back.
public struct MissingRowError: Error, CustomStringConvertible {
    public var description: String { "the insert returned no id" }
}

private func insertReturningID(_ query: PostgresQuery, client: PostgresClient) async throws -> UUID {
    for try await id in try await client.query(query, logger: TestDatabaseServer.logger).decode(UUID.self) {
        return id
    }
    throw MissingRowError()
}
