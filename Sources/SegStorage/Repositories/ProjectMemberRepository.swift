import Foundation
import Logging
import PostgresNIO

/// The members of a project and their roles.
///
/// The owner is a member with role `.owner`; ownership moves only through `ProjectRepository.transferOwnership`,
/// so these methods never make, change or remove an owner. Every method throws `StorageError` only.
///
/// On PostgreSQL (`project_members` joined with `users`).
public enum ProjectMemberRepository {

    /// Upserts the membership; the owner's row is never touched (see `ProjectMemberRepository.setRole`).
    /// - Throws: `.invalidArgument` for `.owner` or when `userID` owns the project; `.notFound(entity: "project", id:)`
    ///   or `.notFound(entity: "user", id:)` when either does not exist.
    public static func setRole(
        projectID: UUID, userID: UUID, role: ProjectRole, on database: Database
    ) async throws(StorageError) -> ProjectMemberRecord {
        guard role != .owner else {
            throw .invalidArgument("a member's role must be editor or viewer; ownership moves by transferring it")
        }
        do throws(StorageError) {
            return try await withStorageErrors {
                // The owner's row is left alone (the WHERE of DO UPDATE), which returns no row.
                let rows = try await database.query(
                    """
                    WITH m AS (
                        INSERT INTO project_members (project_id, user_id, role) VALUES (\(projectID), \(userID), \(role.rawValue))
                        ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role WHERE project_members.role <> 'owner'
                        RETURNING project_id, user_id, role, created_at
                    )
                    SELECT \(unescaped: Self.columns) FROM m JOIN users u ON u.id = m.user_id
                    """
                )
                guard let member = try await Self.decode(rows).first?.item else {
                    throw StorageError.invalidArgument("the owner's role cannot be changed; transfer the ownership instead")
                }
                database.logger.debug("project member role set", metadata: ["project.id": "\(projectID)", "user.id": "\(userID)"])
                return member
            }
        } catch .invalidReference(constraint: "project_members_project_id_fkey") {
            throw .notFound(entity: "project", id: projectID.uuidString)
        } catch .invalidReference(constraint: "project_members_user_id_fkey") {
            throw .notFound(entity: "user", id: userID.uuidString)
        }
    }

    /// Deletes the membership after locking it, refusing the owner's (see `ProjectMemberRepository.remove`).
    /// - Throws: `.invalidArgument` for the owner; `.notFound(entity: "project member", id:)` when the user is not a member.
    public static func remove(projectID: UUID, userID: UUID, on database: Database) async throws(StorageError) {
        try await database.transaction { database in
            let rows = try await database.query(
                "SELECT role FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID) FOR UPDATE"
            )
            var current: String?
            for try await role in rows.decode(String.self) { current = role }
            guard let current else { throw StorageError.notFound(entity: "project member", id: userID.uuidString) }
            guard current != ProjectRole.owner.rawValue else {
                throw StorageError.invalidArgument("the owner cannot be removed from a project; transfer the ownership first")
            }
            try await database.query(
                "DELETE FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID)"
            ).drain()
            database.logger.debug("project member removed", metadata: ["project.id": "\(projectID)", "user.id": "\(userID)"])
        }

    }

    /// How many members the project has (its owner included).
    public static func count(projectID: UUID, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query("SELECT count(*)::int8 FROM project_members WHERE project_id = \(projectID)")
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// A keyset page of members joined with `users`, by `(created_at, user_id)`.
    public static func list(projectID: UUID, page: PageRequest, on database: Database) async throws(StorageError) -> Page<ProjectMemberRecord> {
        let bound = page.ascendingBound
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM project_members m JOIN users u ON u.id = m.user_id
                WHERE m.project_id = \(projectID) AND (m.created_at, m.user_id) > (\(bound.timestamp), \(bound.id))
                ORDER BY m.created_at, m.user_id
                LIMIT \(page.fetchLimit)
                """
            )
            return Page(positioned: try await Self.decode(rows), request: page)
        }
    }

    /// The member's role, or `nil`.
    public static func role(projectID: UUID, userID: UUID, on database: Database) async throws(StorageError) -> ProjectRole? {
        try await withStorageErrors {
            let rows = try await database.query(
                "SELECT role FROM project_members WHERE project_id = \(projectID) AND user_id = \(userID)"
            )
            // Read to the end (one row at most) so the connection goes back to the pool clean.
            guard let text = try await rows.collect().first?.decode(String.self) else { return nil }
            guard let role = ProjectRole(rawValue: text) else { throw StorageError.database(sqlState: nil) }
            return role
        }
    }

    // MARK: - Rows

    /// The columns `decode(_:)` reads (`m` a membership row, `u` its user).
    static let columns = "m.project_id, m.user_id, u.email, u.name, m.role, m.created_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [Positioned<ProjectMemberRecord>] {
        var members: [Positioned<ProjectMemberRecord>] = []
        for try await (projectID, userID, email, name, role, createdAt) in rows.decode((UUID, UUID, String, String, String, Timestamp).self) {
            guard let role = ProjectRole(rawValue: role) else { throw StorageError.database(sqlState: nil) }
            let member = ProjectMemberRecord(projectID: projectID, userID: userID, email: email, name: name, role: role, createdAt: createdAt.date)
            members.append(Positioned(item: member, position: PageCursor(timestamp: createdAt, id: userID)))
        }
        return members
    }
}
