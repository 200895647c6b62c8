import Foundation
import Logging
import PostgresNIO

/// Records who did what, and lists it newest first.
///
/// ## Usage
/// ```swift
/// let audit = AuditLogPostgresRepository(client: client, logger: logger)
/// _ = try await audit.record(actorID: user, action: "project.delete", targetType: "project", targetID: project, details: Array(#"{"name":"Spheroids"}"#.utf8))
/// let page = try await audit.list(filter: AuditLogFilter(targetID: project), page: .first)
/// ```
/// Entries outlive their actor (its id becomes `nil`) and their target. Every method throws `StorageError` only.
///
/// On PostgreSQL (table `audit_log`).
///
/// Use `record(…, on:logger:)` inside the transaction of the change it describes, so that both commit or neither.
/// Entries are ordered by `(created_at, id)`; `id` is a `bigint`, which the page cursor carries in its id field.
public struct AuditLogPostgresRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// A repository using `client`'s pool and logging to `logger`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Appends an entry on a pooled connection.
    /// - Parameters:
    ///   - actorID: Who acted; `nil` for the system.
    ///   - action: What was done, a dotted name such as `project.delete`; not empty.
    ///   - targetType: The kind of thing acted on.
    ///   - targetID: The thing acted on.
    ///   - details: A JSON object with more about the action (`{}` for none); never secrets.
    /// - Throws: `.invalidArgument` when `details` is not JSON, `.constraintViolation` when it is not an object or the
    ///   action is empty, `.invalidReference` for an unknown actor.
    public func record(
        actorID: UUID?,
        action: String,
        targetType: String?,
        targetID: UUID?,
        details: [UInt8]
    ) async throws(StorageError) -> AuditLogRecord {
        try await withStorageErrors {
            try await client.withConnection { connection in
                try await Self.record(
                    actorID: actorID,
                    action: action,
                    targetType: targetType,
                    targetID: targetID,
                    details: details,
                    on: connection,
                    logger: logger
                )
            }
        }
    }

    /// Appends an entry on `connection`, inside the transaction of the change it describes.
    /// - Throws: `StorageError` (see `AuditLogRepository.record`).
    public static func record(
        actorID: UUID?,
        action: String,
        targetType: String?,
        targetID: UUID?,
        details: [UInt8],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws(StorageError) -> AuditLogRecord {
        let record: AuditLogRecord?
        do {
            record = try await connection.query(
                """
                INSERT INTO audit_log (actor_id, action, target_type, target_id, details)
                VALUES (\(actorID), \(action), \(targetType), \(targetID), \(JSONBytes(details)))
                RETURNING \(unescaped: columns)
                """,
                logger: logger
            ).decodeFirst { try decode($0).record }
        } catch {
            throw StorageError(mappingJSONInput: error, field: "details")
        }
        guard let record else { throw StorageError.database(sqlState: nil) }
        return record
    }

    /// A page of matching entries, newest first.
    public func list(filter: AuditLogFilter, page: PageRequest) async throws(StorageError) -> Page<AuditLogRecord> {
        var sequence: Int64?
        if let cursor = page.cursor {
            guard let value = cursor.sequence else { throw StorageError.invalidCursor }
            sequence = value
        }
        let timestamp = page.cursor?.timestamp
        let rows = try await withStorageErrors {
            // Absent filters fold to true when the statement is planned with its values, so each list uses its index.
            try await client.query(
                """
                SELECT \(unescaped: Self.columns) FROM audit_log
                WHERE (\(filter.actorID)::uuid IS NULL OR actor_id = \(filter.actorID))
                  AND (\(filter.action)::text IS NULL OR action = \(filter.action))
                  AND (\(filter.targetType)::text IS NULL OR target_type = \(filter.targetType))
                  AND (\(filter.targetID)::uuid IS NULL OR target_id = \(filter.targetID))
                  AND (\(timestamp)::timestamptz IS NULL OR (created_at, id) < (\(timestamp), \(sequence)))
                ORDER BY created_at DESC, id DESC
                LIMIT \(page.limit + 1)
                """,
                logger: logger
            ).decodeAll(Self.decode)
        }
        return Page(fetched: rows, request: page, position: { $0.position }).map { $0.record }
    }

    // MARK: - Rows

    static let columns = "id, actor_id, action, target_type, target_id, details, created_at"

    static func decode(_ row: PostgresRow) throws -> (record: AuditLogRecord, position: PageCursor) {
        let (id, actorID, action, targetType, targetID, details, createdAt) =
            try row.decode((Int64, UUID?, String, String?, UUID?, JSONBytes, Timestamp).self)
        let record = AuditLogRecord(
            id: id,
            actorID: actorID,
            action: action,
            targetType: targetType,
            targetID: targetID,
            details: details.bytes,
            createdAt: createdAt.date
        )
        return (record, PageCursor(timestamp: createdAt, sequence: id))
    }
}

extension PageCursor {
    /// A position in a list ordered by `(created_at, bigint id)`: the id goes big-endian into the last 8 bytes of the
    /// UUID field, the first 8 stay zero (a random UUID never has that form, so cursors of other lists are rejected).
    init(timestamp: Timestamp, sequence: Int64) {
        let value = UInt64(bitPattern: sequence)
        let b = (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
        self.init(timestamp: timestamp, id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7])))
    }

    /// The bigint id this cursor carries, or `nil` when it was not made by `init(timestamp:sequence:)`.
    var sequence: Int64? {
        let u = id.uuid
        let head = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7]
        guard head.allSatisfy({ $0 == 0 }) else { return nil }
        let tail = [u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
        return Int64(bitPattern: tail.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}
