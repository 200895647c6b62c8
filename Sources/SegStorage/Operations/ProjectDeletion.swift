import Foundation
import Logging
import PostgresNIO

/// What deleting a project removed.
public struct ProjectDeletion: Sendable, Equatable {
    /// The project's name, for messages.
    public var name: String
    /// The distinct objects (originals, renditions, export archives) its rows referred to.
    public var objects: Int
    /// The files removed now; the rest are still used by another project's rows, younger than the
    /// removal's grace period, or could not be removed (then `segctl gc` removes them later).
    public var removedFiles: Int
}

extension ProjectRepository {
    /// Deletes a project with everything in it: its rows in one transaction (`delete(id:)`), then
    /// the files no row refers to any more (`ObjectStore.removeUnreferenced`, sparing objects younger
    /// than its grace period), then an audit entry `project.delete` by `actorID` (`nil` for an
    /// administrator's command). The one definition that `DELETE /api/v1/projects/{id}` and
    /// `segctl users delete --delete-projects` share.
    ///
    /// Once the rows are gone the deletion has happened: a file that cannot be removed, or an audit
    /// entry that cannot be written, is logged and does not fail it.
    /// - Throws: `StorageError.notFound` for an unknown project, or the database's error; nothing
    ///   is deleted then.
    public static func deleteWithFiles(
        id: UUID, files: some ObjectStore, actorID: UUID?, on database: Database
    ) async throws(StorageError) -> ProjectDeletion {
        let name = try await find(id: id, on: database)?.name ?? ""
        let keys = try await delete(id: id, on: database)
        var removed = 0
        do {
            removed = try await files.removeUnreferenced(
                keys.compactMap { try? ObjectKey($0) }, references: ObjectReferences(on: database)
            ).count
        } catch {
            database.logger.warning("project files not removed; gc will", metadata: ["project.id": "\(id)", "error": "\(error)"])
        }
        do {
            let details = try JSONEncoder.sortedKeysEncoder.encode(["name": name, "objects": "\(keys.count)", "objectsRemoved": "\(removed)"])
            _ = try await AuditLogRepository.record(
                actorID: actorID, action: "project.delete", targetType: "project", targetID: id, details: Array(details), on: database)
        } catch {
            database.logger.warning("audit entry not recorded", metadata: ["audit.action": "project.delete", "error": "\(error)"])
        }
        return ProjectDeletion(name: name, objects: keys.count, removedFiles: removed)
    }
}
