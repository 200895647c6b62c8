import Foundation
import Logging
import PostgresNIO

/// Single-use links that make whoever accepts them a member of a project.
///
/// Only the SHA-256 of a link's token is stored; the caller hashes the token it hands out and the one presented
/// (32 bytes, else `.invalidArgument`). Expiry is judged by the database's clock. Every method throws `StorageError` only.
///
/// ## Usage
/// ```swift
/// _ = try await ShareLinkRepository.create(
///     projectID: id, tokenHash: hash, role: .viewer, expiresAt: .now + 86_400, createdBy: me, on: database)
/// if case .accepted(let projectID, let role) = try await ShareLinkRepository.accept(tokenHash: hash, userID: friend, on: database) { … }
/// ```
///
/// On PostgreSQL (`share_links`, and `project_members` when a link is accepted).
public enum ShareLinkRepository {
    /// Stores a new link.
    /// - Throws: `.invalidArgument` for `.owner` or a hash that is not 32 bytes; `.notFound(entity: "project", id:)`,
    ///   `.notFound(entity: "user", id:)` for an unknown creator.
    public static func create(
        projectID: UUID, tokenHash: Data, role: ProjectRole, expiresAt: Date, createdBy: UUID?,
        on database: Database
    ) async throws(StorageError)
        -> ShareLinkRecord
    {
        guard role != .owner else { throw .invalidArgument("a share link grants editor or viewer, never owner") }
        try RefreshTokenRepository.checkHash(tokenHash)
        do throws(StorageError) {
            return try await withStorageErrors {
                let rows = try await database.query(
                    """
                    INSERT INTO share_links (project_id, token_hash, role, expires_at, created_by)
                    VALUES (\(projectID), \(tokenHash), \(role.rawValue), \(expiresAt), \(createdBy))
                    RETURNING \(unescaped: Self.columns)
                    """
                )
                guard let link = try await Self.decode(rows).first?.item else { throw StorageError.database(sqlState: nil) }
                database.logger.debug("share link created", metadata: ["project.id": "\(projectID)", "share_link.id": "\(link.id)"])
                return link
            }
        } catch .invalidReference(constraint: "share_links_project_id_fkey") {
            throw .notFound(entity: "project", id: projectID.uuidString)
        } catch .invalidReference(constraint: "share_links_created_by_fkey") {
            throw .notFound(entity: "user", id: createdBy?.uuidString ?? "none")
        }
    }

    /// A keyset page of the project's links by `(created_at, id)`, newest first, with their state.
    public static func list(projectID: UUID, page: PageRequest, on database: Database) async throws(StorageError) -> Page<ShareLinkRecord> {
        let bound = page.descendingBound
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM share_links
                WHERE project_id = \(projectID) AND (created_at, id) < (\(bound.timestamp), \(bound.id))
                ORDER BY created_at DESC, id DESC
                LIMIT \(page.fetchLimit)
                """
            )
            return Page(positioned: try await Self.decode(rows), request: page)
        }
    }

    /// Deletes the link if it belongs to the project.
    /// - Throws: `.notFound(entity: "share link", id:)` when the project has no such link.
    public static func revoke(id: UUID, projectID: UUID, on database: Database) async throws(StorageError) {
        try await withStorageErrors {
            let rows = try await database.query(
                "DELETE FROM share_links WHERE id = \(id) AND project_id = \(projectID) RETURNING id"
            )
            guard try await rows.collect().count == 1 else { throw StorageError.notFound(entity: "share link", id: id.uuidString) }
            database.logger.debug("share link revoked", metadata: ["project.id": "\(projectID)", "share_link.id": "\(id)"])
        }
    }

    /// Accepts the link in one transaction (joining the caller's, if any) under `SELECT … FOR UPDATE`, so a link is
    /// used once however many accept it at the same moment; a member is never downgraded.
    /// - Returns: `.accepted` with the user's role afterwards, or why the link cannot be accepted.
    /// - Throws: `.notFound(entity: "user", id:)` for an unknown user.
    public static func accept(tokenHash: Data, userID: UUID, on database: Database) async throws(StorageError) -> ShareLinkAcceptance {
        try RefreshTokenRepository.checkHash(tokenHash)
        do throws(StorageError) {
            return try await database.transaction { transaction in
                try await Self.acceptLocked(tokenHash: tokenHash, userID: userID, on: transaction)
            }

        } catch .invalidReference(constraint: "share_links_used_by_fkey") {
            throw .notFound(entity: "user", id: userID.uuidString)
        } catch .invalidReference(constraint: "project_members_user_id_fkey") {
            throw .notFound(entity: "user", id: userID.uuidString)
        }
    }

    private static func acceptLocked(
        tokenHash: Data, userID: UUID, on database: Database
    ) async throws
        -> ShareLinkAcceptance
    {
        // FOR UPDATE: a concurrent accept waits here and then sees the link used.
        let rows = try await database.query(
            """
            SELECT id, project_id, role, used_at IS NOT NULL, expires_at <= now()
            FROM share_links WHERE token_hash = \(tokenHash)
            FOR UPDATE
            """
        )
        var found: (id: UUID, projectID: UUID, role: String, used: Bool, expired: Bool)?
        for try await row in rows.decode((UUID, UUID, String, Bool, Bool).self) { found = row }
        guard let link = found else { return .unknown }
        if link.used { return .used }
        if link.expired { return .expired }
        try await database.query(
            "UPDATE share_links SET used_at = now(), used_by = \(userID) WHERE id = \(link.id)"
        ).drain()
        // Never a downgrade: an existing row changes only from viewer to editor.
        let members = try await database.query(
            """
            INSERT INTO project_members (project_id, user_id, role) VALUES (\(link.projectID), \(userID), \(link.role))
            ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role
                WHERE project_members.role = 'viewer' AND excluded.role = 'editor'
            """
        )
        try await members.drain()
        let roles = try await database.query(
            "SELECT role FROM project_members WHERE project_id = \(link.projectID) AND user_id = \(userID)"
        )
        var role: ProjectRole?
        for try await text in roles.decode(String.self) { role = ProjectRole(rawValue: text) }
        guard let role else { throw StorageError.database(sqlState: nil) }
        database.logger.info(
            "share link accepted", metadata: ["project.id": "\(link.projectID)", "user.id": "\(userID)", "share_link.id": "\(link.id)"])
        return .accepted(projectID: link.projectID, role: role)
    }

    // MARK: - Rows

    /// The columns `decode(_:)` reads, the state computed with the database's clock.
    static let columns = """
        id, project_id, role, expires_at, used_at, used_by, created_by, created_at,
        CASE WHEN used_at IS NOT NULL THEN 'used' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [Positioned<ShareLinkRecord>] {
        var links: [Positioned<ShareLinkRecord>] = []
        for try await (id, projectID, role, expiresAt, usedAt, usedBy, createdBy, createdAt, state) in rows.decode(
            (UUID, UUID, String, Date, Date?, UUID?, UUID?, Timestamp, String).self
        ) {
            guard let role = ProjectRole(rawValue: role), let state = ShareLinkState(rawValue: state) else {
                throw StorageError.database(sqlState: nil)
            }
            let link = ShareLinkRecord(
                id: id,
                projectID: projectID,
                role: role,
                expiresAt: expiresAt,
                usedAt: usedAt,
                usedBy: usedBy,
                createdBy: createdBy,
                createdAt: createdAt.date,
                state: state
            )
            links.append(Positioned(item: link, position: PageCursor(timestamp: createdAt, id: id)))
        }
        return links
    }
}
