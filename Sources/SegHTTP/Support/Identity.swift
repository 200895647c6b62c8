import Foundation
import SegStorage

/// The authenticated caller of a request.
public struct Identity: Sendable, Equatable {
    /// The user's id.
    public var userID: UUID
    /// The account role (admins may administer, but see only projects they are members of).
    public var role: AccountRole
    /// The user's email, for audit entries.
    public var email: String
}
