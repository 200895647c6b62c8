import Foundation
import PostgresNIO

extension ProjectMemberPostgresRepository {
    /// The ids of every member of `projectID` (empty for an unknown project), for deciding who receives its events.
    public func memberIDs(projectID: UUID) async throws(StorageError) -> Set<UUID> {
        let client = client
        let logger = logger
        return try await withStorageErrors {
            let rows = try await client.query("SELECT user_id FROM project_members WHERE project_id = \(projectID)", logger: logger)
            var members = Set<UUID>()
            for try await id in rows.decode(UUID.self) { members.insert(id) }
            return members
        }
    }
}
