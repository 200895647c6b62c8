import Foundation

/// Records who did what, and lists it newest first.
///
/// ## Usage
/// ```swift
/// let audit = AuditLogPostgresRepository(client: client, logger: logger)
/// _ = try await audit.record(actorID: user, action: "project.delete", targetType: "project", targetID: project, details: Array(#"{"name":"Spheroids"}"#.utf8))
/// let page = try await audit.list(filter: AuditLogFilter(targetID: project), page: .first)
/// ```
/// Entries outlive their actor (its id becomes `nil`) and their target. Every method throws `StorageError` only.
public protocol AuditLogRepository: Sendable {
    /// Appends an entry.
    /// - Parameters:
    ///   - actorID: Who acted; `nil` for the system.
    ///   - action: What was done, a dotted name such as `project.delete`; not empty.
    ///   - targetType: The kind of thing acted on.
    ///   - targetID: The thing acted on.
    ///   - details: A JSON object with more about the action (`{}` for none); never secrets.
    /// - Throws: `.invalidArgument` when `details` is not JSON, `.constraintViolation` when it is not an object or the
    ///   action is empty, `.invalidReference` for an unknown actor.
    func record(
        actorID: UUID?, action: String, targetType: String?, targetID: UUID?, details: [UInt8]
    ) async throws(StorageError)
        -> AuditLogRecord

    /// A page of the entries that match `filter`, newest first.
    func list(filter: AuditLogFilter, page: PageRequest) async throws(StorageError) -> Page<AuditLogRecord>
}
