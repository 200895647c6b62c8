/// How many of a project's images are in each status; every status is present, zero when none.
///
/// Encodes as `{"new": 0, "queued": 0, "processing": 0, "segmented": 0, "failed": 0}` (the API's `imageCounts`).
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

    /// The count for one status.
    public subscript(status: ImageStatus) -> Int {
        get {
            switch status {
            case .new: new
            case .queued: queued
            case .processing: processing
            case .segmented: segmented
            case .failed: failed
            }
        }
        set {
            switch status {
            case .new: new = newValue
            case .queued: queued = newValue
            case .processing: processing = newValue
            case .segmented: segmented = newValue
            case .failed: failed = newValue
            }
        }
    }

    /// All images of the project.
    public var total: Int { ImageStatus.allCases.reduce(0) { $0 + self[$1] } }
}
