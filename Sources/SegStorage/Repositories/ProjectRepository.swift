import Foundation

/// Projects: create them with their owner, read them as a member sees them, list, rename, delete, transfer.
///
/// Every method throws `StorageError` only. Reading a project for a user who is not a member is
/// `.notFound(entity: "project", id:)`, exactly as for a project that does not exist, so callers answer 404 for
/// both and never reveal which projects exist.
///
/// ## Usage
/// ```swift
/// let projects: some ProjectRepository = ProjectPostgresRepository(client: client, logger: logger)
/// let project = try await projects.create(ownerID: user.id, name: "Spheroids", description: "")
/// let mine = try await projects.list(memberID: user.id, page: try PageRequest(limit: 20, cursor: cursor))
/// ```
public protocol ProjectRepository: Sendable {
    /// Creates a project and makes `ownerID` its owner member, in one transaction.
    /// - Throws: `.notFound(entity: "user", id:)` when the owner does not exist, `.constraintViolation` for an empty name.
    func create(ownerID: UUID, name: String, description: String) async throws(StorageError) -> ProjectRecord

    /// The project, without regard to membership (admins), or `nil`.
    func find(id: UUID) async throws(StorageError) -> ProjectRecord?

    /// The project as `userID` sees it: with that user's role and the image counts.
    /// - Throws: `.notFound(entity: "project", id:)` when there is no such project or the user is not a member.
    func get(id: UUID, memberID userID: UUID) async throws(StorageError) -> UserProjectRecord

    /// The project's images by status, all five statuses present.
    /// - Throws: `.notFound(entity: "project", id:)` when there is no such project.
    func imageCounts(projectID: UUID) async throws(StorageError) -> ImageStatusCounts

    /// One page of the projects `userID` is a member of (owned and shared), with the user's role and image counts.
    ///
    /// Newest first by when the user became a member, which for its owner is when the project was created.
    func list(memberID userID: UUID, page: PageRequest) async throws(StorageError) -> Page<UserProjectRecord>

    /// One page of every project, newest first, with its owner's email and image counts (admins, `segctl projects`).
    func listAll(page: PageRequest) async throws(StorageError) -> Page<ProjectOverviewRecord>

    /// Changes the name and/or the description (`nil` keeps a value) and sets `updatedAt`.
    /// - Throws: `.notFound(entity: "project", id:)`, `.constraintViolation` for an empty name.
    func update(id: UUID, name: String?, description: String?) async throws(StorageError) -> ProjectRecord

    /// Deletes the project; its images, segmentations, members, share links and exports go with it.
    /// - Returns: The distinct object keys its images (originals and thumbnails) and export archives referred to, sorted,
    ///   so the caller can remove the files that no other row refers to any more (another project may hold the same
    ///   content).
    /// - Throws: `.notFound(entity: "project", id:)`.
    func delete(id: UUID) async throws(StorageError) -> [String]

    /// Makes `newOwnerID` the owner; the previous owner stays a member as an editor. One transaction.
    /// - Throws: `.notFound(entity: "project", id:)`, `.notFound(entity: "user", id:)` for an unknown new owner.
    func transferOwnership(projectID: UUID, to newOwnerID: UUID) async throws(StorageError) -> ProjectRecord
}
