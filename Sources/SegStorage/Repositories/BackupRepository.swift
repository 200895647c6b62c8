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

    /// Records a restore drill of the backup `drill.backupName` (``BackupDrill``).
    public static func recordDrill(_ drill: BackupDrill, on database: Database) async throws(StorageError) {
        try await withStorageErrors {
            _ = try await database.query(
                """
                INSERT INTO backup_drills (backup_name, location, started_at, finished_at, succeeded, problems, tables, rows_checked,
                    objects, object_bytes)
                VALUES (\(drill.backupName), \(drill.location), \(drill.startedAt), \(drill.finishedAt), \(drill.succeeded),
                    \(drill.problems), \(Int32(clamping: drill.tables)), \(drill.rows), \(Int32(clamping: drill.objects)), \(drill.objectBytes))
                """
            ).collect()
        }
    }

    /// When the last successful restore drill finished, or `nil` when none has
    /// (`seghub_last_backup_drill_timestamp_seconds`).
    public static func latestSuccessfulDrillAt(on database: Database) async throws(StorageError) -> Date? {
        try await withStorageErrors {
            let rows = try await database.query("SELECT max(finished_at) FROM backup_drills WHERE succeeded")
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

/// One restore drill (`segctl backup drill`): a backup restored into a scratch database and folder and compared with
/// its manifest.
public struct BackupDrill: Sendable, Equatable {
    /// The backup folder's name.
    public var backupName: String
    /// The directory it was read from.
    public var location: String
    /// When the drill started and finished.
    public var startedAt: Date
    public var finishedAt: Date
    /// Whether every check held.
    public var succeeded: Bool
    /// The checks that did not hold.
    public var problems: [String]
    /// Tables, rows and objects compared, and the objects' bytes.
    public var tables: Int
    public var rows: Int64
    public var objects: Int
    public var objectBytes: Int64

    /// A drill as run.
    public init(
        backupName: String, location: String, startedAt: Date, finishedAt: Date, succeeded: Bool, problems: [String], tables: Int,
        rows: Int64, objects: Int, objectBytes: Int64
    ) {
        self.backupName = backupName
        self.location = location
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.succeeded = succeeded
        self.problems = problems
        self.tables = tables
        self.rows = rows
        self.objects = objects
        self.objectBytes = objectBytes
    }
}
