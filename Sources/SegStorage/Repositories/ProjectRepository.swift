import Foundation
import Logging
import PostgresNIO

/// Projects: create them with their owner, read them as a member sees them, list, rename, delete, transfer.
///
/// Every method throws `StorageError` only. Reading a project for a user who is not a member is
/// `.notFound(entity: "project", id:)`, exactly as for a project that does not exist, so callers answer 404 for
/// both and never reveal which projects exist.
///
/// ## Usage
/// ```swift
/// let project = try await ProjectRepository.create(ownerID: user.id, name: "Spheroids", description: "", on: database)
/// let mine = try await ProjectRepository.list(memberID: user.id, page: try PageRequest(limit: 20, cursor: cursor), on: database)
/// ```
///
/// On PostgreSQL (`projects`, `project_members`, and `images` for the counts).
public enum ProjectRepository {

    /// Inserts the project and the owner's membership in one transaction (the caller's, if `database` is in one).
    /// - Throws: `.notFound(entity: "user", id:)` when the owner does not exist, `.constraintViolation` for an empty name.
    public static func create(ownerID: UUID, name: String, description: String, on database: Database) async throws(StorageError) -> ProjectRecord {
        do throws(StorageError) {
            return try await database.transaction { database in
                try await Self.insertRows(ownerID: ownerID, name: name, description: description, on: database)
            }

        } catch .invalidReference(constraint: "projects_owner_id_fkey") {
            throw .notFound(entity: "user", id: ownerID.uuidString)
        }
    }

