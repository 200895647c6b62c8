import Foundation

/// A row of `share_links`, without its token hash.
public struct ShareLinkRecord: Sendable, Equatable, Identifiable {
    /// The link's id (not its token: only the token's SHA-256 is stored).
    public var id: UUID
    /// The project it shares.
    public var projectID: UUID
    /// The role it grants (`editor` or `viewer`).
    public var role: ProjectRole
    /// After this instant it can no longer be accepted.
    public var expiresAt: Date
    /// When it was accepted (a link is single use).
    public var usedAt: Date?
    /// Who accepted it (`nil` when unused or when that account was deleted).
    public var usedBy: UUID?
    /// Who created it (`nil` when that account was deleted).
    public var createdBy: UUID?
    /// When it was created.
    public var createdAt: Date
    /// Whether it can still be accepted, as the database's clock saw it when the row was read.
    public var state: ShareLinkState

    /// A record with every column given.
    public init(
        id: UUID,
        projectID: UUID,
        role: ProjectRole,
        expiresAt: Date,
        usedAt: Date?,
        usedBy: UUID?,
        createdBy: UUID?,
        createdAt: Date,
        state: ShareLinkState
    ) {
        self.id = id
        self.projectID = projectID
        self.role = role
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.usedBy = usedBy
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.state = state
    }
}
