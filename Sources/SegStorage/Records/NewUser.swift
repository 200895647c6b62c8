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

    /// An account to create.
    public init(email: String, name: String = "", passwordHash: String, role: AccountRole = .user, mustChangePassword: Bool = false) {
        self.email = email
        self.name = name
        self.passwordHash = passwordHash
        self.role = role
        self.mustChangePassword = mustChangePassword
    }
}
