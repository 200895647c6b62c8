/// Which accounts a list or count includes.
public struct UserFilter: Sendable, Hashable {
    /// Only accounts with this role; `nil` for every role.
    public var role: AccountRole?
    /// `true` for disabled accounts only, `false` for enabled ones only, `nil` for both.
    public var disabled: Bool?

    /// A filter; the defaults match every account.
    public init(role: AccountRole? = nil, disabled: Bool? = nil) {
        self.role = role
        self.disabled = disabled
    }

    /// Every account.
    public static let all = UserFilter()
}
