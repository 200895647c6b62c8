/// Traces the boundaries of a binary mask exactly as OpenCV's `findContours` does.
///
/// Foreground is every non-zero pixel; everything outside the mask is background. Components
/// are 8-connected, holes are 4-connected background regions inside a component, and a
/// component inside a hole is again an outer contour. The result is vertex for vertex the
/// output of `cv2.findContours(mask, RETR_CCOMP or RETR_TREE, CHAIN_APPROX_NONE or
/// CHAIN_APPROX_SIMPLE)` (OpenCV 4.x and 5.x), with the same contour order, start points and
/// hierarchy:
///
/// - an outer contour starts at its component's first pixel in raster order and runs
///   counter-clockwise on screen (y down); a hole contour starts at the foreground pixel left of
///   the hole's first pixel and runs clockwise;
/// - a single pixel is one vertex, a 1-pixel line of length L an out-and-back path of
///   2(L − 1) vertices (2 with `.simple`), and vertices repeat where a border passes a 1-pixel neck;
/// - `.simple` keeps the vertices where the step direction changes (cyclically);
/// - `.ccomp`: each outer contour is followed by its holes; outer contours come newest first
///   (the one whose first pixel is last in raster order comes first), and so do the holes of one
///   outer contour. A hole's `parent` is its outer contour; outer contours have no parent.
/// - `.tree`: depth first, children newest first; `parent` is the enclosing contour (a hole for
///   an island, the outer contour for a hole).
///
/// Tracing is Suzuki–Abe border following. It reads the mask in place (no padded copy, no label
/// image) and takes time linear in the number of pixels plus contour vertices, whatever the
/// mask: a parent is found in O(1) at the moment its child is found.
///
/// ## Usage
///
/// ```swift
/// let mask = try BinaryMask(width: 4, height: 3, pixels: [
///     0, 255, 255, 0,
///     0, 255, 255, 0,
///     0,   0,   0, 0,
/// ])
/// let contours = ContourTracer.trace(mask)
/// // [Contour(points: [(1,0), (1,1), (2,1), (2,0)], isHole: false, parent: nil)]
///
/// // Every boundary pixel, and the full nesting tree:
/// let all = ContourTracer.trace(mask, retrieval: .tree, approximation: .none)
/// for (i, c) in all.enumerated() where c.isHole {
///     print("hole \(i) of contour \(c.parent!)")
/// }
/// ```
public enum ContourTracer {
    /// Traces every foreground component and hole of `mask`.
    ///
    /// - Parameters:
    ///   - mask: the mask; non-zero pixels are foreground.
    ///   - retrieval: `.ccomp` (outer contours and their holes, two levels, the default) or
    ///     `.tree` (the full nesting tree), like OpenCV's `RETR_CCOMP` and `RETR_TREE`.
    ///   - approximation: `.simple` (corners only, the default) or `.none` (every boundary
    ///     pixel), like OpenCV's `CHAIN_APPROX_SIMPLE` and `CHAIN_APPROX_NONE`.
    /// - Returns: the contours in OpenCV's order; `parent` indexes into the same array.
    public static func trace(
        _ mask: BinaryMask, retrieval: ContourRetrieval = .ccomp, approximation: ContourApproximation = .simple
    ) -> [Contour] {
        let width = mask.width
        let height = mask.height
        guard width > 0, height > 0 else { return [] }
        precondition(mask.pixels.count == width * height, "mask buffer does not match its size")
        // Crack keys are 2·x + 1 and rows are stamped in 32 bits.
        precondition(width < 1 << 30 && height < 1 << 31, "mask too large to trace")
        return mask.pixels.withUnsafeBufferPointer { buffer in
            searchTable.withUnsafeBufferPointer { table in
                reverseTable.withUnsafeBufferPointer { reverse in
                    var scanner = Scanner(
                        pixels: buffer.baseAddress!, width: width, height: height, table: table.baseAddress!,
                        reverse: reverse.baseAddress!, keepAll: approximation == .none, nested: retrieval == .tree)
                    defer { scanner.deallocate() }
                    scanner.run()
                    return scanner.contours()
                }
            }
        }
    }
}
