import Foundation
import Logging
import PostgresNIO

/// What adding an address to a project did (`ProjectMemberRepository.addOrInvite`).
public enum MemberAddition: Sendable, Equatable {
    /// An account with the address verified has it: it is a member with the role now; `previousRole` is `nil` when it
    /// was not one.
    case member(ProjectMemberRecord, previousRole: ProjectRole?)
    /// No account has the address, or its account has not verified it yet: its pending invitation holds the role until
    /// an account proves the address; `previousRole` is `nil` when it is new.
    case invited(ProjectInvitationRecord, previousRole: ProjectRole?)
    /// The address is the owner's, whose role only a transfer of ownership changes. Nothing was written.
    case owner
    /// The project already has `limit` members and pending invitations, and the address is neither. Nothing was written.
    case limitReached
}

extension ProjectMemberRepository {
    /// Makes the account with `email` (in any letter case) a member with `role`, or, when no account has proved that
    /// address (`users.email_verified_at`), invites it: the one definition behind `POST /api/v1/projects/{id}/members`.
    /// An unverified account is invited rather than added (unless it is a member already, by a share link), so that
    /// someone who signs up with another person's address does not receive what is shared with that person.
    ///
    /// Both outcomes take the same path through the database, so that neither is measurably faster: one transaction of
    /// three statements (the address's lock, one lookup, one write). Adding an account also deletes an invitation of
    /// its address to this project, should one be left from before the account existed.
    /// - Parameters:
    ///   - email: The address as typed (trimmed by the caller); the invitation keeps this spelling.
    ///   - role: `editor` or `viewer`.
    ///   - projectID: The project.
    ///   - invitedBy: The owner who adds (recorded on an invitation).
    ///   - limit: The most members and pending invitations the project may have; a new one past it is `.limitReached`
    ///     (role changes of existing ones are not refused). Concurrent additions may pass it by a few.
    ///   - database: Where to run; a transaction of the caller's is joined.
    /// - Throws: `.invalidArgument` for `.owner`; `.notFound(entity: "project", id:)`.
    public static func addOrInvite(
        email: String, role: ProjectRole, projectID: UUID, invitedBy: UUID, limit: Int, on database: Database
    ) async throws(StorageError) -> MemberAddition {
        guard role != .owner else {
            throw .invalidArgument("a member's role must be editor or viewer; ownership moves by transferring it")
        }
        do throws(StorageError) {
            return try await database.transaction { transaction in
                try await ProjectInvitationRepository.lockAddress(email, on: transaction)
                let found = try await lookUp(email: email, projectID: projectID, on: transaction)
                guard let userID = found.userID else {
                    guard found.invitationRole != nil || found.entries < limit else { return .limitReached }
                    let (invitation, previous) = try await ProjectInvitationRepository.upsert(
                        projectID: projectID, email: email, role: role, invitedBy: invitedBy, on: transaction)
                    return .invited(invitation, previousRole: previous)
                }
                if found.memberRole == .owner { return .owner }
                guard found.memberRole != nil || found.entries < limit else { return .limitReached }
                guard
                    let member = try await setRoleClearingInvitation(userID: userID, email: email, role: role, projectID: projectID, on: transaction)
                else {
                    // The user became the owner since the lookup (a transfer of ownership).
                    return .owner
                }
                return .member(member, previousRole: found.memberRole)
            }
        } catch .invalidReference(constraint: "project_members_project_id_fkey") {
            throw .notFound(entity: "project", id: projectID.uuidString)
        }
    }

    /// The account that verified the address, its role in the project, the role of the address's invitation there, and how many
    /// members and invitations the project has: one row whether or not the account exists.
    private static func lookUp(
        email: String, projectID: UUID, on database: Database
    ) async throws -> (userID: UUID?, memberRole: ProjectRole?, invitationRole: ProjectRole?, entries: Int) {
        let rows = try await database.query(
            """
            SELECT u.id,
                (SELECT m.role FROM project_members m WHERE m.project_id = \(projectID) AND m.user_id = u.id),
                (SELECT i.role FROM project_invitations i WHERE i.project_id = \(projectID) AND lower(i.email) = lower(\(email))),
                (SELECT count(*) FROM project_members WHERE project_id = \(projectID))
                    + (SELECT count(*) FROM project_invitations WHERE project_id = \(projectID))
            FROM (VALUES (1)) AS one (x)
            LEFT JOIN users u ON lower(u.email) = lower(\(email)) AND (
                u.email_verified_at IS NOT NULL
                -- An unverified member already (a share link): its role changes as any member's does.
                OR EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = \(projectID) AND m.user_id = u.id))
            """
        )
        var found: (UUID?, ProjectRole?, ProjectRole?, Int)?
        for try await (userID, memberRole, invitationRole, entries) in rows.decode((UUID?, String?, String?, Int64).self) {
            found = (
                userID, try memberRole.map { try storedValue($0, as: ProjectRole.self) },
                try invitationRole.map { try storedValue($0, as: ProjectRole.self) }, Int(entries)
            )
        }
        guard let found else { throw StorageError.database(sqlState: nil) }
        return found
    }

    /// Upserts the membership (never the owner's row: then `nil`) and deletes the address's invitation to the project,
    /// in one statement.
    private static func setRoleClearingInvitation(
        userID: UUID, email: String, role: ProjectRole, projectID: UUID, on database: Database
    ) async throws -> ProjectMemberRecord? {
        let rows = try await database.query(
            """
            WITH stale AS (
                DELETE FROM project_invitations WHERE project_id = \(projectID) AND lower(email) = lower(\(email))
            ), m AS (
                INSERT INTO project_members (project_id, user_id, role) VALUES (\(projectID), \(userID), \(role.rawValue))
                ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role WHERE project_members.role <> 'owner'
                RETURNING project_id, user_id, role, created_at
            )
            SELECT \(unescaped: Self.columns) FROM m JOIN users u ON u.id = m.user_id
            """
        )
        guard let member = try await Self.decode(rows).first?.item else { return nil }
        database.logger.debug("project member role set", metadata: ["project.id": "\(projectID)", "user.id": "\(userID)"])
        return member
    }
}
