import Foundation

/// Stores exports: what was asked for, the job's progress, and the archive until it expires.
///
/// ## Usage
/// ```swift
/// let exports = ExportPostgresRepository(client: client, logger: logger)
/// let export = try await exports.create(projectID: project, userID: user, formats: [.coco, .csv], options: ExportOptions(), jobID: nil)
/// _ = try await exports.markRunning(id: export.id)
/// _ = try await exports.updateProgress(id: export.id, progress: 0.5)
/// _ = try await exports.markDone(id: export.id, objectKey: zip, bytes: 4096, expiresAt: Date().addingTimeInterval(86_400))
/// ```
/// The status moves `queued` → `running` → `done` or `failed`, and `done` → `expired`. A step from any other status
/// throws `.invalidState(entity: "export", id:, state:)`; a missing export is `.notFound(entity: "export", id:)`.
public protocol ExportRepository: Sendable {
    /// Stores a new export in status `queued`.
    /// - Throws: `.invalidArgument` for no formats or a scale that is not a positive number, `.invalidReference` for an
    ///   unknown project, user or job.
    func create(
        projectID: UUID, userID: UUID?, formats: [ExportFormat], options: ExportOptions, jobID: UUID?
    ) async throws(StorageError)
        -> ExportRecord

    /// The export with this id.
    func get(id: UUID) async throws(StorageError) -> ExportRecord

    /// Records the job that builds the export.
    func attachJob(id: UUID, jobID: UUID) async throws(StorageError) -> ExportRecord

    /// Moves a queued (or already running, when a job is retried) export to `running`.
    func markRunning(id: UUID) async throws(StorageError) -> ExportRecord

    /// Sets the progress (0–1) of a queued or running export.
    func updateProgress(id: UUID, progress: Double) async throws(StorageError) -> ExportRecord

    /// Marks a queued or running export `done` with its archive; progress becomes 1.
    func markDone(id: UUID, objectKey: ObjectKey, bytes: Int64, expiresAt: Date) async throws(StorageError) -> ExportRecord

    /// Marks a queued or running export `failed` with the reason shown to its user.
    func markFailed(id: UUID, error: String) async throws(StorageError) -> ExportRecord

    /// A page of the project's exports, newest first.
    func list(projectID: UUID, page: PageRequest) async throws(StorageError) -> Page<ExportRecord>

    /// Done exports whose `expiresAt` is before `date`, soonest expiry first, at most `limit`.
    func listExpired(asOf date: Date, limit: Int) async throws(StorageError) -> [ExportRecord]

    /// Moves done exports whose `expiresAt` is before `date` (at most `limit`) to `expired`, dropping their archive
    /// references, and returns them with the keys they held; remove the objects when nothing else refers to them.
    func markExpired(asOf date: Date, limit: Int) async throws(StorageError) -> [ExpiredExport]
}
