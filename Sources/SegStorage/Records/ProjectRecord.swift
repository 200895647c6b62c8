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
