import Foundation
import Logging
import PostgresNIO

/// Stores images: their file-store keys, size, format and segmentation status.
///
/// ## Usage
/// ```swift
/// let image = try await ImageRepository.create(
///     projectID: project, name: "a.png", objectKey: key, thumbnailKey: thumb,
///     width: 640, height: 480, format: .png, bytes: 1234, on: database
/// )
/// let page = try await ImageRepository.list(projectID: project, status: .new, page: PageRequest(limit: 50), on: database)
/// ```
/// Every method throws `StorageError` only; a missing image is `.notFound(entity: "image", id:)`.
///
/// On PostgreSQL (table `images`).
///
/// Every function runs on the `Database` it is given, so a status change can commit together with a job or a
/// segmentation in the caller's transaction.
public enum ImageRepository {

    /// Stores a new image with status `new` (inside the caller's transaction, if any).
    /// - Parameter quota: The project owner's storage quota in bytes, if any: the image is stored only if the owner's
    ///   images (``UserRepository/storedBytes(id:on:)``) and this one fit.
    /// - Throws: `StorageError`; `.quotaExceeded` when the image does not fit the quota.
    public static func create(
        projectID: UUID,
        name: String,
        objectKey: ObjectKey,
        thumbnailKey: ObjectKey?,
        displayKey: ObjectKey? = nil,
        width: Int,
        height: Int,
        format: ImageRecord.Format,
        pages: Int = 1,
        bytes: Int64,
        quota: Int64? = nil,
        on database: Database
    ) async throws(StorageError) -> ImageRecord {
        if let quota {
            // The owner's row is locked so that concurrent uploads into any of their projects count one after another.
            return try await database.transaction { transaction throws(StorageError) in
                let used = try await withStorageErrors {
                    let rows = try await transaction.query(
                        """
                        SELECT u.id FROM users u JOIN projects p ON p.owner_id = u.id WHERE p.id = \(projectID) FOR UPDATE OF u
                        """)
                    guard let owner = try await rows.collect().first?.decode(UUID.self) else {
                        throw StorageError.invalidReference(constraint: "images_project_id_fkey")
                    }
                    return try await UserRepository.storedBytes(id: owner, on: transaction)
                }
                guard used + bytes <= quota else { throw .quotaExceeded(used: used, quota: quota) }
                return try await create(
                    projectID: projectID, name: name, objectKey: objectKey, thumbnailKey: thumbnailKey, displayKey: displayKey, width: width,
                    height: height, format: format, pages: pages, bytes: bytes, on: transaction)
            }
        }
        let record = try await withStorageErrors {
            try await database.query(
                """
                INSERT INTO images (project_id, name, object_key, thumbnail_key, display_key, width, height, format, pages, bytes)
                VALUES (
                    \(projectID), \(name), \(objectKey), \(thumbnailKey), \(displayKey), \(width), \(height), \(format.rawValue),
                    \(pages), \(bytes)
                )
                RETURNING \(unescaped: columns)
                """
            ).decodeFirst(decode)
        }
        guard let record else { throw StorageError.database(sqlState: nil) }
        database.logger.debug("image created", metadata: ["image.id": "\(record.record.id)", "project.id": "\(projectID)"])
        return record.record
    }

    /// The image with this id.
    public static func get(id: UUID, on database: Database) async throws(StorageError) -> ImageRecord {
        let record = try await withStorageErrors {
            try await database.query("SELECT \(unescaped: Self.columns) FROM images WHERE id = \(id)")
                .decodeFirst(Self.decode)
        }
        guard let record else { throw StorageError.notFound(entity: "image", id: id.uuidString) }
        return record.record
    }

