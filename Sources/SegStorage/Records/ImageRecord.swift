import Foundation

/// Where an image is in its segmentation's life, as stored in `images.status`.
public enum ImageStatus: String, Sendable, Codable, CaseIterable {
    /// Uploaded, never queued.
    case new
    /// A segmentation job is waiting for a worker.
    case queued
    /// A worker is segmenting it.
    case processing
    /// Its latest segmentation is stored.
    case segmented
    /// Its last segmentation job failed.
    case failed
}

/// An uploaded image: its file-store objects, size, format and status.
public struct ImageRecord: Sendable, Equatable, Identifiable {
    /// The encodings an image may have: those SegCore decodes (its `ImageFormat` has the same raw values).
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// PNG.
        case png
        /// JPEG.
        case jpeg
        /// TIFF.
        case tiff
        /// Windows bitmap.
        case bmp
    }

    /// The image's id.
    public var id: UUID
    /// The project it belongs to.
    public var projectID: UUID
    /// The uploaded file's name, for display.
    public var name: String
    /// The uploaded bytes in the file store.
    public var objectKey: ObjectKey
    /// The JPEG thumbnail in the file store, when one was made.
    public var thumbnailKey: ObjectKey?
    /// The 8-bit PNG rendition browsers are shown, for originals they cannot show as stored (TIFF,
    /// more than 8 bits per sample); `nil` when the original itself is displayed.
    public var displayKey: ObjectKey?
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// The sniffed format.
    public var format: Format
    /// Pages in the file (TIFF directories; 1 for the other formats).
    public var pages: Int
    /// Size of the uploaded file in bytes.
    public var bytes: Int64
    /// Segmentation status.
    public var status: ImageStatus
    /// When it was uploaded.
    public var createdAt: Date
    /// When it last changed (status included).
    public var updatedAt: Date
    /// Why its segmentation failed, when it did: the last error of its last failed `segment` job.
    public var failureReason: String?

    /// A record with every field given.
    public init(
        id: UUID,
        projectID: UUID,
        name: String,
        objectKey: ObjectKey,
        thumbnailKey: ObjectKey?,
        displayKey: ObjectKey? = nil,
        width: Int,
        height: Int,
        format: Format,
        pages: Int = 1,
        bytes: Int64,
        status: ImageStatus,
        createdAt: Date,
        updatedAt: Date,
        failureReason: String? = nil
    ) {
        self.failureReason = failureReason
        self.id = id
        self.projectID = projectID
        self.name = name
        self.objectKey = objectKey
        self.thumbnailKey = thumbnailKey
        self.displayKey = displayKey
        self.width = width
        self.height = height
        self.format = format
        self.pages = pages
        self.bytes = bytes
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The file-store objects this image refers to: the original, then the thumbnail if any.
    public var objectKeys: [ObjectKey] {
        [objectKey] + (thumbnailKey.map { [$0] } ?? [])
    }
}

/// What the images table holds in all: for `segctl stats`.
public struct ImageTotals: Sendable, Equatable {
    /// Number of images.
    public var images: Int
    /// Sum of the images' sizes in bytes (an object shared by several images counts each time).
    public var bytes: Int64
    /// Sum of the sizes of the distinct original objects: what the originals take in the file store.
    public var distinctObjectBytes: Int64

    /// Totals with every field given.
    public init(images: Int, bytes: Int64, distinctObjectBytes: Int64) {
        self.images = images
        self.bytes = bytes
        self.distinctObjectBytes = distinctObjectBytes
    }
}
