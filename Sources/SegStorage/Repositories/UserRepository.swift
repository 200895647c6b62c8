import Foundation

/// Accounts: create, look up, list and change them.
///
/// Every method throws `StorageError` only; a missing account is `.notFound(entity: "user", id:)`.
///
/// ## Usage
/// ```swift
/// let users: some UserRepository = UserPostgresRepository(client: client, logger: logger)
/// let user = try await users.create(NewUser(email: "Ada@Example.org", passwordHash: hash))
/// let same = try await users.find(email: "ada@example.org")  // case-insensitive
/// ```
public protocol UserRepository: Sendable {
    /// Creates an account.
    /// - Throws: `.conflict(constraint: "users_email_lower_key")` when the email is taken in any letter case,
    ///   `.constraintViolation` for an empty email.
    func create(_ user: NewUser) async throws(StorageError) -> UserRecord

    /// The account with this id, or `nil`.
    func find(id: UUID) async throws(StorageError) -> UserRecord?

    /// The account with this email regardless of letter case, or `nil`.
    func find(email: String) async throws(StorageError) -> UserRecord?

    /// One page of the accounts that match `filter`, oldest first.
    func list(_ filter: UserFilter, page: PageRequest) async throws(StorageError) -> Page<UserRecord>

    /// The number of accounts that match `filter`.
    func count(_ filter: UserFilter) async throws(StorageError) -> Int

    /// Changes the display name.
    func updateName(id: UUID, name: String) async throws(StorageError) -> UserRecord

    /// Changes the account role.
    func setRole(id: UUID, role: AccountRole) async throws(StorageError) -> UserRecord

    /// Stores a new password hash, in one transaction with its consequences.
    ///
    /// Sets `tokensValidAfter` to now (older access tokens stop working), revokes every refresh token of the user,
    /// and sets `mustChangePassword` to the given value (`false` after the user chose a password, `true` when an
    /// admin reset it).
    func setPasswordHash(id: UUID, passwordHash: String, mustChangePassword: Bool) async throws(StorageError) -> UserRecord

    /// Disables or re-enables the account.
    ///
    /// Disabling sets `disabledAt` (kept if already disabled), sets `tokensValidAfter` to now and revokes every
    /// refresh token of the user, in one transaction. Enabling clears `disabledAt`.
    func setDisabled(id: UUID, disabled: Bool) async throws(StorageError) -> UserRecord

    /// The number of projects the account owns (they must be transferred or deleted before the account is).
    func ownedProjectCount(id: UUID) async throws(StorageError) -> Int

    /// Deletes the account with its refresh tokens and memberships.
    ///
    /// What it authored elsewhere (segmentations, jobs, audit entries, share links) stays, with the author cleared.
    /// - Throws: `.invalidArgument("the user still owns projects; transfer or delete them first")` while the account
    ///   owns projects (see `ownedProjectCount`); `.notFound` when there is no such account.
    func delete(id: UUID) async throws(StorageError)
}

extension UserRepository {
    /// One page of every account, oldest first.
    public func list(page: PageRequest) async throws(StorageError) -> Page<UserRecord> {
        try await list(.all, page: page)
    }

    /// The number of accounts.
    public func count() async throws(StorageError) -> Int {
        try await count(.all)
    }

    /// Stores the password the user chose: like `setPasswordHash(id:passwordHash:mustChangePassword:)` with
    /// `mustChangePassword` cleared.
    public func setPasswordHash(id: UUID, passwordHash: String) async throws(StorageError) -> UserRecord {
        try await setPasswordHash(id: id, passwordHash: passwordHash, mustChangePassword: false)
    }

    /// The account with this id.
    /// - Throws: `.notFound(entity: "user", id:)` when there is none.
    public func get(id: UUID) async throws(StorageError) -> UserRecord {
        guard let user = try await find(id: id) else { throw StorageError.notFound(entity: "user", id: id.uuidString) }
        return user
    }
}
