import Foundation

extension UserRepository {
    /// Creates an account and, when its address counts as verified (`NewUser.emailVerified`), activates the pending
    /// invitations of that address, in one transaction (joining the caller's): the account that
    /// `POST /api/v1/auth/register` and `segctl users create` make. An unverified account joins its invitations when
    /// it proves its address (``markEmailVerified(id:on:)``), so that signing up with someone else's address first
    /// gains nothing.
    /// - Throws: As `create(_:on:)`: `.conflict(constraint: "users_email_lower_key")` when the address is taken in any
    ///   letter case; nothing is written then.
    public static func register(_ user: NewUser, on database: Database) async throws(StorageError) -> Registration {
        try await database.transaction { transaction in
            let created = try await create(user, on: transaction)
            guard user.emailVerified else { return Registration(user: created, activated: []) }
            let activated = try await ProjectInvitationRepository.activate(forUserID: created.id, email: created.email, on: transaction)
            return Registration(user: created, activated: activated)
        }
    }

    /// Records that the account proved its address (now, unless it had already) and activates the pending invitations of
    /// that address, in one transaction (joining the caller's). Idempotent: a second call changes nothing and activates
    /// nothing new.
    /// - Returns: The account as it is now and the invitations that became memberships.
    /// - Throws: `.notFound(entity: "user", id:)`.
    public static func markEmailVerified(id: UUID, on database: Database) async throws(StorageError) -> Registration {
        try await database.transaction { transaction in
            let rows = try await transaction.query(
                """
                UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = \(id)
                RETURNING \(unescaped: Self.columns)
                """)
            guard let user = try await Self.decode(rows).first?.item else {
                throw StorageError.notFound(entity: "user", id: id.uuidString)
            }
            let activated = try await ProjectInvitationRepository.activate(forUserID: user.id, email: user.email, on: transaction)
            return Registration(user: user, activated: activated)
        }
    }
}
