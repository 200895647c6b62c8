import Foundation

/// Checks a polygon that a person drew or edited before it is measured and stored: a class name,
/// finite vertices inside the image, rings of at least three distinct points, and holes inside
/// their exterior (DESIGN.md section 2).
public enum PolygonValidation {
    /// The longest class name accepted.
    public static let maxClassLength = 100

    /// What is wrong with `polygon` on an image of `width` × `height` pixels (vertices may lie
    /// on the image's edges), or `nil` when it is acceptable. The text names the ring and the
    /// vertex: `holes[1]: vertex 4 lies outside the exterior`.
    public static func problem(in polygon: Polygon, width: Double, height: Double) -> String? {
        let name = polygon.className
        if name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || name.count > maxClassLength {
            return "class must be 1 to \(maxClassLength) characters"
        }
        if let reason = ringProblem(polygon.exterior, width: width, height: height) { return "exterior: \(reason)" }
        for (h, hole) in polygon.holes.enumerated() {
            if let reason = ringProblem(hole, width: width, height: height) { return "holes[\(h)]: \(reason)" }
            if let vertex = hole.firstIndex(where: { !contains(polygon.exterior, $0) }) {
                return "holes[\(h)]: vertex \(vertex) lies outside the exterior"
            }
        }
        return nil
    }

    /// What is wrong with one ring on its own, or `nil`.
    static func ringProblem(_ ring: [Point2D], width: Double, height: Double) -> String? {
        if let bad = ring.firstIndex(where: { !$0.x.isFinite || !$0.y.isFinite }) { return "vertex \(bad) is not a finite number" }
        if let outside = ring.firstIndex(where: { $0.x < 0 || $0.y < 0 || $0.x > width || $0.y > height }) {
            return "vertex \(outside) lies outside the image (0…\(Int(width)), 0…\(Int(height)))"
        }
        if Set(ring).count < 3 { return "a ring needs at least 3 distinct points" }
        return nil
    }

    /// Whether `point` is inside `ring` or on its boundary (even-odd rule; the boundary counts as
    /// inside, because a traced hole may share pixels with a 1-px-thick exterior).
    public static func contains(_ ring: [Point2D], _ point: Point2D) -> Bool {
        guard ring.count >= 3 else { return false }
        var inside = false
        var j = ring.count - 1
        for i in ring.indices {
            let a = ring[i]
            let b = ring[j]
            if onSegment(point, a, b) { return true }
            if (a.y > point.y) != (b.y > point.y) {
                let x = a.x + (point.y - a.y) * (b.x - a.x) / (b.y - a.y)
                if point.x < x { inside.toggle() }
            }
            j = i
        }
        return inside
    }

    static func onSegment(_ p: Point2D, _ a: Point2D, _ b: Point2D) -> Bool {
        let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
        let scale = max(abs(b.x - a.x), abs(b.y - a.y), 1)
        guard abs(cross) <= 1e-9 * scale * scale else { return false }
        return p.x >= min(a.x, b.x) && p.x <= max(a.x, b.x) && p.y >= min(a.y, b.y) && p.y <= max(a.y, b.y)
    }
}
