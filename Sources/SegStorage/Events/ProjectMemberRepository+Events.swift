import Foundation
import PostgresNIO

extension ProjectMemberRepository {
    /// The ids of every member of `projectID` (empty for an unknown project), for deciding who receives its events.
    public static func memberIDs(projectID: UUID, on database: Database) async throws(StorageError) -> Set<UUID> {
        try await withStorageErrors {
            let rows = try await database.query("SELECT user_id FROM project_members WHERE project_id = \(projectID)")
            var members = Set<UUID>()
            for try await id in rows.decode(UUID.self) { members.insert(id) }
            return members
        }
    }
}
