import Foundation

/// A row of `refresh_tokens`, without its hash.
///
/// Tokens of one login form a family: each rotation marks the presented token used and issues its successor in the
/// same family, up to the family's absolute expiry.
public struct RefreshTokenRecord: Sendable, Equatable, Identifiable {
    /// The token's id (not the token: only its SHA-256 is stored).
    public var id: UUID
    /// The login this token belongs to.
    public var family: UUID
    /// The token's user.
    public var userID: UUID
    /// After this instant the token is expired.
    public var expiresAt: Date
    /// No token of the family lives past this instant, however often it is rotated.
    public var absoluteExpiresAt: Date
    /// When it was exchanged for its successor; a used token presented again is a reuse.
    public var usedAt: Date?
    /// When it was revoked (logout, password change, disabling, reuse of its family).
    public var revokedAt: Date?
    /// The successor issued when this token was rotated.
    public var replacedBy: UUID?
    /// When it was issued.
    public var createdAt: Date

    /// A record with every column given.
    public init(
        id: UUID,
        family: UUID,
        userID: UUID,
        expiresAt: Date,
        absoluteExpiresAt: Date,
        usedAt: Date?,
        revokedAt: Date?,
        replacedBy: UUID?,
        createdAt: Date
    ) {
        self.id = id
        self.family = family
        self.userID = userID
        self.expiresAt = expiresAt
        self.absoluteExpiresAt = absoluteExpiresAt
        self.usedAt = usedAt
        self.revokedAt = revokedAt
        self.replacedBy = replacedBy
        self.createdAt = createdAt
    }
}
