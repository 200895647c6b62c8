import Foundation
import Logging
import PostgresNIO

/// Stores the versioned segmentations of images: a new version never overwrites an old one.
///
/// ## Usage
/// ```swift
/// let stored = try await SegmentationRepository.addVersion(
///     imageID: image, polygons: Array(polygonJSON), parameters: Array(parameterJSON), segmenter: "builtin", authorID: nil,
///     on: database)
/// let latest = try await SegmentationRepository.latest(imageID: image, on: database)  // stored.version == latest.version
/// ```
/// Polygons and parameters are JSON bytes (the polygon list of DESIGN.md section 2, and a JSON object), so this
/// module needs no SegCore types. Every method throws `StorageError` only.
///
/// On PostgreSQL (table `segmentations`).
///
/// A new version locks its image's row (`FOR NO KEY UPDATE`) before it reads the highest version, so concurrent
/// writers for one image take turns and get consecutive numbers; writers for different images do not wait.
public enum SegmentationRepository {

    /// Stores a new version, numbered one past the image's newest, in a transaction (the caller's when `database` is
    /// inside one, so that a worker stores its result and completes its job together): the image's row stays locked
    /// until it commits, so two writers never take the same number.
    /// - Throws: `.notFound(entity: "image", id:)`; `.invalidArgument` when the bytes are not JSON;
    ///   `.constraintViolation` when `polygons` is not an array or `parameters` not an object.
    public static func addVersion(
        imageID: UUID,
        polygons: [UInt8],
        parameters: [UInt8],
        segmenter: String,
        authorID: UUID?,
        on database: Database
    ) async throws(StorageError) -> SegmentationRecord {
        try await database.transaction { database in
            let locked = try await database.query("SELECT id FROM images WHERE id = \(imageID) FOR NO KEY UPDATE")
                .decodeFirst { try $0.decode(UUID.self) }
            guard locked != nil else { throw StorageError.notFound(entity: "image", id: imageID.uuidString) }
            let record: SegmentationRecord?
            do {
                // A new statement sees the versions committed by whoever held the lock before.
                record = try await database.query(
                    """
                    INSERT INTO segmentations (image_id, version, polygons, parameters, segmenter, author_id)
                    SELECT \(imageID), COALESCE(max(version), 0) + 1, \(JSONBytes(polygons)), \(JSONBytes(parameters)), \(segmenter), \(authorID)
                    FROM segmentations WHERE image_id = \(imageID)
                    RETURNING \(unescaped: columns)
                    """
                ).decodeFirst(decode)
            } catch {
                throw StorageError(mappingJSONInput: error, field: "polygons and parameters")
            }
            guard let record else { throw StorageError.database(sqlState: nil) }
            database.logger.debug("segmentation stored", metadata: ["image.id": "\(imageID)", "segmentation.version": "\(record.version)"])
            return record
        }
    }

    /// The image's newest version.
    /// - Throws: `.notFound(entity: "segmentation", id: imageID)` when the image has none (or does not exist).
    public static func latest(imageID: UUID, on database: Database) async throws(StorageError) -> SegmentationRecord {
        let record = try await withStorageErrors {
            try await database.query(
                "SELECT \(unescaped: Self.columns) FROM segmentations WHERE image_id = \(imageID) ORDER BY version DESC LIMIT 1"
            ).decodeFirst(Self.decode)
        }
        guard let record else { throw StorageError.notFound(entity: "segmentation", id: imageID.uuidString) }
        return record
    }

    /// The newest version of each listed image that has one.
    public static func latest(imageIDs: [UUID], on database: Database) async throws(StorageError) -> [UUID: SegmentationRecord] {
        guard !imageIDs.isEmpty else { return [:] }
        let records = try await withStorageErrors {
            try await database.query(
                """
                SELECT DISTINCT ON (image_id) \(unescaped: Self.columns) FROM segmentations
                WHERE image_id = ANY(\(imageIDs))
                ORDER BY image_id, version DESC
                """
            ).decodeAll(Self.decode)
        }
        return Dictionary(records.map { ($0.imageID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// One version of the image's segmentation.
    /// - Throws: `.notFound(entity: "segmentation", id: "<imageID>/<version>")`.
    public static func version(_ version: Int, imageID: UUID, on database: Database) async throws(StorageError) -> SegmentationRecord {
        let record = try await withStorageErrors {
            try await database.query(
                "SELECT \(unescaped: Self.columns) FROM segmentations WHERE image_id = \(imageID) AND version = \(version)"
            ).decodeFirst(Self.decode)
        }
        guard let record else { throw StorageError.notFound(entity: "segmentation", id: "\(imageID.uuidString)/\(version)") }
        return record
    }

    /// The image's versions without polygons, newest first.
    public static func versions(imageID: UUID, on database: Database) async throws(StorageError) -> [SegmentationVersionSummary] {
        try await withStorageErrors {
            try await database.query(
                """
                SELECT id, image_id, version, segmenter, author_id, polygon_count, created_at FROM segmentations
                WHERE image_id = \(imageID)
                ORDER BY version DESC
                """
            ).decodeAll { row in
                let (id, imageID, version, segmenter, authorID, polygonCount, createdAt) =
                    try row.decode((UUID, UUID, Int, String, UUID?, Int, Timestamp).self)
                return SegmentationVersionSummary(
                    id: id,
                    imageID: imageID,
                    version: version,
                    segmenter: segmenter,
                    authorID: authorID,
                    polygonCount: polygonCount,
                    createdAt: createdAt.date
                )
            }
        }
    }

    /// Deletes every version of the image's segmentation.
    public static func deleteVersions(imageID: UUID, on database: Database) async throws(StorageError) -> Int {
        let deleted = try await withStorageErrors {
            try await database.query("DELETE FROM segmentations WHERE image_id = \(imageID) RETURNING version")
                .decodeAll { try $0.decode(Int.self) }
        }
        database.logger.debug("segmentations deleted", metadata: ["image.id": "\(imageID)", "segmentation.count": "\(deleted.count)"])
        return deleted.count
    }

    // MARK: - Rows

    static let columns = "id, image_id, version, polygons, parameters, segmenter, author_id, created_at"

    static func decode(_ row: PostgresRow) throws -> SegmentationRecord {
        let (id, imageID, version, polygons, parameters, segmenter, authorID, createdAt) =
            try row.decode((UUID, UUID, Int, JSONBytes, JSONBytes, String, UUID?, Timestamp).self)
        return SegmentationRecord(
            id: id,
            imageID: imageID,
            version: version,
            polygons: polygons.bytes,
            parameters: parameters.bytes,
            segmenter: segmenter,
            authorID: authorID,
            createdAt: createdAt.date
        )
    }
}
