import Foundation
import Logging
import PostgresNIO

/// Stores the versioned segmentations of images: a new version never overwrites an old one.
///
/// ## Usage
/// ```swift
/// let segmentations = SegmentationPostgresRepository(client: client, logger: logger)
/// let stored = try await segmentations.addVersion(
///     imageID: image, polygons: Array(polygonJSON), parameters: Array(parameterJSON), segmenter: "builtin", authorID: nil
/// )
/// let latest = try await segmentations.latest(imageID: image)   // stored.version == latest.version
/// ```
/// Polygons and parameters are JSON bytes (the polygon list of DESIGN.md section 2, and a JSON object), so this
/// module needs no SegCore types. Every method throws `StorageError` only.
///
/// On PostgreSQL (table `segmentations`).
///
/// A new version locks its image's row (`FOR NO KEY UPDATE`) before it reads the highest version, so concurrent
/// writers for one image take turns and get consecutive numbers; writers for different images do not wait.
public struct SegmentationPostgresRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// A repository using `client`'s pool and logging to `logger`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Stores the next version in a transaction of its own.
    /// - Parameters:
    ///   - imageID: The segmented image.
    ///   - polygons: A JSON array of polygons.
    ///   - parameters: A JSON object: the parameters that produced them (`{}` for a manual edit).
    ///   - segmenter: What produced them (`builtin`, `manual`, a model name); not empty.
    ///   - authorID: The user who stored them, `nil` for a worker.
    /// - Throws: `.notFound(entity: "image", id:)`; `.invalidArgument` when the bytes are not JSON;
    ///   `.constraintViolation` when `polygons` is not an array or `parameters` not an object.
    public func addVersion(
        imageID: UUID,
        polygons: [UInt8],
        parameters: [UInt8],
        segmenter: String,
        authorID: UUID?
    ) async throws(StorageError) -> SegmentationRecord {
        try await withStorageErrors {
            try await client.withTransaction(logger: logger) { connection in
                try await Self.addVersion(
                    imageID: imageID,
                    polygons: polygons,
                    parameters: parameters,
                    segmenter: segmenter,
                    authorID: authorID,
                    on: connection,
                    logger: logger
                )
            }
        }
    }

    /// Stores a new version on `connection`, which must be inside a transaction (the caller's, so that a worker
    /// stores its result and completes its job together): the image's row stays locked until it commits.
    /// - Throws: `StorageError` (see `SegmentationRepository.addVersion`).
    public static func addVersion(
        imageID: UUID,
        polygons: [UInt8],
        parameters: [UInt8],
        segmenter: String,
        authorID: UUID?,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws(StorageError) -> SegmentationRecord {
        let locked = try await withStorageErrors {
            try await connection.query("SELECT id FROM images WHERE id = \(imageID) FOR NO KEY UPDATE", logger: logger)
                .decodeFirst { try $0.decode(UUID.self) }
        }
        guard locked != nil else { throw StorageError.notFound(entity: "image", id: imageID.uuidString) }
        let record: SegmentationRecord?
        do {
            // A new statement sees the versions committed by whoever held the lock before.
            record = try await connection.query(
                """
                INSERT INTO segmentations (image_id, version, polygons, parameters, segmenter, author_id)
                SELECT \(imageID), COALESCE(max(version), 0) + 1, \(JSONBytes(polygons)), \(JSONBytes(parameters)), \(segmenter), \(authorID)
                FROM segmentations WHERE image_id = \(imageID)
                RETURNING \(unescaped: columns)
                """,
                logger: logger
            ).decodeFirst(decode)
        } catch {
            throw StorageError(mappingJSONInput: error, field: "polygons and parameters")
        }
        guard let record else { throw StorageError.database(sqlState: nil) }
        logger.debug("segmentation stored", metadata: ["image.id": "\(imageID)", "segmentation.version": "\(record.version)"])
        return record
    }

    /// The image's newest version.
    /// - Throws: `.notFound(entity: "segmentation", id: imageID)` when the image has none (or does not exist).
    public func latest(imageID: UUID) async throws(StorageError) -> SegmentationRecord {
        let record = try await withStorageErrors {
            try await client.query(
                "SELECT \(unescaped: Self.columns) FROM segmentations WHERE image_id = \(imageID) ORDER BY version DESC LIMIT 1",
                logger: logger
            ).decodeFirst(Self.decode)
        }
        guard let record else { throw StorageError.notFound(entity: "segmentation", id: imageID.uuidString) }
        return record
    }

    /// The newest version of each listed image that has one.
    public func latest(imageIDs: [UUID]) async throws(StorageError) -> [UUID: SegmentationRecord] {
        guard !imageIDs.isEmpty else { return [:] }
        let records = try await withStorageErrors {
            try await client.query(
                """
                SELECT DISTINCT ON (image_id) \(unescaped: Self.columns) FROM segmentations
                WHERE image_id = ANY(\(imageIDs))
                ORDER BY image_id, version DESC
                """,
                logger: logger
            ).decodeAll(Self.decode)
        }
        return Dictionary(records.map { ($0.imageID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// One version of the image's segmentation.
    /// - Throws: `.notFound(entity: "segmentation", id: "<imageID>/<version>")`.
    public func version(_ version: Int, imageID: UUID) async throws(StorageError) -> SegmentationRecord {
        let record = try await withStorageErrors {
            try await client.query(
                "SELECT \(unescaped: Self.columns) FROM segmentations WHERE image_id = \(imageID) AND version = \(version)",
                logger: logger
            ).decodeFirst(Self.decode)
        }
        guard let record else { throw StorageError.notFound(entity: "segmentation", id: "\(imageID.uuidString)/\(version)") }
        return record
    }

    /// The image's versions without polygons, newest first.
    public func versions(imageID: UUID) async throws(StorageError) -> [SegmentationVersionSummary] {
        try await withStorageErrors {
            try await client.query(
                """
                SELECT id, image_id, version, segmenter, author_id, polygon_count, created_at FROM segmentations
                WHERE image_id = \(imageID)
                ORDER BY version DESC
                """,
                logger: logger
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
    public func deleteVersions(imageID: UUID) async throws(StorageError) -> Int {
        let deleted = try await withStorageErrors {
            try await client.query("DELETE FROM segmentations WHERE image_id = \(imageID) RETURNING version", logger: logger)
                .decodeAll { try $0.decode(Int.self) }
        }
        logger.debug("segmentations deleted", metadata: ["image.id": "\(imageID)", "segmentation.count": "\(deleted.count)"])
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
