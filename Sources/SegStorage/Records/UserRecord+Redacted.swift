/// Accounts print without their password hash or email, so interpolating one into a log line or an error leaks neither.
extension UserRecord: CustomStringConvertible, CustomDebugStringConvertible {
    /// `UserRecord(id: …, role: …, disabled: …, mustChangePassword: …)`: no email, no password hash.
    public var description: String {
        "UserRecord(id: \(id), role: \(role.rawValue), disabled: \(isDisabled), mustChangePassword: \(mustChangePassword))"
    }

    /// The same as `description`.
    public var debugDescription: String { description }
}

extension NewUser: CustomStringConvertible, CustomDebugStringConvertible {
    /// `NewUser(role: …)`: no email, no password hash.
    public var description: String { "NewUser(role: \(role.rawValue), mustChangePassword: \(mustChangePassword))" }

    /// The same as `description`.
    public var debugDescription: String { description }
}
