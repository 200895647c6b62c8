// PLACEHOLDER: being implemented (tracer helper). Signature is the contract other code uses.

/// Traces the boundaries of a binary mask exactly as OpenCV 4's `findContours` does.
public enum ContourTracer {
    /// Traces every foreground component and hole of `mask`.
    public static func trace(
        _ mask: BinaryMask, retrieval: ContourRetrieval = .ccomp, approximation: ContourApproximation = .simple
    ) -> [Contour] {
        fatalError("ContourTracer.trace is not implemented yet")
    }
}
