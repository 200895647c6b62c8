import Foundation

/// The members of a project and their roles.
///
/// The owner is a member with role `.owner`; ownership moves only through `ProjectRepository.transferOwnership`,
/// so these methods never make, change or remove an owner. Every method throws `StorageError` only.
public protocol ProjectMemberRepository: Sendable {
    /// Adds `userID` to the project with `role`, or changes the role of an existing member.
    /// - Throws: `.invalidArgument` for `.owner` or when `userID` owns the project; `.notFound(entity: "project", id:)`
    ///   or `.notFound(entity: "user", id:)` when either does not exist.
    func setRole(projectID: UUID, userID: UUID, role: ProjectRole) async throws(StorageError) -> ProjectMemberRecord

    /// Removes a member.
    /// - Throws: `.invalidArgument` for the owner; `.notFound(entity: "project member", id:)` when the user is not a member.
    func remove(projectID: UUID, userID: UUID) async throws(StorageError)

    /// One page of the project's members with their email and name, in the order they joined (the owner first).
    func list(projectID: UUID, page: PageRequest) async throws(StorageError) -> Page<ProjectMemberRecord>

    /// The role of `userID` in the project, or `nil` when the user is not a member (or there is no such project).
    func role(projectID: UUID, userID: UUID) async throws(StorageError) -> ProjectRole?
}
