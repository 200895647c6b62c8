import Foundation
import Logging
import PostgresNIO

/// Applies SegStorage's numbered SQL migrations and reports which are applied.
///
/// Each pending migration runs in its own transaction while the migrator holds a session-level
/// `pg_advisory_lock` on one connection, and is recorded in `schema_migrations` with the SHA-256
/// of its file. Two processes migrating at once are safe: the second waits for the lock, then finds
/// nothing left to do. An applied migration whose file changed stops the run with
/// `StorageError.migrationChecksumMismatch` before anything is applied.
///
/// ## Usage
/// ```swift
/// let migrator = try Migrator(on: Database(client: client, logger: logger))
/// let applied = try await migrator.migrate()
/// ```
public struct Migrator: Sendable {
    /// The advisory-lock key every SegHub migrator takes (`"SegHubMg"` as 8 ASCII bytes).
    public static let advisoryLockKey: Int64 = 0x5365_6748_7562_4D67

    private let database: Database
    private let migrations: [Migration]

    /// Creates a migrator for the given migrations (by default those shipped with SegStorage).
    /// - Parameters:
    ///   - database: The database to migrate; its logger receives one `info` line per applied migration.
    ///   - migrations: The migrations, in any order.
    /// - Throws: `StorageError.invalidMigration` when the migration files are malformed.
    public init(on database: Database, migrations: [Migration]? = nil) throws(StorageError) {
        self.database = database
        if let migrations {
            self.migrations = try Migration.ordered(migrations)
        } else {
            self.migrations = try Migration.bundled()
        }
    }

    /// Applies every pending migration in order.
    /// - Returns: The migrations applied by this call (empty when the database was up to date).
    /// - Throws: A `StorageError`: `.migrationChecksumMismatch`, `.unknownMigration`, `.migrationFailed`, `.unavailable`, …
    @discardableResult
    public func migrate() async throws -> [Migration] {
        let migrations = self.migrations
        let logger = database.logger
        do {
            // One session: the advisory lock belongs to it.
            return try await database.withPostgresConnection { connection in
                try await Self.withAdvisoryLock(on: connection, logger: logger) {
                    try await Self.applyPending(migrations, on: connection, logger: logger)
                }
            }
        } catch {
            throw StorageError(mapping: error)
        }
    }

    /// Lists applied and pending migrations without changing anything.
    /// - Throws: A `StorageError` when the database cannot be read.
    public func status() async throws -> MigrationStatus {
        do {
            let applied = try await Self.readApplied(on: database)
            let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
            let entries = applied.map { record in
                MigrationStatus.Applied(
                    version: record.version,
                    name: record.name,
                    appliedAt: record.appliedAt,
                    state: known[record.version].map { $0.checksum == record.checksum ? .current : .changed } ?? .unknown
                )
            }
            let appliedVersions = Set(applied.map(\.version))
            return MigrationStatus(applied: entries, pending: migrations.filter { !appliedVersions.contains($0.version) })
        } catch {
            throw StorageError(mapping: error)
        }
    }

    // MARK: - Steps

    private struct Record: Sendable {
        var version: Int
        var name: String
        var checksum: String
        var appliedAt: Date
    }

    private static func withAdvisoryLock<Result: Sendable>(
        on connection: PostgresConnection,
        logger: Logger,
        _ body: () async throws -> Result
    ) async throws -> Result {
        try await connection.query("SELECT pg_advisory_lock(\(advisoryLockKey))", logger: logger).consume()
        let result: Result
        do {
            result = try await body()
        } catch {
            // If the connection broke the server has released the lock with the session already.
            try? await connection.query("SELECT pg_advisory_unlock(\(advisoryLockKey))", logger: logger).consume()
            throw error
        }
        try await connection.query("SELECT pg_advisory_unlock(\(advisoryLockKey))", logger: logger).consume()
        return result
    }

    private static func applyPending(_ migrations: [Migration], on connection: PostgresConnection, logger: Logger) async throws -> [Migration] {
        // Under the lock, so two first runs cannot race on creating the table.
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        ).consume()
        let applied = try await readRecords(connection.query(selectApplied, logger: logger))
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for record in applied {
            guard let migration = known[record.version] else {
                throw StorageError.unknownMigration(version: record.version, name: record.name)
            }
            guard migration.checksum == record.checksum else {
                throw StorageError.migrationChecksumMismatch(version: record.version, name: record.name)
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        var appliedNow: [Migration] = []
        for migration in migrations where !appliedVersions.contains(migration.version) {
            var logger = logger
            logger[metadataKey: "db.migration"] = "\(migration.version)_\(migration.name)"
            do {
                try await connection.withTransaction(logger: logger) { connection in
                    for statement in SQLStatementSplitter.split(migration.sql) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).consume()
                    }
                    try await connection.query(
                        """
                        INSERT INTO schema_migrations (version, name, checksum, applied_at)
                        VALUES (\(migration.version), \(migration.name), \(migration.checksum), now())
                        """,
                        logger: logger
                    ).consume()
                }
            } catch {
                let sqlState = Self.serverSQLState(of: error)
                logger.error("migration failed", metadata: ["db.sqlstate": "\(sqlState ?? "none")"])
                if sqlState == nil, case .unavailable = StorageError(mapping: error) {
                    throw StorageError(mapping: error)
                }
                throw StorageError.migrationFailed(version: migration.version, name: migration.name, sqlState: sqlState)
            }
            logger.info("applied migration")
            appliedNow.append(migration)
        }
        return appliedNow
    }

    private static let selectApplied: PostgresQuery = "SELECT version::int8, name, checksum, applied_at FROM schema_migrations ORDER BY version"

    private static func readApplied(on database: Database) async throws -> [Record] {
        let exists =
            try await database.query("SELECT to_regclass('schema_migrations') IS NOT NULL")
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return [] }
        return try await readRecords(database.query(selectApplied))
    }

    private static func readRecords(_ rows: PostgresRowSequence) async throws -> [Record] {
        var records: [Record] = []
        for try await (version, name, checksum, appliedAt) in rows.decode((Int, String, String, Date).self) {
            records.append(Record(version: version, name: name, checksum: checksum, appliedAt: appliedAt))
        }
        return records
    }

    private static func serverSQLState(of error: any Error) -> String? {
        switch error {
        case let error as PostgresTransactionError:
            return (error.closureError ?? error.commitError ?? error.beginError).flatMap(serverSQLState(of:))
        case let error as PSQLError:
            return error.serverInfo?[.sqlState]
        default:
            return nil
        }
    }
}

extension PostgresRowSequence {
    /// Reads and drops every row, so the statement has finished when this returns.
    fileprivate func consume() async throws {
        for try await _ in self {}
    }
}