    /// The two inserts of `create`, inside its transaction.
    private static func insertRows(
        ownerID: UUID,
        name: String,
        description: String,
        on database: Database
    ) async throws(StorageError) -> ProjectRecord {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                INSERT INTO projects AS p (owner_id, name, description) VALUES (\(ownerID), \(name), \(description))
                RETURNING \(unescaped: columns)
                """
            )
            guard let project = try await decode(rows).first?.item else { throw StorageError.database(sqlState: nil) }
            // Same transaction, same now(): the owner's membership dates from the project's creation.
            try await database.query(
                "INSERT INTO project_members (project_id, user_id, role) VALUES (\(project.id), \(ownerID), 'owner')"
            ).drain()
            database.logger.debug("project created", metadata: ["project.id": "\(project.id)", "user.id": "\(ownerID)"])
            return project
        }
    }

    /// The project by id, whatever the caller's membership.
    public static func find(id: UUID, on database: Database) async throws(StorageError) -> ProjectRecord? {
        try await withStorageErrors {
            try await Self.decode(database.query("SELECT \(unescaped: Self.columns) FROM projects p WHERE p.id = \(id)")).first?.item
        }
    }

    /// The project joined with the caller's membership and its image counts, in one query.
    /// - Throws: `.notFound(entity: "project", id:)` when there is no such project or the user is not a member.
    public static func get(id: UUID, memberID userID: UUID, on database: Database) async throws(StorageError) -> UserProjectRecord {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns), m.role, m.created_at, \(unescaped: Self.countColumns)
                FROM projects p
                JOIN project_members m ON m.project_id = p.id AND m.user_id = \(userID)
                CROSS JOIN LATERAL (\(unescaped: Self.countsQuery)) c
                WHERE p.id = \(id)
                """
            )
            guard let project = try await Self.decodeForMember(rows).first?.item else {
                throw StorageError.notFound(entity: "project", id: id.uuidString)
            }
            return project
        }
    }

    /// Counts the project's images per status in one query.
    /// - Throws: `.notFound(entity: "project", id:)` when there is no such project.
    public static func imageCounts(projectID: UUID, on database: Database) async throws(StorageError) -> ImageStatusCounts {
        try await withStorageErrors {
            let rows = try await database.query(
                "SELECT \(unescaped: Self.countColumns) FROM projects p CROSS JOIN LATERAL (\(unescaped: Self.countsQuery)) c WHERE p.id = \(projectID)"
            )
            // Read to the end (one row at most) so the connection goes back to the pool clean.
            guard let row = try await rows.collect().first else { throw StorageError.notFound(entity: "project", id: projectID.uuidString) }
            let (new, queued, processing, segmented, failed) = try row.decode((Int, Int, Int, Int, Int).self)
            return ImageStatusCounts(new: new, queued: queued, processing: processing, segmented: segmented, failed: failed)
        }
    }

    /// A keyset page over the user's memberships, newest first, with the counts computed in the same query.
    public static func list(memberID userID: UUID, page: PageRequest, on database: Database) async throws(StorageError) -> Page<UserProjectRecord> {
        let bound = page.descendingBound
        return try await withStorageErrors {
            // One query: the (user_id, created_at, project_id) index gives the page in order, and the counts are
            // computed only for the rows the LIMIT keeps.
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns), m.role, m.created_at, \(unescaped: Self.countColumns)
                FROM project_members m
                JOIN projects p ON p.id = m.project_id
                CROSS JOIN LATERAL (\(unescaped: Self.countsQuery)) c
                WHERE m.user_id = \(userID) AND (m.created_at, m.project_id) < (\(bound.timestamp), \(bound.id))
                ORDER BY m.created_at DESC, m.project_id DESC
                LIMIT \(page.fetchLimit)
                """
            )
            return Page(positioned: try await Self.decodeForMember(rows), request: page)
        }
    }

    /// A keyset page of every project by `(created_at, id)`, newest first, joined with its owner and counts in one query.
    public static func listAll(page: PageRequest, on database: Database) async throws(StorageError) -> Page<ProjectOverviewRecord> {
        let bound = page.descendingBound
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns), u.email, \(unescaped: Self.countColumns)
                FROM projects p
                JOIN users u ON u.id = p.owner_id
                CROSS JOIN LATERAL (\(unescaped: Self.countsQuery)) c
                WHERE (p.created_at, p.id) < (\(bound.timestamp), \(bound.id))
                ORDER BY p.created_at DESC, p.id DESC
                LIMIT \(page.fetchLimit)
                """
            )
            var projects: [Positioned<ProjectOverviewRecord>] = []
            for try await row in rows {
                let columns = PostgresRandomAccessRow(row)
                let (project, createdAt) = try Self.project(columns)
                let overview = ProjectOverviewRecord(
                    project: project, ownerEmail: try columns[7].decode(String.self), imageCounts: try Self.counts(columns, from: 8))
                projects.append(Positioned(item: overview, position: PageCursor(timestamp: createdAt, id: project.id)))
            }
            return Page(positioned: projects, request: page)
        }
    }

    /// Updates name, description and/or the default segmenter (`.some(nil)` clears it back to the built-in one) and
    /// sets `updated_at`.
    /// - Throws: `.notFound(entity: "project", id:)`, `.constraintViolation` for an empty name or a malformed
    ///   segmenter name.
    public static func update(
        id: UUID, name: String?, description: String?, defaultSegmenter: String?? = nil, on database: Database
    ) async throws(StorageError) -> ProjectRecord {
        let setSegmenter = defaultSegmenter != nil
        let segmenter = defaultSegmenter ?? nil
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                UPDATE projects p SET name = coalesce(\(name), p.name), description = coalesce(\(description), p.description),
                    default_segmenter = CASE WHEN \(setSegmenter) THEN \(segmenter) ELSE p.default_segmenter END,
                    updated_at = now()
                WHERE p.id = \(id)
                RETURNING \(unescaped: Self.columns)
                """
            )
            guard let project = try await Self.decode(rows).first?.item else { throw StorageError.notFound(entity: "project", id: id.uuidString) }
            return project
        }
    }

    /// Locks the project, deletes its images (collecting the keys of originals, thumbnails and export archives),
    /// then the project, in one transaction.
    /// - Returns: The distinct object keys its images (originals and thumbnails) and export archives referred to, sorted,
    ///   so the caller can remove the files that no other row refers to any more (another project may hold the same
    ///   content).
    /// - Throws: `.notFound(entity: "project", id:)`.
    public static func delete(id: UUID, on database: Database) async throws(StorageError) -> [String] {
        try await database.transaction { database in
            // Locking the project first makes concurrent image inserts (their foreign-key check) wait and then
            // fail, so every image that is deleted is one whose key is returned.
            let locked = try await database.query("SELECT id FROM projects WHERE id = \(id) FOR UPDATE").collect()
            guard !locked.isEmpty else { throw StorageError.notFound(entity: "project", id: id.uuidString) }
            var keys = Set(try await ImageRepository.deleteAll(projectID: id, on: database).map(\.hex))
            let archives = try await database.query(
                "SELECT object_key FROM exports WHERE project_id = \(id) AND object_key IS NOT NULL")
            for try await key in archives.decode(String.self) { keys.insert(key) }
            try await database.query("DELETE FROM projects WHERE id = \(id)").drain()
            database.logger.info("project deleted", metadata: ["project.id": "\(id)", "project.object_keys": "\(keys.count)"])
            return keys.sorted()
        }

    }

    /// Demotes the old owner to editor and makes the new one owner, in one transaction on the locked project.
    /// - Throws: `.notFound(entity: "project", id:)`, `.notFound(entity: "user", id:)` for an unknown new owner.
    public static func transferOwnership(projectID: UUID, to newOwnerID: UUID, on database: Database) async throws(StorageError) -> ProjectRecord {
        do throws(StorageError) {
            return try await database.transaction { database in
                try await Self.transfer(projectID: projectID, to: newOwnerID, on: database)
            }

        } catch .invalidReference(constraint: "project_members_user_id_fkey") {
            throw .notFound(entity: "user", id: newOwnerID.uuidString)
        }
    }

    private static func transfer(
        projectID: UUID, to newOwnerID: UUID, on database: Database
    ) async throws
        -> ProjectRecord
    {
        let locked = try await decode(
            database.query("SELECT \(unescaped: columns) FROM projects p WHERE p.id = \(projectID) FOR UPDATE")
        )
        guard let current = locked.first?.item else { throw StorageError.notFound(entity: "project", id: projectID.uuidString) }
        guard current.ownerID != newOwnerID else { return current }
        // Demote first: at most one owner row per project (project_members_one_owner_key).
        try await database.query(
            "UPDATE project_members SET role = 'editor' WHERE project_id = \(projectID) AND user_id = \(current.ownerID)"
        ).drain()
        try await database.query(
            """
            INSERT INTO project_members (project_id, user_id, role) VALUES (\(projectID), \(newOwnerID), 'owner')
            ON CONFLICT (project_id, user_id) DO UPDATE SET role = 'owner'
            """
        ).drain()
        let rows = try await database.query(
            "UPDATE projects p SET owner_id = \(newOwnerID), updated_at = now() WHERE p.id = \(projectID) RETURNING \(unescaped: columns)"
        )
        guard let project = try await decode(rows).first?.item else { throw StorageError.database(sqlState: nil) }
        database.logger.info("project ownership transferred", metadata: ["project.id": "\(projectID)", "user.id": "\(newOwnerID)"])
        return project
    }

    // MARK: - Rows

    /// The project columns `decode(_:)` reads, in its order (the table is aliased `p`).
    static let columns = "p.id, p.owner_id, p.name, p.description, p.created_at, p.updated_at, p.default_segmenter"

    /// Image counts of project `p`, one row with five columns (served by the index on images (project_id, status, …)).
    static let countsQuery = """
        SELECT count(*) FILTER (WHERE i.status = 'new')::int8 AS n_new,
               count(*) FILTER (WHERE i.status = 'queued')::int8 AS n_queued,
               count(*) FILTER (WHERE i.status = 'processing')::int8 AS n_processing,
               count(*) FILTER (WHERE i.status = 'segmented')::int8 AS n_segmented,
               count(*) FILTER (WHERE i.status = 'failed')::int8 AS n_failed
        FROM images i WHERE i.project_id = p.id
        """

    static let countColumns = "c.n_new, c.n_queued, c.n_processing, c.n_segmented, c.n_failed"

    static func decode(_ rows: PostgresRowSequence) async throws -> [Positioned<ProjectRecord>] {
        var projects: [Positioned<ProjectRecord>] = []
        for try await row in rows {
            let (project, createdAt) = try project(PostgresRandomAccessRow(row))
            projects.append(Positioned(item: project, position: PageCursor(timestamp: createdAt, id: project.id)))
        }
        return projects
    }

    /// Decodes `columns`, the member's role and membership time, then `countColumns`; positioned by membership time.
    static func decodeForMember(_ rows: PostgresRowSequence) async throws -> [Positioned<UserProjectRecord>] {
        var projects: [Positioned<UserProjectRecord>] = []
        for try await row in rows {
            let columns = PostgresRandomAccessRow(row)
            let (project, _) = try project(columns)
            guard let role = ProjectRole(rawValue: try columns[7].decode(String.self)) else { throw StorageError.database(sqlState: nil) }
            let joinedAt = try columns[8].decode(Timestamp.self)
            projects.append(
                Positioned(
                    item: UserProjectRecord(project: project, myRole: role, imageCounts: try counts(columns, from: 9)),
                    position: PageCursor(timestamp: joinedAt, id: project.id)))
        }
        return projects
    }

    /// The project of `columns` (the first seven columns of a row) and its exact creation time.
    static func project(_ row: PostgresRandomAccessRow) throws -> (ProjectRecord, Timestamp) {
        let createdAt = try row[4].decode(Timestamp.self)
        let project = ProjectRecord(
            id: try row[0].decode(UUID.self), ownerID: try row[1].decode(UUID.self), name: try row[2].decode(String.self),
            description: try row[3].decode(String.self), createdAt: createdAt.date, updatedAt: try row[5].decode(Date.self),
            defaultSegmenter: try row[6].decode(String?.self))
        return (project, createdAt)
    }

    /// The five `countColumns` starting at column `first`.
    static func counts(_ row: PostgresRandomAccessRow, from first: Int) throws -> ImageStatusCounts {
        ImageStatusCounts(
            new: try row[first].decode(Int.self), queued: try row[first + 1].decode(Int.self),
            processing: try row[first + 2].decode(Int.self), segmented: try row[first + 3].decode(Int.self),
            failed: try row[first + 4].decode(Int.self))
    }
}
