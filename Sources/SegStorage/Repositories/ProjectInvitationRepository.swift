import Foundation
import Logging
import PostgresNIO

/// Pending invitations: addresses without an account that an owner added to a project.
///
/// An invitation holds a role (`editor` or `viewer`) until an account with its address exists; then `activate` turns
/// it into a membership and deletes it. Addresses are compared as `users.email` is, by `lower(email)`. Every method
/// throws `StorageError` only.
///
/// ## Usage
/// ```swift
/// let (invitation, _) = try await ProjectInvitationRepository.invite(
///     projectID: project, email: "Bob@Lab.org", role: .viewer, invitedBy: owner, on: database)
/// let registration = try await UserRepository.register(NewUser(email: "bob@lab.org", passwordHash: hash), on: database)
/// // registration.activated == [invitation]: bob is a viewer of `project`, and the invitation is gone
/// ```
///
/// Writing an invitation and activating an address's invitations take a transaction-scoped advisory lock on the
/// address (`lockAddress`). So an invitation written while its address signs up is either seen by the sign-up's
/// activation or sees the new account (`ProjectMemberRepository.addOrInvite` then adds a member): none is left
/// pending for an address that has an account.
///
/// On PostgreSQL (`project_invitations`, and `project_members` when one is activated).
public enum ProjectInvitationRepository {

    /// Invites `email` to the project with `role`, or changes the role (and the spelling of the address) of its
    /// invitation. It does not look for an account: `ProjectMemberRepository.addOrInvite` decides between this and a
    /// membership.
    /// - Returns: The invitation, and its role before (`nil` when it is new).
    /// - Throws: `.invalidArgument` for `.owner`; `.notFound(entity: "project", id:)`, `.notFound(entity: "user", id:)`
    ///   for an unknown inviter; `.constraintViolation` for an empty address or one over 254 bytes.
    public static func invite(
        projectID: UUID, email: String, role: ProjectRole, invitedBy: UUID?, on database: Database
    ) async throws(StorageError) -> (invitation: ProjectInvitationRecord, previousRole: ProjectRole?) {
        try await database.transaction { transaction in
            try await lockAddress(email, on: transaction)
            return try await upsert(projectID: projectID, email: email, role: role, invitedBy: invitedBy, on: transaction)
        }
    }

