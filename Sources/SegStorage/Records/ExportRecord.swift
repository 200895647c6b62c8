import Foundation

/// Where an export is in its life, as stored in `exports.status`.
public enum ExportStatus: String, Sendable, Codable, CaseIterable {
    /// Its job waits for a worker.
    case queued
    /// A worker is building the archive.
    case running
    /// The archive is stored and can be downloaded until it expires.
    case done
    /// Building the archive failed; `error` says why.
    case failed
    /// The archive was dropped after its expiry.
    case expired
}

/// A file format an export can contain (DESIGN.md section 2).
public enum ExportFormat: String, Sendable, Codable, CaseIterable {
    /// COCO JSON.
    case coco
    /// YOLO segmentation text.
    case yolo
    /// GeoJSON FeatureCollection.
    case geojson
    /// CSV of shape metrics.
    case csv
    /// PNG label masks.
    case masks
    /// The previous system's polygon list.
    case spheroseg
}

/// How an export is built; stored as the JSON object `exports.options`.
public struct ExportOptions: Sendable, Equatable, Codable {
    /// Micrometres per pixel for the metrics; `nil` keeps pixel units.
    public var scaleUmPerPx: Double?
    /// Whether the original images go into the archive.
    public var includeImages: Bool

    /// Options with every field given.
    public init(scaleUmPerPx: Double? = nil, includeImages: Bool = false) {
        self.scaleUmPerPx = scaleUmPerPx
        self.includeImages = includeImages
    }

    /// Decodes options stored by any version: a missing `includeImages` is `false`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.scaleUmPerPx = try container.decodeIfPresent(Double.self, forKey: .scaleUmPerPx)
        self.includeImages = try container.decodeIfPresent(Bool.self, forKey: .includeImages) ?? false
    }
}

/// An export: what was asked for, how far it got, and its archive once done.
public struct ExportRecord: Sendable, Equatable, Identifiable {
    /// The export's id.
    public var id: UUID
    /// The exported project.
    public var projectID: UUID
    /// Who asked for it; `nil` once the account is deleted.
    public var userID: UUID?
    /// The job building it, once attached.
    public var jobID: UUID?
    /// Its state.
    public var status: ExportStatus
    /// How much of the archive is built, 0–1.
    public var progress: Double
    /// The formats in the archive, in the order asked for.
    public var formats: [ExportFormat]
    /// How the archive is built.
    public var options: ExportOptions
    /// Why it failed (set when `status` is `failed`).
    public var error: String?
    /// The ZIP in the file store (only while `done`).
    public var objectKey: ObjectKey?
    /// Size of the ZIP in bytes.
    public var bytes: Int64?
    /// When the archive may be dropped.
    public var expiresAt: Date?
    /// When it became done or failed.
    public var finishedAt: Date?
    /// When it was asked for.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date

    /// A record with every field given.
    public init(
        id: UUID,
        projectID: UUID,
        userID: UUID?,
        jobID: UUID?,
        status: ExportStatus,
        progress: Double,
        formats: [ExportFormat],
        options: ExportOptions,
        error: String?,
        objectKey: ObjectKey?,
        bytes: Int64?,
        expiresAt: Date?,
        finishedAt: Date?,
        createdAt: Date,
        updatedAt: Date
    ) {
        self.id = id
        self.projectID = projectID
        self.userID = userID
        self.jobID = jobID
        self.status = status
        self.progress = progress
        self.formats = formats
        self.options = options
        self.error = error
        self.objectKey = objectKey
        self.bytes = bytes
        self.expiresAt = expiresAt
        self.finishedAt = finishedAt
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// An export that `markExpired` just expired, with the archive it no longer refers to.
public struct ExpiredExport: Sendable, Equatable {
    /// The export's id.
    public var id: UUID
    /// Its project.
    public var projectID: UUID
    /// The archive, now referenced by no export row (another row may still share the same content).
    public var objectKey: ObjectKey

    /// A value with every field given.
    public init(id: UUID, projectID: UUID, objectKey: ObjectKey) {
        self.id = id
        self.projectID = projectID
        self.objectKey = objectKey
    }
}
