import Foundation

/// A row of `backups`: one complete backup folder written by `segctl backup create`.
public struct BackupRecord: Sendable, Equatable, Identifiable {
    /// The row's id.
    public var id: UUID
    /// The folder's name, `seghub-YYYYMMDDTHHMMSSZ`.
    public var name: String
    /// The directory the folder was written into.
    public var location: String
    /// Bytes of the dump, the objects and the manifest together.
    public var bytes: Int64
    /// How many file objects the backup holds.
    public var objectCount: Int
    /// The schema version (highest applied migration) of the dumped database.
    public var schemaVersion: Int
    /// When the backup started (its database snapshot).
    public var startedAt: Date
    /// When the folder was complete.
    public var finishedAt: Date
    /// The verdict of the last `segctl backup verify`; `nil` before the first.
    public var verified: Bool?
    /// When it was last verified.
    public var verifiedAt: Date?

    /// A record with every column given.
    public init(
        id: UUID, name: String, location: String, bytes: Int64, objectCount: Int, schemaVersion: Int, startedAt: Date,
        finishedAt: Date, verified: Bool?, verifiedAt: Date?
    ) {
        self.id = id
        self.name = name
        self.location = location
        self.bytes = bytes
        self.objectCount = objectCount
        self.schemaVersion = schemaVersion
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.verified = verified
        self.verifiedAt = verifiedAt
    }
}

/// What `BackupRepository.record(_:)` stores for a finished backup.
public struct NewBackup: Sendable, Equatable {
    /// The folder's name.
    public var name: String
    /// The directory it was written into.
    public var location: String
    /// Its size in bytes.
    public var bytes: Int64
    /// How many file objects it holds.
    public var objectCount: Int
    /// The schema version of the dump.
    public var schemaVersion: Int
    /// When it started.
    public var startedAt: Date
    /// When it was complete.
    public var finishedAt: Date

    /// A finished backup to record.
    public init(name: String, location: String, bytes: Int64, objectCount: Int, schemaVersion: Int, startedAt: Date, finishedAt: Date) {
        self.name = name
        self.location = location
        self.bytes = bytes
        self.objectCount = objectCount
        self.schemaVersion = schemaVersion
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}
