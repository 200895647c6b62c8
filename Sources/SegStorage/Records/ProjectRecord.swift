import Foundation

/// A row of `projects`.
public struct ProjectRecord: Sendable, Equatable, Identifiable {
    /// The project's id.
    public var id: UUID
    /// The user who owns it.
    public var ownerID: UUID
    /// Its name (never empty).
    public var name: String
    /// Its description (may be empty).
    public var description: String
    /// When it was created.
    public var createdAt: Date
    /// When its name or description last changed.
    public var updatedAt: Date

    /// A record with every column given.
    public init(id: UUID, ownerID: UUID, name: String, description: String, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.ownerID = ownerID
        self.name = name
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A project as one member sees it: the project, that member's role and its images by status.
public struct UserProjectRecord: Sendable, Equatable, Identifiable {
    /// The project.
    public var project: ProjectRecord
    /// The role of the user who asked.
    public var myRole: ProjectRole
    /// The project's images by status.
    public var imageCounts: ImageStatusCounts

    /// The project's id.
    public var id: UUID { project.id }

    /// A project seen by one member.
    public init(project: ProjectRecord, myRole: ProjectRole, imageCounts: ImageStatusCounts) {
        self.project = project
        self.myRole = myRole
        self.imageCounts = imageCounts
    }
}

/// The number of a project's images in each status; every status is present, zeros included.
///
/// Encodes as `{"new": …, "queued": …, "processing": …, "segmented": …, "failed": …}`, the API's `imageCounts`.
public struct ImageStatusCounts: Sendable, Hashable, Codable {
    /// Uploaded, never queued.
    public var new: Int
    /// Waiting for a worker.
    public var queued: Int
    /// Being segmented.
    public var processing: Int
    /// Segmented.
    public var segmented: Int
    /// Segmentation failed.
    public var failed: Int

    /// Counts per status; the defaults are zero.
    public init(new: Int = 0, queued: Int = 0, processing: Int = 0, segmented: Int = 0, failed: Int = 0) {
        self.new = new
        self.queued = queued
        self.processing = processing
        self.segmented = segmented
        self.failed = failed
    }

    /// No images.
    public static let zero = ImageStatusCounts()

    /// Every image of the project.
    public var total: Int { new + queued + processing + segmented + failed }

    /// Adds `count` to the status named `status` (the `images.status` text); unknown names are ignored.
    mutating func add(_ count: Int, status: String) {
        switch status {
        case "new": new += count
        case "queued": queued += count
        case "processing": processing += count
        case "segmented": segmented += count
        case "failed": failed += count
        default: break
        }
    }
}
