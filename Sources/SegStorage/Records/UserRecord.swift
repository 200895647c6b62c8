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
        createdAt: Date
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
    }

    /// Whether the account is disabled (it cannot log in or refresh tokens).
    public var isDisabled: Bool { disabledAt != nil }
}

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

/// Which accounts a list or count includes.
public struct UserFilter: Sendable, Hashable {
    /// Only accounts with this role; `nil` for every role.
    public var role: AccountRole?
    /// `true` for disabled accounts only, `false` for enabled ones only, `nil` for both.
    public var disabled: Bool?

    /// A filter; the defaults match every account.
    public init(role: AccountRole? = nil, disabled: Bool? = nil) {
        self.role = role
        self.disabled = disabled
    }

    /// Every account.
    public static let all = UserFilter()
}
