// PLACEHOLDER: being implemented (metrics helper). Signature is the contract other code uses.

extension ShapeMetrics {
    /// Measures a polygon given by its exterior ring and hole rings (not closed).
    /// - Parameter scale: µm per pixel; lengths are multiplied by it and areas by its square.
    public static func measure(exterior: [Point2D], holes: [[Point2D]] = [], scale: Double? = nil) -> ShapeMetrics {
        fatalError("ShapeMetrics.measure is not implemented yet")
    }
}
