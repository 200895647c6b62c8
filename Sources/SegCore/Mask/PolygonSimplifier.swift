// PLACEHOLDER: being implemented (metrics helper). Signature is the contract other code uses.

/// Douglas-Peucker simplification, equal to OpenCV's `approxPolyDP`.
public enum PolygonSimplifier {
    /// Simplifies a closed ring (`approxPolyDP(closed=true)`) with tolerance `epsilon`.
    public static func simplifyClosed(_ ring: [Point2D], epsilon: Double) -> [Point2D] {
        fatalError("PolygonSimplifier is not implemented yet")
    }
}
