/// One traced boundary: an outer contour of a foreground component or the contour of a hole.
public struct Contour: Sendable, Equatable {
    /// Boundary pixels in tracing order (not closed: the first point is not repeated).
    public var points: [Point]
    /// Whether this is the contour of a hole (background inside foreground).
    public var isHole: Bool
    /// Index of the enclosing contour in the same list, or `nil` for a top-level contour.
    public var parent: Int?

    /// Creates a contour.
    public init(points: [Point], isHole: Bool, parent: Int?) {
        self.points = points
        self.isHole = isHole
        self.parent = parent
    }
}

/// Which vertices of the boundary a trace keeps (OpenCV's `CHAIN_APPROX_*`).
public enum ContourApproximation: String, Sendable, CaseIterable, Codable {
    /// Every boundary pixel (`CHAIN_APPROX_NONE`).
    case none
    /// Only the ends of horizontal, vertical and diagonal runs (`CHAIN_APPROX_SIMPLE`).
    case simple
}

/// How contours are organised (OpenCV's `RETR_*`).
public enum ContourRetrieval: String, Sendable, CaseIterable, Codable {
    /// Two levels: outer contours and their holes; islands inside holes are top-level again (`RETR_CCOMP`).
    case ccomp
    /// The full nesting tree (`RETR_TREE`).
    case tree
}
