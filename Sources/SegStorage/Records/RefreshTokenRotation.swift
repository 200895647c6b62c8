import Foundation

/// The outcome of presenting a refresh token for rotation.
///
/// These are answers, not failures: the repository returns them and throws only `StorageError`s.
public enum RefreshTokenRotation: Sendable, Equatable {
    /// The token was valid: it is now used and `newToken` (same family) replaces it.
    case rotated(userID: UUID, newToken: RefreshTokenRecord)
    /// The token had already been rotated: someone replayed it, so its whole family is now revoked.
    case reused(userID: UUID, family: UUID)
    /// The token (or its family's absolute lifetime) has expired.
    case expired(userID: UUID)
    /// The token was revoked (logout, password change, an earlier reuse), or its account is disabled.
    case revoked(userID: UUID)
    /// No such token.
    case unknown
}
