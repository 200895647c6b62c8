import Foundation
import Logging
import PostgresNIO

/// Stores exports: what was asked for, the job's progress, and the archive until it expires.
///
/// ## Usage
/// ```swift
/// let export = try await ExportRepository.create(
///     projectID: project, userID: user, formats: [.coco, .csv], options: ExportOptions(), jobID: nil, on: database)
/// _ = try await ExportRepository.markRunning(id: export.id, on: database)
/// _ = try await ExportRepository.updateProgress(id: export.id, progress: 0.5, on: database)
/// _ = try await ExportRepository.markDone(
///     id: export.id, objectKey: zip, bytes: 4096, expiresAt: Date().addingTimeInterval(86_400), on: database)
/// ```
/// The status moves `queued` → `running` → `done` or `failed`, and `done` → `expired`. A step from any other status
/// throws `.invalidState(entity: "export", id:, state:)`; a missing export is `.notFound(entity: "export", id:)`.
///
/// On PostgreSQL (table `exports`).
///
/// Every function runs on the `Database` it is given, so an export job can store its result and finish its job in
/// one transaction.
public enum ExportRepository {

    /// Stores a new queued export (with its job, in the caller's transaction).
    /// - Throws: `StorageError` (see `ExportRepository.create`).
    public static func create(
        projectID: UUID,
        userID: UUID?,
        formats: [ExportFormat],
        options: ExportOptions,
        jobID: UUID?,
        on database: Database
    ) async throws(StorageError) -> ExportRecord {
        var seen = Set<ExportFormat>()
        let formats = formats.filter { seen.insert($0).inserted }.map(\.rawValue)
        guard !formats.isEmpty else { throw StorageError.invalidArgument("an export needs at least one format") }
        if let scale = options.scaleUmPerPx, !(scale.isFinite && scale > 0) {
            throw StorageError.invalidArgument("scaleUmPerPx must be a positive number")
        }
        let encodedOptions: JSONBytes
        do {
            encodedOptions = JSONBytes(Array(try JSONEncoder().encode(options)))
        } catch {
            throw StorageError.invalidArgument("options cannot be encoded as JSON")
        }
        let record = try await withStorageErrors {
            try await database.query(
                """
                INSERT INTO exports (project_id, user_id, job_id, formats, options)
                VALUES (\(projectID), \(userID), \(jobID), \(formats), \(encodedOptions))
                RETURNING \(unescaped: columns)
                """
            ).decodeFirst(decode)
        }
        guard let record else { throw StorageError.database(sqlState: nil) }
        database.logger.debug("export created", metadata: ["export.id": "\(record.record.id)", "project.id": "\(projectID)"])
        return record.record
    }

    /// The export with this id.
    /// - Throws: `StorageError.notFound(entity: "export", id:)`.
    public static func get(id: UUID, on database: Database) async throws(StorageError) -> ExportRecord {
        let record = try await withStorageErrors {
            try await database.query("SELECT \(unescaped: columns) FROM exports WHERE id = \(id)").decodeFirst(decode)
        }
        guard let record else { throw StorageError.notFound(entity: "export", id: id.uuidString) }
        return record.record
    }

    /// Records the export's job.
    /// - Throws: `StorageError`; `.invalidReference` for an unknown job.
    public static func attachJob(
        id: UUID, jobID: UUID, on database: Database
    ) async throws(StorageError)
        -> ExportRecord
    {
        try await update(
            id: id,
            "UPDATE exports SET job_id = \(jobID), updated_at = now() WHERE id = \(id) RETURNING \(unescaped: columns)",
            on: database
        )
    }

    /// Moves a queued or running export to `running`.
    /// - Throws: `StorageError`; `.invalidState` when it is done, failed or expired.
    public static func markRunning(id: UUID, on database: Database) async throws(StorageError) -> ExportRecord {
        try await update(
            id: id,
            """
            UPDATE exports SET status = 'running', updated_at = now()
            WHERE id = \(id) AND status IN ('queued', 'running')
            RETURNING \(unescaped: columns)
            """,
            on: database
        )
    }

    /// Sets the progress of a queued or running export.
    /// - Throws: `StorageError`; `.invalidArgument` outside 0–1, `.invalidState` when it is no longer queued or running.
    public static func updateProgress(
        id: UUID,
        progress: Double,
        on database: Database
    ) async throws(StorageError) -> ExportRecord {
        guard progress.isFinite, (0...1).contains(progress) else {
            throw StorageError.invalidArgument("progress must be between 0 and 1")
        }
        return try await update(
            id: id,
            """
            UPDATE exports SET progress = \(Float(progress)), updated_at = now()
            WHERE id = \(id) AND status IN ('queued', 'running')
            RETURNING \(unescaped: columns)
            """,
            on: database
        )
    }

    /// Marks a queued or running export `done`.
    /// - Throws: `StorageError`; `.invalidArgument` for negative bytes, `.invalidState` when it is no longer queued or running.
    public static func markDone(
        id: UUID,
        objectKey: ObjectKey,
        bytes: Int64,
        expiresAt: Date,
        on database: Database
    ) async throws(StorageError) -> ExportRecord {
        guard bytes >= 0 else { throw StorageError.invalidArgument("bytes must not be negative") }
        let record = try await update(
            id: id,
            """
            UPDATE exports
            SET status = 'done', progress = 1, object_key = \(objectKey), bytes = \(bytes), expires_at = \(expiresAt),
                error = NULL, finished_at = now(), updated_at = now()
            WHERE id = \(id) AND status IN ('queued', 'running')
            RETURNING \(unescaped: columns)
            """,
            on: database
        )
        database.logger.debug("export done", metadata: ["export.id": "\(id)", "export.bytes": "\(bytes)"])
        return record
    }

