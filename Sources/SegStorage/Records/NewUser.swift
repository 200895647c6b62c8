/// What is needed to create an account.
public struct NewUser: Sendable, Equatable {
    /// The email as typed; it is stored unchanged and compared case-insensitively.
    public var email: String
    /// The display name.
    public var name: String
    /// The bcrypt hash of the password (the caller hashes it).
    public var passwordHash: String
    /// The account's role.
    public var role: AccountRole
    /// Whether the user must change the password at the first login (accounts created by an admin).
    public var mustChangePassword: Bool
    /// Whether the address counts as verified from the start: an administrator vouches for it (`segctl users create`),
    /// or the sign-up presented a token mailed to it (an invitation link). Self-service sign-ups
    /// (`POST /api/v1/auth/register`) pass `false` and confirm by mail.
    public var emailVerified: Bool

    /// An account to create.
    public init(
        email: String, name: String = "", passwordHash: String, role: AccountRole = .user, mustChangePassword: Bool = false,
        emailVerified: Bool = true
    ) {
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.mustChangePassword = mustChangePassword
        self.emailVerified = emailVerified
    }
}
