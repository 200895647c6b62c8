import Foundation

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
public protocol SegmentationRepository: Sendable {
    /// Stores a new version of the image's segmentation: one more than the highest stored so far (1 for the first).
    ///
    /// Concurrent calls for one image each get their own version number.
    /// - Parameters:
    ///   - imageID: The segmented image.
    ///   - polygons: A JSON array of polygons.
    ///   - parameters: A JSON object: the parameters that produced them (`{}` for a manual edit).
    ///   - segmenter: What produced them (`builtin`, `manual`, a model name); not empty.
    ///   - authorID: The user who stored them, `nil` for a worker.
    /// - Throws: `.notFound(entity: "image", id:)`; `.invalidArgument` when the bytes are not JSON;
    ///   `.constraintViolation` when `polygons` is not an array or `parameters` not an object.
    func addVersion(
        imageID: UUID, polygons: [UInt8], parameters: [UInt8], segmenter: String, authorID: UUID?
    ) async throws(StorageError)
        -> SegmentationRecord

    /// The image's newest version.
    /// - Throws: `.notFound(entity: "segmentation", id: imageID)` when the image has none (or does not exist).
    func latest(imageID: UUID) async throws(StorageError) -> SegmentationRecord

    /// The newest version of each listed image that has one (for exports); images without one are absent.
    func latest(imageIDs: [UUID]) async throws(StorageError) -> [UUID: SegmentationRecord]

    /// One version of the image's segmentation.
    /// - Throws: `.notFound(entity: "segmentation", id: "<imageID>/<version>")`.
    func version(_ version: Int, imageID: UUID) async throws(StorageError) -> SegmentationRecord

    /// Every version of the image without the polygons, newest first (empty when there is none).
    func versions(imageID: UUID) async throws(StorageError) -> [SegmentationVersionSummary]

    /// Deletes every version of the image's segmentation; returns how many there were.
    func deleteVersions(imageID: UUID) async throws(StorageError) -> Int
}
