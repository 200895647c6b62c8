import Foundation
import SegStorage

extension AppServices {
    /// The caller's role in `project`, which must be at least `minimum`.
    ///
    /// A caller who is not a member gets 404 (the project's existence is not revealed); a member whose role is too
    /// low gets 403 `FORBIDDEN`.
    /// - Throws: `Problem` 404 or 403, `StorageError` when the database fails.
    @discardableResult
    public func requireRole(_ minimum: ProjectRole, in project: UUID, for identity: Identity) async throws -> ProjectRole {
        guard let role = try await members.role(projectID: project, userID: identity.userID) else {
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
    public func requireImage(_ id: UUID, role minimum: ProjectRole, for identity: Identity) async throws -> (ImageRecord, ProjectRole) {
        let image: ImageRecord
        do {
            image = try await images.get(id: id)
        } catch .notFound {
            throw Problem.notFound("image")
        }
        guard let role = try await members.role(projectID: image.projectID, userID: identity.userID) else {
            throw Problem.notFound("image")
        }
        guard role >= minimum else {
            throw Problem.forbidden("this needs the \(minimum.rawValue) role in the project; you are \(role.rawValue)")
        }
        return (image, role)
    }
}
