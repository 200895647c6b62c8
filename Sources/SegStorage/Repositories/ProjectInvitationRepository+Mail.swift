import Foundation
import PostgresNIO

extension ProjectInvitationRepository {
    /// Gives invitation `id` the token of a new invitation mail (its SHA-256, 32 bytes, else `.invalidArgument`), valid
    /// `seconds`, unless one was mailed for it in the last `throttle` seconds: inviting one address again and again
    /// sends at most one message per `throttle`. A new token replaces the old one, whose link stops working.
    /// - Returns: Whether the token was stored (and a message is to be sent).
    public static func attachMailToken(
        id: UUID, hash: Data, validFor seconds: Double, throttle: Double, on database: Database
    ) async throws(StorageError) -> Bool {
        try RefreshTokenRepository.checkHash(hash)
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                UPDATE project_invitations
                SET token_hash = \(hash), token_expires_at = now() + make_interval(secs => \(seconds)), mailed_at = now()
                WHERE id = \(id) AND (mailed_at IS NULL OR mailed_at <= now() - make_interval(secs => \(throttle)))
                RETURNING id
                """
            ).collect()
            return !rows.isEmpty
        }
    }

    /// The pending invitation whose mail carried the token with SHA-256 `hash`, while that token is valid; `nil` for an
    /// unknown, replaced or expired token and for a revoked or activated invitation (one answer for all).
    public static func find(tokenHash hash: Data, on database: Database) async throws(StorageError) -> MailedInvitation? {
        guard hash.count == 32 else { return nil }
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT i.id, i.project_id, i.email, i.role, i.invited_by, i.created_at, p.name, u.name, u.email
                FROM project_invitations i
                JOIN projects p ON p.id = i.project_id
                LEFT JOIN users u ON u.id = i.invited_by
                WHERE i.token_hash = \(hash) AND i.token_expires_at > now()
                """
            )
            for try await (id, projectID, email, role, invitedBy, createdAt, projectName, inviterName, inviterEmail) in rows.decode(
                (UUID, UUID, String, String, UUID?, Timestamp, String, String?, String?).self
            ) {
                let invitation = ProjectInvitationRecord(
                    id: id, projectID: projectID, email: email, role: try storedValue(role, as: ProjectRole.self), invitedBy: invitedBy,
                    createdAt: createdAt.date)
                return MailedInvitation(invitation: invitation, projectName: projectName, inviterName: inviterName, inviterEmail: inviterEmail)
            }
            return nil
        }
    }
}
