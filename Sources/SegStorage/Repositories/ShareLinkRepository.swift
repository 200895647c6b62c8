import Foundation

/// Single-use links that make whoever accepts them a member of a project.
///
/// Only the SHA-256 of a link's token is stored; the caller hashes the token it hands out and the one presented
/// (32 bytes, else `.invalidArgument`). Expiry is judged by the database's clock. Every method throws `StorageError` only.
///
/// ## Usage
/// ```swift
/// let links: some ShareLinkRepository = ShareLinkPostgresRepository(client: client, logger: logger)
/// _ = try await links.create(projectID: id, tokenHash: hash, role: .viewer, expiresAt: .now + 86_400, createdBy: me)
/// if case .accepted(let projectID, let role) = try await links.accept(tokenHash: hash, userID: friend) { … }
/// ```
public protocol ShareLinkRepository: Sendable {
    /// Creates a link granting `role` (`.editor` or `.viewer`) until `expiresAt`.
    /// - Throws: `.invalidArgument` for `.owner` or a hash that is not 32 bytes; `.notFound(entity: "project", id:)`,
    ///   `.notFound(entity: "user", id:)` for an unknown creator.
    func create(
        projectID: UUID, tokenHash: Data, role: ProjectRole, expiresAt: Date, createdBy: UUID?
    ) async throws(StorageError)
        -> ShareLinkRecord

    /// One page of the project's links, newest first, each with its state (active, used, expired).
    func list(projectID: UUID, page: PageRequest) async throws(StorageError) -> Page<ShareLinkRecord>

    /// Revokes a link by deleting it.
    /// - Throws: `.notFound(entity: "share link", id:)` when the project has no such link.
    func revoke(id: UUID, projectID: UUID) async throws(StorageError)

    /// Accepts a link for `userID`, in one transaction that locks the link.
    ///
    /// A valid link is marked used (once, whoever asks first) and the user becomes a member with the link's role,
    /// except that an existing higher role is kept: an owner stays owner, an editor stays editor on a viewer link.
    /// - Returns: `.accepted` with the user's role afterwards, or why the link cannot be accepted.
    /// - Throws: `.notFound(entity: "user", id:)` for an unknown user.
    func accept(tokenHash: Data, userID: UUID) async throws(StorageError) -> ShareLinkAcceptance
}
