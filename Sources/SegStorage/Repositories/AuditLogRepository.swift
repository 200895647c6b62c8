import Foundation
import Logging
import PostgresNIO

/// Records who did what, and lists it newest first.
///
/// ## Usage
/// ```swift
/// _ = try await AuditLogRepository.record(
///     actorID: user, action: "project.delete", targetType: "project", targetID: project,
///     details: Array(#"{"name":"Spheroids"}"#.utf8), on: database)
/// let page = try await AuditLogRepository.list(filter: AuditLogFilter(targetID: project), page: .first, on: database)
/// ```
/// Entries outlive their actor (its id becomes `nil`) and their target. Every method throws `StorageError` only.
///
/// On PostgreSQL (table `audit_log`).
///
/// Run `record(…, on:)` inside the transaction of the change it describes, so that both commit or neither.
/// Entries are ordered by `(created_at, id)`; `id` is a `bigint`, which the page cursor carries in its id field.
public enum AuditLogRepository {

    /// Appends an entry; run it inside the transaction of the change it describes.
    /// - Throws: `StorageError` (see `AuditLogRepository.record`).
    public static func record(
        actorID: UUID?,
        action: String,
        targetType: String?,
        targetID: UUID?,
        details: [UInt8],
        on database: Database
    ) async throws(StorageError) -> AuditLogRecord {
        let record: AuditLogRecord?
        do {
            record = try await database.query(
                """
                INSERT INTO audit_log (actor_id, action, target_type, target_id, details)
                VALUES (\(actorID), \(action), \(targetType), \(targetID), \(JSONBytes(details)))
                RETURNING \(unescaped: columns)
                """
            ).decodeFirst { try decode($0).record }
        } catch {
            throw StorageError(mappingJSONInput: error, field: "details")
        }
        guard let record else { throw StorageError.database(sqlState: nil) }
        return record
    }

    /// A page of matching entries, newest first.
    public static func list(filter: AuditLogFilter, page: PageRequest, on database: Database) async throws(StorageError) -> Page<AuditLogRecord> {
        var sequence: Int64?
        if let cursor = page.cursor {
            guard let value = cursor.sequence else { throw StorageError.invalidCursor }
            sequence = value
        }
        let timestamp = page.cursor?.timestamp
        let rows = try await withStorageErrors {
            // Absent filters fold to true when the statement is planned with its values, so each list uses its index.
            try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM audit_log
                WHERE (\(filter.actorID)::uuid IS NULL OR actor_id = \(filter.actorID))
                  AND (\(filter.action)::text IS NULL OR action = \(filter.action))
                  AND (\(filter.targetType)::text IS NULL OR target_type = \(filter.targetType))
                  AND (\(filter.targetID)::uuid IS NULL OR target_id = \(filter.targetID))
                  AND (\(timestamp)::timestamptz IS NULL OR (created_at, id) < (\(timestamp), \(sequence)))
                ORDER BY created_at DESC, id DESC
                LIMIT \(page.limit + 1)
                """
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
