import PostgresNIO

/// What went wrong in SegStorage.
///
/// The description names the entity, constraint or migration involved, never SQL text or bind values,
/// so it is safe to log and to show to an operator.
public enum StorageError: Error, Sendable, Equatable {
    /// No row of `entity` with this `id`.
    case notFound(entity: String, id: String)
    /// A unique constraint (or unique index) was violated.
    case conflict(constraint: String)
    /// A foreign key points at a row that does not exist, or a row is still referenced.
    case invalidReference(constraint: String)
    /// A check or not-null constraint rejected a value.
    case constraintViolation(constraint: String)
    /// The database cannot be reached or closed the connection.
    case unavailable(String)
    /// An applied migration's SQL file changed since it was applied.
    case migrationChecksumMismatch(version: Int, name: String)
    /// The database records a migration this build does not know (a newer build migrated it).
    case unknownMigration(version: Int, name: String)
    /// A migration's SQL failed; the transaction was rolled back.
    case migrationFailed(version: Int, name: String, sqlState: String?)
    /// The migration files shipped with the build are malformed (bad name, duplicate version).
    case invalidMigration(String)
    /// A database URL or another setting is missing or malformed.
    case invalidConfiguration(String)
    /// Any other database error, by its SQLSTATE when the server sent one.
    case database(sqlState: String?)
    /// A file-store key is not 64 lowercase hex digits (the value itself is not repeated).
    case invalidObjectKey
    /// A file-store operation failed; the message names the operation and the errno, never file contents.
    case fileSystem(String)
    /// The object store (S3-compatible) cannot be reached or keeps failing for now; the message says what failed.
    case storeUnavailable(String)
    /// A pagination cursor that this module did not produce (the value itself is not repeated).
    case invalidCursor
    /// An argument outside what the operation accepts; the message says which and why, without the value.
    case invalidArgument(String)
    /// A job's lease expired or was taken over: the worker must not store its result.
    case leaseLost(jobID: String)
    /// The row is in a state the operation does not apply to (an export that is already done, failed or expired).
    case invalidState(entity: String, id: String, state: String)
    /// Storing it would take the owner past their storage quota (bytes already used, the quota).
    case quotaExceeded(used: Int64, quota: Int64)
}

extension StorageError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .notFound(let entity, let id): "\(entity) \(id) not found"
        case .conflict(let constraint): "conflict with an existing row (\(constraint))"
        case .invalidReference(let constraint): "invalid reference (\(constraint))"
        case .constraintViolation(let constraint): "value rejected by a constraint (\(constraint))"
        case .unavailable(let reason): "database unavailable: \(reason)"
        case .migrationChecksumMismatch(let version, let name):
            "migration \(version) \(name) was changed after it was applied (checksum mismatch)"
        case .unknownMigration(let version, let name):
            "the database has migration \(version) \(name), which this build does not know"
        case .migrationFailed(let version, let name, let sqlState):
            "migration \(version) \(name) failed (SQLSTATE \(sqlState ?? "unknown"))"
        case .invalidMigration(let reason): "invalid migration: \(reason)"
        case .invalidConfiguration(let reason): "invalid database configuration: \(reason)"
        case .database(let sqlState): "database error (SQLSTATE \(sqlState ?? "unknown"))"
        case .invalidObjectKey: "invalid object key (expected 64 lowercase hex digits)"
        case .fileSystem(let reason): "file store: \(reason)"
        case .storeUnavailable(let reason): "object store unavailable: \(reason)"
        case .invalidCursor: "invalid pagination cursor"
        case .invalidArgument(let reason): "invalid argument: \(reason)"
        case .leaseLost(let jobID): "the lease on job \(jobID) was lost; its result was not stored"
        case .invalidState(let entity, let id, let state): "\(entity) \(id) is \(state); the operation does not apply"
        case .quotaExceeded(let used, let quota): "the storage quota of \(quota) bytes is reached (\(used) bytes used)"
        }
    }
}

/// Runs `body` and turns whatever it throws into a `StorageError` (the repositories' boundary).
/// - Parameter body: Database work.
/// - Throws: `StorageError` only.
@inlinable
@discardableResult
public func withStorageErrors<Result>(_ body: () async throws -> Result) async throws(StorageError) -> Result {
    do {
        return try await body()
    } catch {
        throw StorageError(mapping: error)
    }
}

extension StorageError {
    /// Maps any error thrown by postgres-nio (or already a `StorageError`) to a `StorageError`.
    ///
    /// `PostgresTransactionError` is unwrapped to the error that made the transaction fail.
    /// - Parameter error: The error to map.
    public init(mapping error: any Error) {
        switch error {
        case let error as StorageError:
            self = error
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.commitError ?? error.beginError {
                self.init(mapping: inner)
            } else {
                self = .database(sqlState: nil)
            }
        case let error as PSQLError:
            self.init(psqlError: error)
        case is PostgresDecodingError:
            self = .database(sqlState: nil)
        case is CancellationError:
            self = .unavailable("cancelled")
        default:
            // The pool's errors (no connection could be made) and NIO's; only the type is named, never a value.
            self = .unavailable("cannot reach the database (\(type(of: error)))")
        }
    }

    private init(psqlError error: PSQLError) {
        guard let serverInfo = error.serverInfo, let sqlState = serverInfo[.sqlState] else {
            // No server error: the connection failed or was closed (PSQLError's description holds no SQL either).
            self = .unavailable(String(describing: error.code))
            return
        }
        let constraint = serverInfo[.constraintName] ?? serverInfo[.columnName] ?? "unknown"
        switch sqlState {
        case "23505": self = .conflict(constraint: constraint)
        case "23503": self = .invalidReference(constraint: constraint)
        case "23502", "23514": self = .constraintViolation(constraint: constraint)
        // Server shutting down, too many connections, cannot connect now.
        case "57P01", "57P02", "57P03", "53300": self = .unavailable("SQLSTATE \(sqlState)")
        default:
            self = sqlState.hasPrefix("08") ? .unavailable("SQLSTATE \(sqlState)") : .database(sqlState: sqlState)
        }
    }
}
