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
    /// The segmenter its segmentation requests use when they name none; `nil` for the built-in one.
    public var defaultSegmenter: String?

    /// A record with every column given.
    public init(
        id: UUID, ownerID: UUID, name: String, description: String, createdAt: Date, updatedAt: Date, defaultSegmenter: String? = nil
    ) {
        self.id = id
        self.ownerID = ownerID
        self.name = name
        self.description = description
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.defaultSegmenter = defaultSegmenter
    }
}