    /// A keyset page of the project's invitations by `(created_at, id)`, oldest first.
    public static func list(projectID: UUID, page: PageRequest, on database: Database) async throws(StorageError) -> Page<ProjectInvitationRecord> {
        let bound = page.ascendingBound
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM project_invitations
                WHERE project_id = \(projectID) AND (created_at, id) > (\(bound.timestamp), \(bound.id))
                ORDER BY created_at, id
                LIMIT \(page.fetchLimit)
                """
            )
            return Page(positioned: try await Self.decode(rows), request: page)
        }
    }

    /// Deletes the project's invitation `id`.
    /// - Returns: The invitation as it was (for the audit entry).
    /// - Throws: `.notFound(entity: "invitation", id:)` when the project has no such invitation.
    @discardableResult
    public static func revoke(id: UUID, projectID: UUID, on database: Database) async throws(StorageError) -> ProjectInvitationRecord {
        try await withStorageErrors {
            let rows = try await database.query(
                "DELETE FROM project_invitations WHERE id = \(id) AND project_id = \(projectID) RETURNING \(unescaped: Self.columns)"
            )
            guard let revoked = try await Self.decode(rows).first?.item else {
                throw StorageError.notFound(entity: "invitation", id: id.uuidString)
            }
            database.logger.debug("invitation revoked", metadata: ["project.id": "\(projectID)", "invitation.id": "\(id)"])
            return revoked
        }
    }

    /// Turns every invitation of `email` (in any letter case) into a membership of `userID` with the invited role and
    /// deletes them. Idempotent: a second call finds nothing.
    ///
    /// Runs in one transaction under the address's lock, joining the caller's: `UserRepository.register` calls it in
    /// the transaction that creates the account, and a login calls it again for accounts that an older release made.
    /// A membership the user already has is never lowered (a viewer invited as editor becomes editor; an owner stays
    /// owner).
    /// - Returns: The invitations activated, oldest first.
    /// - Throws: `.notFound(entity: "user", id:)` for an unknown user.
    @discardableResult
    public static func activate(forUserID userID: UUID, email: String, on database: Database) async throws(StorageError) -> [ProjectInvitationRecord]
    {
        do throws(StorageError) {
            return try await database.transaction { transaction in
                try await lockAddress(email, on: transaction)
                // One invitation per project and address (project_invitations_project_email_key), so no membership row is
                // written twice by the INSERT.
                let rows = try await transaction.query(
                    """
                    WITH taken AS (
                        DELETE FROM project_invitations WHERE lower(email) = lower(\(email))
                        RETURNING \(unescaped: Self.columns)
                    ), joined AS (
                        INSERT INTO project_members (project_id, user_id, role) SELECT project_id, \(userID), role FROM taken
                        ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role
                            WHERE project_members.role = 'viewer' AND excluded.role = 'editor'
                    )
                    SELECT \(unescaped: Self.columns) FROM taken ORDER BY created_at, id
                    """
                )
                let activated = try await Self.decode(rows).map(\.item)
                if !activated.isEmpty {
                    transaction.logger.info(
                        "invitations activated", metadata: ["user.id": "\(userID)", "invitation.count": "\(activated.count)"])
                }
                return activated
            }
        } catch .invalidReference(constraint: "project_members_user_id_fkey") {
            throw .notFound(entity: "user", id: userID.uuidString)
        }
    }

    // MARK: - Shared with addOrInvite

    /// The lock namespace of `lockAddress` (`"SegI"` as 4 ASCII bytes), the first key of the two-key form, which
    /// PostgreSQL keeps apart from the single-key locks (`Migrator.advisoryLockKey`).
    static let addressLockNamespace: Int32 = 0x5365_6749

    /// Takes the transaction-scoped advisory lock of `email` (by `lower(email)`), held until the transaction ends.
    /// Distinct addresses may share a lock (a 32-bit hash): they then wait for each other, nothing more.
    static func lockAddress(_ email: String, on transaction: Database) async throws {
        try await transaction.query(
            "SELECT pg_advisory_xact_lock(\(Self.addressLockNamespace), hashtext(lower(\(email))))"
        ).drain()
    }

    /// The upsert of `invite`, in the caller's transaction that holds the address's lock.
    static func upsert(
        projectID: UUID, email: String, role: ProjectRole, invitedBy: UUID?, on database: Database
    ) async throws(StorageError) -> (invitation: ProjectInvitationRecord, previousRole: ProjectRole?) {
        guard role != .owner else { throw .invalidArgument("an invitation grants editor or viewer, never owner") }
        do throws(StorageError) {
            return try await withStorageErrors {
                // `previous` reads the snapshot from before the INSERT: the row's role before an update.
                let rows = try await database.query(
                    """
                    WITH previous AS (
                        SELECT role FROM project_invitations WHERE project_id = \(projectID) AND lower(email) = lower(\(email))
                    ), upserted AS (
                        INSERT INTO project_invitations (project_id, email, role, invited_by)
                        VALUES (\(projectID), \(email), \(role.rawValue), \(invitedBy))
                        ON CONFLICT (project_id, lower(email)) DO UPDATE SET role = excluded.role, email = excluded.email
                        RETURNING \(unescaped: Self.columns)
                    )
                    SELECT \(unescaped: Self.columns), (SELECT role FROM previous) FROM upserted
                    """
                )
                var result: (ProjectInvitationRecord, ProjectRole?)?
                for try await (id, project, email, role, invitedBy, createdAt, previous) in rows.decode(
                    (UUID, UUID, String, String, UUID?, Timestamp, String?).self
                ) {
                    let invitation = ProjectInvitationRecord(
                        id: id, projectID: project, email: email, role: try storedValue(role, as: ProjectRole.self), invitedBy: invitedBy,
                        createdAt: createdAt.date)
                    result = (invitation, try previous.map { try storedValue($0, as: ProjectRole.self) })
                }
                guard let result else { throw StorageError.database(sqlState: nil) }
                database.logger.debug("invitation written", metadata: ["project.id": "\(projectID)", "invitation.id": "\(result.0.id)"])
                return result
            }
        } catch .invalidReference(constraint: "project_invitations_project_id_fkey") {
            throw .notFound(entity: "project", id: projectID.uuidString)
        } catch .invalidReference(constraint: "project_invitations_invited_by_fkey") {
            throw .notFound(entity: "user", id: invitedBy?.uuidString ?? "none")
        }
    }

    // MARK: - Rows

    /// The columns `decode(_:)` reads, in its order.
    static let columns = "id, project_id, email, role, invited_by, created_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [Positioned<ProjectInvitationRecord>] {
        var invitations: [Positioned<ProjectInvitationRecord>] = []
        for try await (id, projectID, email, role, invitedBy, createdAt) in rows.decode((UUID, UUID, String, String, UUID?, Timestamp).self) {
            let invitation = ProjectInvitationRecord(
                id: id, projectID: projectID, email: email, role: try storedValue(role, as: ProjectRole.self), invitedBy: invitedBy,
                createdAt: createdAt.date)
            invitations.append(Positioned(item: invitation, position: PageCursor(timestamp: createdAt, id: id)))
        }
        return invitations
    }
}
