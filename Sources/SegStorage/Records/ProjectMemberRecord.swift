import Foundation

/// A member of a project with the account details a member list shows.
public struct ProjectMemberRecord: Sendable, Equatable, Identifiable {
    /// The project.
    public var projectID: UUID
    /// The member's account.
    public var userID: UUID
    /// The member's email, as typed at registration.
    public var email: String
    /// The member's display name.
    public var name: String
    /// The member's role in the project.
    public var role: ProjectRole
    /// When the user became a member.
    public var createdAt: Date

    /// The member's user id (one row per user and project).
    public var id: UUID { userID }

    /// A record with every column given.
    public init(projectID: UUID, userID: UUID, email: String, name: String, role: ProjectRole, createdAt: Date) {
        self.projectID = projectID
        self.userID = userID
        self.email = email
        self.name = name
        self.role = role
        self.createdAt = createdAt
    }
}
