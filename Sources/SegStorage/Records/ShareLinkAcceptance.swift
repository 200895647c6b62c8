import Foundation

/// The outcome of accepting a share link.
///
/// These are answers, not failures: the repository returns them and throws only `StorageError`s.
public enum ShareLinkAcceptance: Sendable, Equatable {
    /// The link is now used and the user is a member of `projectID` with `role` (never lower than before).
    case accepted(projectID: UUID, role: ProjectRole)
    /// The link was accepted before (links are single use).
    case used
    /// The link has expired.
    case expired
    /// No such link (or it was revoked).
    case unknown
}
