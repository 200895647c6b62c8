import Foundation

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
