/// A user's role in one project, from most to least privileged.
public enum ProjectRole: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// Owns the project: may delete it, share it and manage members. Exactly one per project.
    case owner
    /// May upload, segment and edit.
    case editor
    /// May read and export.
    case viewer

    /// The role's privilege: owner 2, editor 1, viewer 0.
    public var rank: Int {
        switch self {
        case .owner: 2
        case .editor: 1
        case .viewer: 0
        }
    }

    /// Orders roles by privilege (`viewer < editor < owner`).
    public static func < (lhs: ProjectRole, rhs: ProjectRole) -> Bool { lhs.rank < rhs.rank }
}