    /// Marks a queued or running export `failed`.
    /// - Throws: `StorageError`; `.invalidState` when it is no longer queued or running.
    public static func markFailed(
        id: UUID, error: String, on database: Database
    ) async throws(StorageError)
        -> ExportRecord
    {
        let record = try await update(
            id: id,
            """
            UPDATE exports SET status = 'failed', error = \(error), finished_at = now(), updated_at = now()
            WHERE id = \(id) AND status IN ('queued', 'running')
            RETURNING \(unescaped: columns)
            """,
            on: database
        )
        database.logger.debug("export failed", metadata: ["export.id": "\(id)"])
        return record
    }

    /// A page of the project's exports, newest first.
    public static func list(projectID: UUID, page: PageRequest, on database: Database) async throws(StorageError) -> Page<ExportRecord> {
        let before = page.cursor
        let rows = try await withStorageErrors {
            try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM exports
                WHERE project_id = \(projectID)
                  AND (\(before?.timestamp)::timestamptz IS NULL OR (created_at, id) < (\(before?.timestamp), \(before?.id)))
                ORDER BY created_at DESC, id DESC
                LIMIT \(page.limit + 1)
                """
            ).decodeAll(Self.decode)
        }
        return Page(fetched: rows, request: page, position: { $0.position }).map { $0.record }
    }

    /// Done exports past their expiry.
    public static func listExpired(asOf date: Date, limit: Int, on database: Database) async throws(StorageError) -> [ExportRecord] {
        guard limit > 0 else { return [] }
        return try await withStorageErrors {
            try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM exports
                WHERE status = 'done' AND expires_at < \(date)
                ORDER BY expires_at, id
                LIMIT \(limit)
                """
            ).decodeAll { try Self.decode($0).record }
        }
    }

    /// Expires done exports past their expiry and returns their archive keys.
    public static func markExpired(asOf date: Date, limit: Int, on database: Database) async throws(StorageError) -> [ExpiredExport] {
        guard limit > 0 else { return [] }
        let expired = try await withStorageErrors {
            // SKIP LOCKED: two sweepers never wait for each other, and an export a job is finishing is left alone.
            try await database.query(
                """
                WITH due AS (
                    SELECT id, object_key FROM exports
                    WHERE status = 'done' AND expires_at < \(date)
                    ORDER BY expires_at, id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE exports SET status = 'expired', object_key = NULL, updated_at = now()
                FROM due WHERE exports.id = due.id
                RETURNING exports.id, exports.project_id, due.object_key
                """
            ).decodeAll { row in
                let (id, projectID, objectKey) = try row.decode((UUID, UUID, ObjectKey).self)
                return ExpiredExport(id: id, projectID: projectID, objectKey: objectKey)
            }
        }
        if !expired.isEmpty { database.logger.debug("exports expired", metadata: ["export.count": "\(expired.count)"]) }
        return expired
    }

    // MARK: - Rows

    /// Runs an `UPDATE … RETURNING columns` of one export; when it matched nothing, tells a missing export from one
    /// in the wrong status.
    static func update(
        id: UUID, _ query: PostgresQuery, on database: Database
    ) async throws(StorageError)
        -> ExportRecord
    {
        let record = try await withStorageErrors {
            try await database.query(query).decodeFirst(decode)
        }
        if let record { return record.record }
        let status = try await withStorageErrors {
            try await database.query("SELECT status FROM exports WHERE id = \(id)").decodeFirst { try $0.decode(String.self) }
        }
        guard let status else { throw StorageError.notFound(entity: "export", id: id.uuidString) }
        throw StorageError.invalidState(entity: "export", id: id.uuidString, state: status)
    }

    static let columns = """
        id, project_id, user_id, job_id, status, progress, formats, options, error, object_key, bytes, expires_at, finished_at, \
        created_at, updated_at
        """

    static func decode(_ row: PostgresRow) throws -> (record: ExportRecord, position: PageCursor) {
        let (id, projectID, userID, jobID, status, progress, formats, options, error, objectKey, bytes, expiresAt, finishedAt, createdAt, updatedAt) =
            try row.decode(
                (UUID, UUID, UUID?, UUID?, String, Float, [String], JSONBytes, String?, ObjectKey?, Int64?, Date?, Date?, Timestamp, Date).self
            )
        let decodedOptions: ExportOptions
        do {
            decodedOptions = try JSONDecoder().decode(ExportOptions.self, from: Data(options.bytes))
        } catch {
            throw StorageError.database(sqlState: nil)
        }
        let record = ExportRecord(
            id: id,
            projectID: projectID,
            userID: userID,
            jobID: jobID,
            status: try storedValue(status, as: ExportStatus.self),
            progress: Double(progress),
            formats: try formats.map { try storedValue($0, as: ExportFormat.self) },
            options: decodedOptions,
            error: error,
            objectKey: objectKey,
            bytes: bytes,
            expiresAt: expiresAt,
            finishedAt: finishedAt,
            createdAt: createdAt.date,
            updatedAt: updatedAt
        )
        return (record, PageCursor(timestamp: createdAt, id: id))
    }
}
