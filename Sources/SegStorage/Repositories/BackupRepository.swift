import Foundation
import Logging
import PostgresNIO

/// The `backups` table: what `segctl backup` wrote and verified, and the newest finished backup for `/metrics`.
///
/// The backup folders are the truth (a folder is complete once it carries its name); the table records where
/// they went and the verdict of their last verification. Every method throws `StorageError` only.
public enum BackupRepository {

    /// Records a finished backup (not yet verified).
    /// - Throws: `.conflict(constraint: "backups_location_name_key")` when the folder is already recorded.
    @discardableResult
    public static func record(_ backup: NewBackup, on database: Database) async throws(StorageError) -> BackupRecord {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                INSERT INTO backups (name, location, bytes, object_count, schema_version, started_at, finished_at)
                VALUES (\(backup.name), \(backup.location), \(backup.bytes), \(backup.objectCount), \(backup.schemaVersion),
                    \(backup.startedAt), \(backup.finishedAt))
                RETURNING \(unescaped: Self.columns)
                """
            )
            guard let record = try await Self.decode(rows).first else { throw StorageError.database(sqlState: nil) }
            return record
        }
    }

    /// Stores the verdict of a verification for every row of the backup named `name` (in any location).
    /// - Returns: How many rows were updated (0 when the backup was made elsewhere).
    @discardableResult
    public static func setVerified(name: String, verified: Bool, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                "UPDATE backups SET verified = \(verified), verified_at = now() WHERE name = \(name) RETURNING id"
            )
            return try await rows.collect().count
        }
    }

    /// Every recorded backup, newest first.
    public static func list(on database: Database) async throws(StorageError) -> [BackupRecord] {
        try await withStorageErrors {
            try await Self.decode(database.query("SELECT \(unescaped: Self.columns) FROM backups ORDER BY finished_at DESC, name DESC"))
        }
    }

    /// When the newest backup finished, or `nil` when there is none (`seghub_last_backup_timestamp_seconds`).
    public static func latestFinishedAt(on database: Database) async throws(StorageError) -> Date? {
        try await withStorageErrors {
            let rows = try await database.query("SELECT max(finished_at) FROM backups")
            for try await date in rows.decode(Date?.self) { return date }
            return nil
        }
    }

    /// Removes the rows of the backup named `name` in `location` (after its folder was pruned).
    /// - Returns: How many rows were removed.
    @discardableResult
    public static func delete(name: String, location: String, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                "DELETE FROM backups WHERE name = \(name) AND location = \(location) RETURNING id")
            return try await rows.collect().count
        }
    }

    static let columns = "id, name, location, bytes, object_count, schema_version, started_at, finished_at, verified, verified_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [BackupRecord] {
        var records: [BackupRecord] = []
        for try await row in rows {
            let (id, name, location, bytes, objectCount, schemaVersion, startedAt, finishedAt, verified, verifiedAt) = try row.decode(
                (UUID, String, String, Int64, Int32, Int32, Date, Date, Bool?, Date?).self
            )
            records.append(
                BackupRecord(
                    id: id, name: name, location: location, bytes: bytes, objectCount: Int(objectCount),
                    schemaVersion: Int(schemaVersion), startedAt: startedAt, finishedAt: finishedAt, verified: verified,
                    verifiedAt: verifiedAt))
        }
        return records
    }
}
