/// What an account may do across SegHub (project roles are separate, see `ProjectRole`).
public enum AccountRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// An ordinary account: sees its own projects and those shared with it.
    case user
    /// An administrator: manages accounts and sees every project.
    case admin
}
