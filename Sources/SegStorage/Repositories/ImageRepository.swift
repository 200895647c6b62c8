import Foundation

/// Stores images: their file-store keys, size, format and segmentation status.
///
/// ## Usage
/// ```swift
/// let images = ImagePostgresRepository(client: client, logger: logger)
/// let image = try await images.create(
///     projectID: project, name: "a.png", objectKey: key, thumbnailKey: thumb,
///     width: 640, height: 480, format: .png, bytes: 1234
/// )
/// let page = try await images.list(projectID: project, status: .new, page: PageRequest(limit: 50))
/// ```
/// Every method throws `StorageError` only; a missing image is `.notFound(entity: "image", id:)`.
public protocol ImageRepository: Sendable {
    /// Stores a new image with status `new` (`displayKey`: its display rendition, if it needs one).
    /// - Throws: `.invalidReference` for an unknown project, `.constraintViolation` for a bad size or empty name.
    func create(
        projectID: UUID,
        name: String,
        objectKey: ObjectKey,
        thumbnailKey: ObjectKey?,
        displayKey: ObjectKey?,
        width: Int,
        height: Int,
        format: ImageRecord.Format,
        pages: Int,
        bytes: Int64
    ) async throws(StorageError) -> ImageRecord

    /// The image with this id.
    func get(id: UUID) async throws(StorageError) -> ImageRecord

    /// A page of a project's images, oldest first, optionally only those in `status`.
    func list(projectID: UUID, status: ImageStatus?, page: PageRequest) async throws(StorageError) -> Page<ImageRecord>

    /// Sets one image's status and returns it updated.
    func setStatus(_ status: ImageStatus, id: UUID) async throws(StorageError) -> ImageRecord

    /// Sets the status of every listed image that exists (and belongs to `projectID` when one is given); returns the
    /// ids that were updated, in the order given.
    ///
    /// Pass the project whenever the ids come from a client, so that a request on one project cannot touch another's images.
    func setStatus(_ status: ImageStatus, ids: [UUID], projectID: UUID?) async throws(StorageError) -> [UUID]

    /// Deletes an image (its segmentations go with it) and returns the file-store keys it referred to.
    ///
    /// The keys are candidates for removal: content is deduplicated, so another row may still refer to the same
    /// object. Remove them through `FileStore.orphanedKeys(referencedBy:logger:)` (what `segctl gc` does).
    func delete(id: UUID) async throws(StorageError) -> [ObjectKey]

    /// Deletes all of a project's images and returns the distinct file-store keys they referred to (candidates,
    /// as for `delete(id:)`).
    func deleteAll(projectID: UUID) async throws(StorageError) -> [ObjectKey]

    /// How many of the project's images are in each status (zeros included).
    func countsByStatus(projectID: UUID) async throws(StorageError) -> ImageStatusCounts

    /// The counts by status of several projects at once; every listed project is present.
    func countsByStatus(projectIDs: [UUID]) async throws(StorageError) -> [UUID: ImageStatusCounts]

    /// The ids of the project's images not yet segmented (status `new` or `failed`), oldest first:
    /// what "segment everything not yet segmented" queues.
    func unsegmentedIDs(projectID: UUID) async throws(StorageError) -> [UUID]

    /// Number and total size of all images (for `segctl stats`).
    func totals() async throws(StorageError) -> ImageTotals
}

extension ImageRepository {
    /// Sets the status of every listed image that exists, whatever its project; returns the ids that were updated.
    public func setStatus(_ status: ImageStatus, ids: [UUID]) async throws(StorageError) -> [UUID] {
        try await setStatus(status, ids: ids, projectID: nil)
    }
}
