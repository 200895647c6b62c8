/// Which plane of a multi-page file to read: a page (TIFF directory) by index, or a channel,
/// z-slice and time point of an OME-TIFF or ImageJ hyperstack. Everything `nil` is the first plane.
///
/// JSON: `{"page": 3}` or `{"channel": 1, "z": 4, "t": 0}` (missing keys are `nil`).
public struct ImageSelection: Sendable, Equatable, Hashable, Codable {
    /// The 0-based page (TIFF image directory).
    public var page: Int?
    /// The 0-based channel of a hyperstack.
    public var channel: Int?
    /// The 0-based z-slice of a hyperstack.
    public var z: Int?
    /// The 0-based time point of a hyperstack.
    public var t: Int?

    /// Creates a selection; with no arguments, the first plane.
    public init(page: Int? = nil, channel: Int? = nil, z: Int? = nil, t: Int? = nil) {
        self.page = page
        self.channel = channel
        self.z = z
        self.t = t
    }

    /// The first plane of the file.
    public static let first = ImageSelection()

    /// Whether a channel, z-slice or time point is named (rather than a page or nothing).
    public var namesPlane: Bool { channel != nil || z != nil || t != nil }

    /// Whether this selects the first plane of any file (nothing named, or page 0 only).
    public var isFirst: Bool { !namesPlane && (page ?? 0) == 0 }

    /// Checks that the indices are usable before any file is read.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` for a negative index, or a page together with a plane.
    public func validate() throws(SegCoreError) {
        for (name, value) in [("page", page), ("channel", channel), ("z", z), ("t", t)] {
            if let value, value < 0 { throw .invalidArgument("\(name) must be 0 or more, got \(value)") }
        }
        if page != nil && namesPlane { throw .invalidArgument("give either a page or a channel/z/t plane, not both") }
    }
}
