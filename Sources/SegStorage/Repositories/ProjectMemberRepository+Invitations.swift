import Foundation
import PostgresNIO

extension ProjectMemberRepository {
    /// A keyset page of the project's members and, with `includingInvitations`, its pending invitations, merged in
    /// one order by `(created_at, id)` (a member's id is its user id): the member list, which shows the owner who
    /// is still to sign up.
    public static func list(
        projectID: UUID, includingInvitations: Bool, page: PageRequest, on database: Database
    ) async throws(StorageError) -> Page<ProjectMemberEntry> {
        let bound = page.ascendingBound
        return try await withStorageErrors {
            // Both branches are served by their (project_id, created_at, …) index; the bound is pushed into each.
            let rows = try await database.query(
                """
                SELECT e.invitation, e.id, e.email, e.name, e.role, e.invited_by, e.created_at FROM (
                    SELECT false AS invitation, m.user_id AS id, u.email, u.name, m.role, NULL::uuid AS invited_by, m.created_at
                    FROM project_members m JOIN users u ON u.id = m.user_id
                    WHERE m.project_id = \(projectID)
                    UNION ALL
                    SELECT true, i.id, i.email, '', i.role, i.invited_by, i.created_at
                    FROM project_invitations i
                    WHERE i.project_id = \(projectID) AND \(includingInvitations)
                ) e
                WHERE (e.created_at, e.id) > (\(bound.timestamp), \(bound.id))
                ORDER BY e.created_at, e.id
                LIMIT \(page.fetchLimit)
                """
            )
            var entries: [Positioned<ProjectMemberEntry>] = []
            for try await (invitation, id, email, name, role, invitedBy, createdAt) in rows.decode(
                (Bool, UUID, String, String, String, UUID?, Timestamp).self
            ) {
                let role = try storedValue(role, as: ProjectRole.self)
                let entry: ProjectMemberEntry =
                    invitation
                    ? .invitation(
                        ProjectInvitationRecord(
                            id: id, projectID: projectID, email: email, role: role, invitedBy: invitedBy, createdAt: createdAt.date))
                    : .member(ProjectMemberRecord(projectID: projectID, userID: id, email: email, name: name, role: role, createdAt: createdAt.date))
                entries.append(Positioned(item: entry, position: PageCursor(timestamp: createdAt, id: id)))
            }
            return Page(positioned: entries, request: page)
        }
    }
}