    /// A page of the project's images, oldest first.
    public static func list(
        projectID: UUID, status: ImageStatus?, page: PageRequest, on database: Database
    ) async throws(StorageError) -> Page<ImageRecord> {
        let status = status?.rawValue
        let after = page.cursor
        let rows = try await withStorageErrors {
            // With no filter or cursor the `IS NULL` tests fold to true when the statement is planned with its values.
            try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM images
                WHERE project_id = \(projectID)
                  AND (\(status)::text IS NULL OR status = \(status))
                  AND (\(after?.timestamp)::timestamptz IS NULL OR (created_at, id) > (\(after?.timestamp), \(after?.id)))
                ORDER BY created_at, id
                LIMIT \(page.limit + 1)
                """
            ).decodeAll(Self.decode)
        }
        return Page(fetched: rows, request: page, position: { $0.position }).map { $0.record }
    }

    /// Sets one image's status and returns it updated.
    /// - Throws: `StorageError.notFound(entity: "image", id:)` when there is no such image.
    public static func setStatus(
        _ status: ImageStatus,
        id: UUID,
        on database: Database
    ) async throws(StorageError) -> ImageRecord {
        let record = try await withStorageErrors {
            try await database.query(
                "UPDATE images SET status = \(status.rawValue), updated_at = now() WHERE id = \(id) RETURNING \(unescaped: columns)"
            ).decodeFirst(decode)
        }
        guard let record else { throw StorageError.notFound(entity: "image", id: id.uuidString) }
        return record.record
    }

    /// Sets the status of every listed image that exists (and belongs to `projectID` when one is given), on
    /// `database`; returns the updated ids in the order given.
    /// - Throws: `StorageError`.
    public static func setStatus(
        _ status: ImageStatus,
        ids: [UUID],
        projectID: UUID? = nil,
        on database: Database
    ) async throws(StorageError) -> [UUID] {
        guard !ids.isEmpty else { return [] }
        let updated = try await withStorageErrors {
            // Rows are locked in id order, so two overlapping updates cannot deadlock.
            try await database.query(
                """
                WITH target AS (
                    SELECT id FROM images
                    WHERE id = ANY(\(ids)) AND (\(projectID)::uuid IS NULL OR project_id = \(projectID))
                    ORDER BY id
                    FOR NO KEY UPDATE
                )
                UPDATE images SET status = \(status.rawValue), updated_at = now()
                FROM target WHERE images.id = target.id
                RETURNING images.id
                """
            ).decodeAll { try $0.decode(UUID.self) }
        }
        let set = Set(updated)
        var seen = Set<UUID>()
        return ids.filter { set.contains($0) && seen.insert($0).inserted }
    }

    /// Gives cancelled images back the status they had before queueing: `processing` while another
    /// segmentation of the image still runs, `segmented` with a stored version, else `new`. Only images still
    /// `queued` or `processing` (and of `projectID`, when given) change.
    /// - Throws: `StorageError`.
    public static func restoreStatusAfterCancel(
        ids: [UUID],
        projectID: UUID? = nil,
        on database: Database
    ) async throws(StorageError) {
        guard !ids.isEmpty else { return }
        try await withStorageErrors {
            try await database.query(
                """
                UPDATE images SET status = CASE
                    WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.image_id = images.id AND j.kind = 'segment' AND j.state = 'running')
                        THEN 'processing'
                    WHEN EXISTS (SELECT 1 FROM segmentations s WHERE s.image_id = images.id) THEN 'segmented'
                    ELSE 'new' END,
                    updated_at = now()
                WHERE id = ANY(\(ids)) AND status IN ('queued', 'processing')
                  AND (\(projectID)::uuid IS NULL OR project_id = \(projectID))
                """
            ).drain()
        }
    }

    /// After a segmentation job stored its version: the image is `segmented`, or `queued` when a
    /// newer request for it waits in the queue (its own job will finish it).
    /// - Returns: The status set.
    /// - Throws: `StorageError.notFound(entity: "image", id:)` when there is no such image.
    public static func finishSegmentation(id: UUID, on database: Database) async throws(StorageError) -> ImageStatus {
        let status = try await withStorageErrors {
            try await database.query(
                """
                UPDATE images SET status = CASE
                    WHEN EXISTS (SELECT 1 FROM jobs j WHERE j.image_id = images.id AND j.kind = 'segment' AND j.state = 'queued')
                        THEN 'queued' ELSE 'segmented' END,
                    updated_at = now()
                WHERE id = \(id)
                RETURNING status
                """
            ).decodeFirst { try $0.decode(String.self) }
        }
        guard let status, let value = ImageStatus(rawValue: status) else { throw StorageError.notFound(entity: "image", id: id.uuidString) }
        return value
    }

    /// After a manual edit stored its version: the image is `segmented` unless a segmentation of it
    /// is queued or running (that job sets the status when it finishes).
    /// - Throws: `StorageError`.
    public static func markEdited(id: UUID, on database: Database) async throws(StorageError) {
        try await withStorageErrors {
            try await database.query(
                """
                UPDATE images SET status = 'segmented', updated_at = now()
                WHERE id = \(id) AND status NOT IN ('queued', 'processing')
                """
            ).drain()
        }
    }

    /// Deletes an image (with an audit entry, in the caller's transaction) and returns the keys it
    /// referred to (candidates for removal, as for `delete(id:)`).
    /// - Throws: `StorageError.notFound(entity: "image", id:)` when there is no such image.
    public static func delete(id: UUID, on database: Database) async throws(StorageError) -> [ObjectKey] {
        let keys = try await withStorageErrors {
            try await database.query(
                "DELETE FROM images WHERE id = \(id) RETURNING object_key, thumbnail_key, display_key"
            ).decodeFirst { try $0.decode((ObjectKey, ObjectKey?, ObjectKey?).self) }
        }
        guard let keys else { throw StorageError.notFound(entity: "image", id: id.uuidString) }
        database.logger.debug("image deleted", metadata: ["image.id": "\(id)"])
        return [keys.0] + [keys.1, keys.2].compactMap { $0 }
    }

    /// Deletes all of a project's images (before the project itself, in the caller's transaction)
    /// and returns the distinct keys they referred to.
    /// - Throws: `StorageError`.
    public static func deleteAll(projectID: UUID, on database: Database) async throws(StorageError) -> [ObjectKey] {
        let rows = try await withStorageErrors {
            try await database.query(
                "DELETE FROM images WHERE project_id = \(projectID) RETURNING object_key, thumbnail_key, display_key"
            ).decodeAll { try $0.decode((ObjectKey, ObjectKey?, ObjectKey?).self) }
        }
        var keys = Set<ObjectKey>()
        for (objectKey, thumbnailKey, displayKey) in rows {
            keys.insert(objectKey)
            if let thumbnailKey { keys.insert(thumbnailKey) }
            if let displayKey { keys.insert(displayKey) }
        }
        database.logger.debug("project images deleted", metadata: ["project.id": "\(projectID)", "image.count": "\(rows.count)"])
        return keys.sorted()
    }

    /// The project's image counts by status.
    public static func countsByStatus(projectID: UUID, on database: Database) async throws(StorageError) -> ImageStatusCounts {
        try await countsByStatus(projectIDs: [projectID], on: database)[projectID] ?? ImageStatusCounts()
    }

    /// The image counts by status of several projects.
    public static func countsByStatus(projectIDs: [UUID], on database: Database) async throws(StorageError) -> [UUID: ImageStatusCounts] {
        var counts = Dictionary(projectIDs.map { ($0, ImageStatusCounts()) }, uniquingKeysWith: { first, _ in first })
        guard !projectIDs.isEmpty else { return counts }
        let rows = try await withStorageErrors {
            try await database.query(
                """
                SELECT project_id, status, count(*)::int8 FROM images
                WHERE project_id = ANY(\(projectIDs))
                GROUP BY project_id, status
                """
            ).decodeAll { try $0.decode((UUID, String, Int).self) }
        }
        for (projectID, raw, count) in rows {
            counts[projectID, default: ImageStatusCounts()][try storedValue(raw, as: ImageStatus.self)] = count
        }
        return counts
    }

    /// The ids of the project's images in status `new` or `failed`, oldest first.
    /// - Throws: `StorageError`.
    public static func unsegmentedIDs(projectID: UUID, on database: Database) async throws(StorageError) -> [UUID] {
        try await withStorageErrors {
            try await database.query(
                """
                SELECT id FROM images
                WHERE project_id = \(projectID) AND status IN ('new', 'failed')
                ORDER BY created_at, id
                """
            ).decodeAll { try $0.decode(UUID.self) }
        }
    }

    /// Number and total size of all images.
    public static func totals(on database: Database) async throws(StorageError) -> ImageTotals {
        let row = try await withStorageErrors {
            try await database.query(
                """
                SELECT count(*)::int8, COALESCE(sum(bytes), 0)::int8,
                    (SELECT COALESCE(sum(bytes), 0)::int8 FROM (SELECT DISTINCT ON (object_key) bytes FROM images) AS distinct_objects)
                FROM images
                """
            ).decodeFirst { try $0.decode((Int, Int64, Int64).self) }
        }
        guard let row else { throw StorageError.database(sqlState: nil) }
        return ImageTotals(images: row.0, bytes: row.1, distinctObjectBytes: row.2)
    }

    // MARK: - Rows

    /// The last column is a failed image's reason: the error of its last failed `segment` job (`jobs_image_id_idx`).
    static let columns = """
        id, project_id, name, object_key, thumbnail_key, display_key, width, height, format, pages, bytes, status, created_at, updated_at,
        CASE WHEN status = 'failed' THEN (
            SELECT j.last_error FROM jobs j WHERE j.image_id = images.id AND j.kind = 'segment' AND j.state = 'failed'
            ORDER BY j.finished_at DESC NULLS LAST LIMIT 1) END
        """

    /// A row of `columns` as a record, with its keyset position.
    static func decode(_ row: PostgresRow) throws -> (record: ImageRecord, position: PageCursor) {
        let (id, projectID, name, objectKey, thumbnailKey, displayKey, width, height, format, pages, bytes, status, createdAt, updatedAt, failure) =
            try row.decode(
                (UUID, UUID, String, ObjectKey, ObjectKey?, ObjectKey?, Int, Int, String, Int, Int64, String, Timestamp, Date, String?).self)
        let record = ImageRecord(
            id: id,
            projectID: projectID,
            name: name,
            objectKey: objectKey,
            thumbnailKey: thumbnailKey,
            displayKey: displayKey,
            width: width,
            height: height,
            format: try storedValue(format, as: ImageRecord.Format.self),
            pages: pages,
            bytes: bytes,
            status: try storedValue(status, as: ImageStatus.self),
            createdAt: createdAt.date,
            updatedAt: updatedAt,
            failureReason: failure
        )
        return (record, PageCursor(timestamp: createdAt, id: id))
    }
}

extension ImageRepository {
    /// Sets the status of every listed image that exists, whatever its project; returns the ids that were updated.
    public static func setStatus(_ status: ImageStatus, ids: [UUID], on database: Database) async throws(StorageError) -> [UUID] {
        try await setStatus(status, ids: ids, projectID: nil, on: database)
    }
}
