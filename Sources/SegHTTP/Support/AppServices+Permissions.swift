import Foundation
import SegStorage

/// Every permission decision of the API, in one place: a project's role for a caller, and the
/// image or export a caller may reach through it. Not being a member hides the resource (404); a
/// role that is too low is 403 `FORBIDDEN`. (SegAuth proves who the caller is; what the caller may
/// touch is a question for the stored memberships, answered here.)
extension AppServices {
    /// The caller's role in `project`, which must be at least `minimum`.
    ///
    /// A caller who is not a member gets 404 (the project's existence is not revealed); a member whose role is too
    /// low gets 403 `FORBIDDEN`.
    /// - Throws: `Problem` 404 or 403, `StorageError` when the database fails.
    @discardableResult
    public func requireRole(_ minimum: ProjectRole, in project: UUID, for identity: Identity, on database: Database) async throws -> ProjectRole {
        guard let role = try await ProjectMemberRepository.role(projectID: project, userID: identity.userID, on: database) else {
            throw Problem.notFound("project")
        }
        guard role >= minimum else {
            throw Problem.forbidden("this needs the \(minimum.rawValue) role in the project; you are \(role.rawValue)")
        }
        return role
    }

    /// The image `id` and the caller's role in its project (at least `minimum`).
    ///
    /// An unknown image and an image in a project the caller is not a member of are both 404.
    /// - Throws: `Problem` 404 or 403, `StorageError` when the database fails.
    public func requireImage(
        _ id: UUID, role minimum: ProjectRole, for identity: Identity, on database: Database
    ) async throws -> (ImageRecord, ProjectRole) {
        let image: ImageRecord
        do {
            image = try await ImageRepository.get(id: id, on: database)
        } catch .notFound {
            throw Problem.notFound("image")
        }
        guard let role = try await ProjectMemberRepository.role(projectID: image.projectID, userID: identity.userID, on: database) else {
            throw Problem.notFound("image")
        }
        guard role >= minimum else {
            throw Problem.forbidden("this needs the \(minimum.rawValue) role in the project; you are \(role.rawValue)")
        }
        return (image, role)
    }

    /// The export `id`, if the caller is a member of its project (any role may read an export).
    ///
    /// An unknown export and another project's are both 404.
    /// - Throws: `Problem` 404, `StorageError` when the database fails.
    public func requireExport(_ id: UUID, for identity: Identity, on database: Database) async throws -> ExportRecord {
        let export: ExportRecord
        do {
            export = try await ExportRepository.get(id: id, on: database)
        } catch .notFound {
            throw Problem.notFound("export")
        }
        guard try await ProjectMemberRepository.role(projectID: export.projectID, userID: identity.userID, on: database) != nil else {
            throw Problem.notFound("export")
        }
        return export
    }
}
