import Foundation
import Logging
import PostgresNIO

/// What a backup records about the database besides the dump: the schema version, the rows of every table and the
/// file objects the rows refer to, all read in the caller's transaction (the snapshot `pg_dump` shares).
public struct DatabaseSnapshot: Sendable, Equatable {
    /// The highest applied migration (0 when none).
    public var schemaVersion: Int
    /// Rows per table of the `public` schema.
    public var rowCounts: [String: Int64]
    /// The distinct object keys referred to by `images.object_key`, `images.thumbnail_key`, `images.display_key` and `exports.object_key`,
    /// sorted.
    public var objectKeys: [String]

    /// A snapshot as given.
    public init(schemaVersion: Int, rowCounts: [String: Int64], objectKeys: [String]) {
        self.schemaVersion = schemaVersion
        self.rowCounts = rowCounts
        self.objectKeys = objectKeys
    }

    /// Reads the snapshot on `database`; run it inside a REPEATABLE READ transaction so that every number comes
    /// from one instant.
    /// - Throws: `StorageError`.
    public static func read(on database: Database) async throws(StorageError) -> DatabaseSnapshot {
        try await withStorageErrors {
            var tables: [String] = []
            for try await name in try await database.query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            ).decode(String.self) {
                tables.append(name)
            }
            var counts: [String: Int64] = [:]
            for table in tables {
                // Table names come from the catalogue; quote_ident-style quoting keeps any name safe.
                let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let rows = try await database.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM public.\(quoted)"))
                for try await count in rows.decode(Int64.self) { counts[table] = count }
            }
            var schemaVersion = 0
            if tables.contains("schema_migrations") {
                for try await version in try await database.query(
                    "SELECT coalesce(max(version), 0)::int8 FROM schema_migrations"
                ).decode(Int64.self) {
                    schemaVersion = Int(version)
                }
            }
            let keys = try await referencedObjectKeys(on: database, tables: Set(tables))
            return DatabaseSnapshot(schemaVersion: schemaVersion, rowCounts: counts, objectKeys: keys)
        }
    }

    /// Opens a REPEATABLE READ, READ ONLY transaction on one connection, exports its snapshot
    /// (`pg_export_snapshot()`, for `pg_dump --snapshot`), reads this record in it, and keeps the
    /// transaction open while `body` runs with the snapshot's id and the record: what `pg_dump` then
    /// dumps is exactly what the record counted. The transaction ends when `body` returns or throws.
    /// - Throws: `StorageError`, or what `body` throws.
    public static func exported<Result: Sendable>(
        on database: Database, _ body: (_ snapshotID: String, DatabaseSnapshot) async throws -> Result
    ) async throws -> (snapshot: DatabaseSnapshot, result: Result) {
        do {
            return try await database.withPostgresConnection { connection in
                // A transaction opened by hand: it must stay open while `body` runs `pg_dump` elsewhere.
                let database = Database(connection: connection, logger: database.logger)
                try await database.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                do {
                    var snapshotID = ""
                    for try await id in try await database.query("SELECT pg_export_snapshot()").decode(String.self) {
                        snapshotID = id
                    }
                    let snapshot = try await read(on: database)
                    let result = try await body(snapshotID, snapshot)
                    try await database.query("COMMIT")
                    return (snapshot, result)
                } catch {
                    _ = try? await database.query("ROLLBACK")
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw StorageError(mapping: error)
        }
    }

    /// How many tables the database has outside PostgreSQL's own schemas: 0 for an empty database
    /// (a restore's target), whatever schema the tables are in.
    public static func tableCount(on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                "SELECT count(*)::int8 FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// The object keys rows refer to (the same references `segctl gc` honours), sorted.
    static func referencedObjectKeys(on database: Database, tables: Set<String>) async throws -> [String] {
        var parts: [String] = []
        if tables.contains("images") {
            parts.append("SELECT object_key FROM images")
            parts.append("SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL")
            parts.append("SELECT display_key FROM images WHERE display_key IS NOT NULL")
        }
        if tables.contains("exports") { parts.append("SELECT object_key FROM exports WHERE object_key IS NOT NULL") }
        guard !parts.isEmpty else { return [] }
        let rows = try await database.query(PostgresQuery(unsafeSQL: parts.joined(separator: " UNION ") + " ORDER BY 1"))
        var keys: [String] = []
        for try await key in rows.decode(String.self) { keys.append(key) }
        return keys
    }
}
