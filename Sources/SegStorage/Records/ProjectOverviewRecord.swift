import Foundation

/// A project as an administrator lists it: the project, its owner's email and its image counts.
public struct ProjectOverviewRecord: Sendable, Equatable, Identifiable {
    /// The project.
    public var project: ProjectRecord
    /// The owner's email, as typed at registration.
    public var ownerEmail: String
    /// The project's images by status.
    public var imageCounts: ImageStatusCounts

    /// The project's id.
    public var id: UUID { project.id }

    /// A project with its owner's email and image counts.
    public init(project: ProjectRecord, ownerEmail: String, imageCounts: ImageStatusCounts) {
        self.project = project
        self.ownerEmail = ownerEmail
        self.imageCounts = imageCounts
    }
}
