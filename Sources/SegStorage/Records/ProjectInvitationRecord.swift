import Foundation

/// A row of `project_invitations`: an address without an account that an owner added to a project.
///
/// It becomes a membership with `role` when an account with that address (in any letter case) is created or logs in
/// (`ProjectInvitationRepository.activate`).
public struct ProjectInvitationRecord: Sendable, Equatable, Identifiable {
    /// The invitation's id (what revoking names).
    public var id: UUID
    /// The project it admits to.
    public var projectID: UUID
    /// The address as the owner last typed it; compared case-insensitively.
    public var email: String
    /// The role it grants (`editor` or `viewer`).
    public var role: ProjectRole
    /// Who invited (`nil` when that account was deleted).
    public var invitedBy: UUID?
    /// When the address was first invited (inviting again changes the role, not this).
    public var createdAt: Date

    /// A record with every column given.
    public init(id: UUID, projectID: UUID, email: String, role: ProjectRole, invitedBy: UUID?, createdAt: Date) {
        self.id = id
        self.projectID = projectID
        self.email = email
        self.role = role
        self.invitedBy = invitedBy
        self.createdAt = createdAt
    }
}
