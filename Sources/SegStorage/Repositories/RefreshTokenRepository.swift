import Foundation

/// Refresh tokens, stored only as SHA-256 hashes: issue, rotate with reuse detection, revoke, purge.
///
/// The caller hashes every token it hands out or receives (`Data(SHA256.hash(data: tokenBytes))`) and passes the
/// 32-byte digest; any other length is `.invalidArgument`. Expiry is judged by the database's clock.
///
/// ## Usage
/// ```swift
/// let tokens: some RefreshTokenRepository = RefreshTokenPostgresRepository(client: client, logger: logger)
/// switch try await tokens.rotate(presentedHash: old, newHash: new, newExpiresAt: .now + 7 * 86_400) {
/// case .rotated(let userID, let token): …  // hand out the new token
/// case .reused, .expired, .revoked, .unknown: …  // 401
/// }
/// ```
public protocol RefreshTokenRepository: Sendable {
    /// Records a newly issued token.
    /// - Parameters:
    ///   - userID: Its user.
    ///   - hash: The SHA-256 of the token (32 bytes).
    ///   - family: The login it continues; `nil` starts a new family (a new login).
    ///   - expiresAt: When this token expires (clamped to `absoluteExpiresAt`).
    ///   - absoluteExpiresAt: When the family ends, however often it is rotated.
    func issue(
        userID: UUID, hash: Data, family: UUID?, expiresAt: Date, absoluteExpiresAt: Date
    ) async throws(StorageError)
        -> RefreshTokenRecord

    /// Exchanges a presented token for its successor, in one transaction that locks the presented row.
    ///
    /// An unknown, revoked or expired token, or one of a disabled account, changes nothing. A token that was already
    /// used (rotated) is a replay: the whole family is revoked and `.reused` returned. Otherwise the token is marked
    /// used and a successor with `newHash` is issued in the same family, expiring at `newExpiresAt` but never after
    /// the family's absolute expiry.
    ///
    /// Of concurrent rotations of one token exactly one returns `.rotated`. The next one finds a used token, so it
    /// reports `.reused` and revokes the family (the winner's successor included); the rest find it `.revoked`.
    /// A client that retries a refresh it already sent is therefore logged out, by design: it cannot be told
    /// apart from a thief replaying the token.
    func rotate(presentedHash: Data, newHash: Data, newExpiresAt: Date) async throws(StorageError) -> RefreshTokenRotation

    /// The token with this hash, or `nil`.
    func find(hash: Data) async throws(StorageError) -> RefreshTokenRecord?

    /// Revokes one token (logout of a client that presents its current token).
    /// - Returns: `true` when a token that was not yet revoked matched.
    @discardableResult
    func revoke(hash: Data) async throws(StorageError) -> Bool

    /// Revokes every token of a family that is not yet revoked.
    /// - Returns: How many tokens were revoked.
    @discardableResult
    func revokeFamily(_ family: UUID) async throws(StorageError) -> Int

    /// Revokes every not yet revoked token of the family the token with this hash belongs to (logout of a session).
    ///
    /// Unlike `revoke(hash:)`, this also ends the session when the presented token is stale (already rotated),
    /// whose live successor would otherwise stay usable.
    /// - Returns: How many tokens were revoked (0 for an unknown hash).
    @discardableResult
    func revokeFamily(containingHash hash: Data) async throws(StorageError) -> Int

    /// Revokes every token of a user that is not yet revoked (logout everywhere).
    /// - Returns: How many tokens were revoked.
    @discardableResult
    func revokeAll(userID: UUID) async throws(StorageError) -> Int

    /// Deletes every token whose expiry has passed.
    /// - Returns: How many rows were deleted.
    @discardableResult
    func deleteExpired() async throws(StorageError) -> Int
}

extension RefreshTokenRepository {
    /// Records the first token of a new login (a new family).
    public func issue(userID: UUID, hash: Data, expiresAt: Date, absoluteExpiresAt: Date) async throws(StorageError) -> RefreshTokenRecord {
        try await issue(userID: userID, hash: hash, family: nil, expiresAt: expiresAt, absoluteExpiresAt: absoluteExpiresAt)
    }
}
