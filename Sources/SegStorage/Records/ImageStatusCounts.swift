/// How many of a project's images are in each status; every status is present, zero when none.
///
/// Encodes as `{"new": 0, "queued": 0, "processing": 0, "segmented": 0, "failed": 0}` (the API's `imageCounts`).
///
/// The images branch declares the same type (with the same members, plus a subscript by `ImageStatus`) in
/// `ImageRecord.swift`; when both are merged this file goes and that declaration stays.
public struct ImageStatusCounts: Sendable, Equatable, Codable {
    /// Images in `new`.
    public var new: Int
    /// Images in `queued`.
    public var queued: Int
    /// Images in `processing`.
    public var processing: Int
    /// Images in `segmented`.
    public var segmented: Int
    /// Images in `failed`.
    public var failed: Int

    /// Counts per status, zero unless given.
    public init(new: Int = 0, queued: Int = 0, processing: Int = 0, segmented: Int = 0, failed: Int = 0) {
        self.new = new
        self.queued = queued
        self.processing = processing
        self.segmented = segmented
        self.failed = failed
    }

    /// All images of the project.
    public var total: Int { new + queued + processing + segmented + failed }
}
