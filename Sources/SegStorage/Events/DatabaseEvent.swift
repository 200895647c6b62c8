import Foundation

/// A change announced by the database's triggers on the `seghub_events` channel (migration 0008).
///
/// Every writer emits these, in whichever process it runs, because triggers send them when the writing transaction
/// commits. `imageStatus` and `exportStatus` are meant for clients; `membershipChanged` and `accountChanged` only
/// tell listeners to drop what they cached.
public enum DatabaseEvent: Sendable, Equatable {
    /// An image's status changed.
    case imageStatus(projectID: UUID, imageID: UUID, status: ImageStatus, at: Date)
    /// An export was created or its status or progress changed.
    case exportStatus(exportID: UUID, projectID: UUID, status: ExportStatus, progress: Double)
    /// A user joined or left a project, or changed role in it.
    case membershipChanged(projectID: UUID, userID: UUID)
    /// An account was disabled (or enabled) or its earlier tokens were revoked.
    case accountChanged(userID: UUID)

    /// The notification channel the triggers send on.
    public static let channel = "seghub_events"

    /// The project the event is about, if any.
    public var projectID: UUID? {
        switch self {
        case .imageStatus(let project, _, _, _), .exportStatus(_, let project, _, _), .membershipChanged(let project, _): project
        case .accountChanged: nil
        }
    }

    private struct Payload: Decodable {
        var type: String
        var projectId: UUID?
        var imageId: UUID?
        var exportId: UUID?
        var userId: UUID?
        var status: String?
        var progress: Double?
        var at: String?
    }

    /// Decodes a notification payload; `nil` for anything that is not one of ours (an unknown type from a newer
    /// release sharing the database, or a hand-made notification), which listeners ignore.
    public init?(payload: String) {
        guard let data = payload.data(using: .utf8), let body = try? JSONDecoder().decode(Payload.self, from: data) else { return nil }
        switch body.type {
        case "image.status":
            guard let project = body.projectId, let image = body.imageId, let status = body.status.flatMap(ImageStatus.init(rawValue:))
            else { return nil }
            let at = body.at.flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) } ?? Date()
            self = .imageStatus(projectID: project, imageID: image, status: status, at: at)
        case "export.status":
            guard let export = body.exportId, let project = body.projectId,
                let status = body.status.flatMap(ExportStatus.init(rawValue:)), let progress = body.progress
            else { return nil }
            self = .exportStatus(exportID: export, projectID: project, status: status, progress: progress)
        case "member.changed":
            guard let project = body.projectId, let user = body.userId else { return nil }
            self = .membershipChanged(projectID: project, userID: user)
        case "account.changed":
            guard let user = body.userId else { return nil }
            self = .accountChanged(userID: user)
        default:
            return nil
        }
    }

}
