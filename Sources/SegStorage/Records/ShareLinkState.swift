/// Whether a share link can still be accepted.
public enum ShareLinkState: String, Sendable, Hashable, Codable {
    /// Unused and not expired.
    case active
    /// Already accepted.
    case used
    /// Unused, but past its expiry.
    case expired
}
