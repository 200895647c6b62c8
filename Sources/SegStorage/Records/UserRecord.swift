import Foundation

/// A row of `users`.
///
/// `passwordHash` is the bcrypt string; it is never logged and never leaves the server.
public struct UserRecord: Sendable, Equatable, Identifiable {
    /// The account's id.
    public var id: UUID
    /// The email exactly as it was typed at registration (unique regardless of case).
    public var email: String
    /// The display name (may be empty).
    public var name: String
    /// The account's role.
    public var role: AccountRole
    /// The bcrypt hash of the password.
    public var passwordHash: String
    /// When the account was disabled; `nil` while it is enabled.
    public var disabledAt: Date?
    /// Access tokens issued before this instant are rejected (password change, disabling, logout everywhere).
    public var tokensValidAfter: Date
    /// The user must choose a new password before doing anything else.
    public var mustChangePassword: Bool
    /// When the account was created.
    public var createdAt: Date
    /// When the account proved it receives mail at `email` (a mailed link followed, or an administrator vouching);
    /// `nil` while it has not. Pending invitations of the address become memberships only once it has.
    public var emailVerifiedAt: Date?

    /// A record with every column given.
    public init(
        id: UUID,
        email: String,
        name: String,
        role: AccountRole,
        passwordHash: String,
        disabledAt: Date?,
        tokensValidAfter: Date,
        mustChangePassword: Bool,
        createdAt: Date,
        emailVerifiedAt: Date?
    ) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.disabledAt = disabledAt
        self.tokensValidAfter = tokensValidAfter
        self.mustChangePassword = mustChangePassword
        self.createdAt = createdAt
        self.emailVerifiedAt = emailVerifiedAt
    }

    /// Whether the account is disabled (it cannot log in or refresh tokens).
    public var isDisabled: Bool { disabledAt != nil }

    /// Whether the account proved its address (`emailVerifiedAt` is set).
    public var isEmailVerified: Bool { emailVerifiedAt != nil }
}
