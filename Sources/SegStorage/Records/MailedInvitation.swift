import Foundation

/// A pending invitation found by the token of its mail, with what its page shows: the project's name and who invited.
public struct MailedInvitation: Sendable, Equatable {
    /// The invitation.
    public var invitation: ProjectInvitationRecord
    /// The name of the project it admits to.
    public var projectName: String
    /// The inviter's display name, or `nil` when that account was deleted (the name may be empty).
    public var inviterName: String?
    /// The inviter's address, or `nil` when that account was deleted.
    public var inviterEmail: String?

    /// An invitation with its page's details.
    public init(invitation: ProjectInvitationRecord, projectName: String, inviterName: String?, inviterEmail: String?) {
        self.invitation = invitation
        self.projectName = projectName
        self.inviterName = inviterName
        self.inviterEmail = inviterEmail
    }
}
