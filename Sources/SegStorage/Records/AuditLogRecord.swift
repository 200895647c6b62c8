import Foundation

/// One entry of the audit log: who did what to which target.
public struct AuditLogRecord: Sendable, Equatable, Identifiable {
    /// The entry's sequence number.
    public var id: Int64
    /// Who acted; `nil` for the system or once the account is deleted.
    public var actorID: UUID?
    /// What was done, a dotted name such as `project.delete`.
    public var action: String
    /// The kind of thing acted on (`project`, `image`, `user`, …).
    public var targetType: String?
    /// The thing acted on.
    public var targetID: UUID?
    /// More about the action, a JSON object (never secrets).
    public var details: [UInt8]
    /// When it was recorded (the recording transaction's start).
    public var createdAt: Date

    /// A record with every field given.
    public init(id: Int64, actorID: UUID?, action: String, targetType: String?, targetID: UUID?, details: [UInt8], createdAt: Date) {
        self.id = id
        self.actorID = actorID
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
        self.details = details
        self.createdAt = createdAt
    }
}

/// Which audit entries to list; every field given must match (`nil` matches anything).
public struct AuditLogFilter: Sendable, Hashable {
    /// Only entries by this actor.
    public var actorID: UUID?
    /// Only entries with this action.
    public var action: String?
    /// Only entries on targets of this type.
    public var targetType: String?
    /// Only entries on this target.
    public var targetID: UUID?

    /// A filter; with no arguments it matches every entry.
    public init(actorID: UUID? = nil, action: String? = nil, targetType: String? = nil, targetID: UUID? = nil) {
        self.actorID = actorID
        self.action = action
        self.targetType = targetType
        self.targetID = targetID
    }

    /// Matches every entry.
    public static let all = AuditLogFilter()
}
