/// One row of a project's member list: a member, or (for the owner's view) a pending invitation.
public enum ProjectMemberEntry: Sendable, Equatable {
    /// An account that is a member.
    case member(ProjectMemberRecord)
    /// An address without an account, waiting for it to sign up.
    case invitation(ProjectInvitationRecord)
}
