import Foundation

/// One stored version of an image's segmentation.
public struct SegmentationRecord: Sendable, Equatable, Identifiable {
    /// The row's id.
    public var id: UUID
    /// The segmented image.
    public var imageID: UUID
    /// 1 for the first version, then one more for each new version.
    public var version: Int
    /// The polygon list as JSON (DESIGN.md section 2), as PostgreSQL normalised it.
    public var polygons: [UInt8]
    /// The segmenter's parameters as a JSON object.
    public var parameters: [UInt8]
    /// What produced the polygons (`builtin`, `manual`, a model name).
    public var segmenter: String
    /// Who stored it; `nil` for a worker or a deleted account.
    public var authorID: UUID?
    /// When it was stored.
    public var createdAt: Date

    /// A record with every field given.
    public init(
        id: UUID,
        imageID: UUID,
        version: Int,
        polygons: [UInt8],
        parameters: [UInt8],
        segmenter: String,
        authorID: UUID?,
        createdAt: Date
    ) {
        self.id = id
        self.imageID = imageID
        self.version = version
        self.polygons = polygons
        self.parameters = parameters
        self.segmenter = segmenter
        self.authorID = authorID
        self.createdAt = createdAt
    }
}

/// A version of a segmentation without its polygons: an entry of the version list.
public struct SegmentationVersionSummary: Sendable, Equatable, Identifiable {
    /// The row's id.
    public var id: UUID
    /// The segmented image.
    public var imageID: UUID
    /// The version number.
    public var version: Int
    /// What produced the polygons.
    public var segmenter: String
    /// Who stored it; `nil` for a worker or a deleted account.
    public var authorID: UUID?
    /// Number of polygons in the version.
    public var polygonCount: Int
    /// When it was stored.
    public var createdAt: Date

    /// A summary with every field given.
    public init(id: UUID, imageID: UUID, version: Int, segmenter: String, authorID: UUID?, polygonCount: Int, createdAt: Date) {
        self.id = id
        self.imageID = imageID
        self.version = version
        self.segmenter = segmenter
        self.authorID = authorID
        self.polygonCount = polygonCount
        self.createdAt = createdAt
    }
}
