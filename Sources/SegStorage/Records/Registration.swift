/// A new account and the pending invitations of its address that made it a member (`UserRepository.register`).
public struct Registration: Sendable, Equatable {
    /// The account.
    public var user: UserRecord
    /// The invitations that became memberships, now deleted; each one's `role` is the role it granted.
    public var activated: [ProjectInvitationRecord]

    /// The account and what it joined.
    public init(user: UserRecord, activated: [ProjectInvitationRecord]) {
        self.user = user
        self.activated = activated
    }
}
