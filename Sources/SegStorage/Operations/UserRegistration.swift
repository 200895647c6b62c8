import Foundation

extension UserRepository {
    /// Creates an account and activates the pending invitations of its address, in one transaction (joining the
    /// caller's): the account that `POST /api/v1/auth/register` and `segctl users create` make. The new account is a
    /// member of every project its address was invited to, with the invited role, from its first request on.
    /// - Throws: As `create(_:on:)`: `.conflict(constraint: "users_email_lower_key")` when the address is taken in any
    ///   letter case; nothing is written then.
    public static func register(_ user: NewUser, on database: Database) async throws(StorageError) -> Registration {
        try await database.transaction { transaction in
            let created = try await create(user, on: transaction)
            let activated = try await ProjectInvitationRepository.activate(forUserID: created.id, email: created.email, on: transaction)
            return Registration(user: created, activated: activated)
        }
    }
}
