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
        }
        guard !polygon.holes.isEmpty else { return nil }
        let queries = polygon.holes.reduce(0) { $0 + $1.count }
        guard let exterior = RingIndex(polygon.exterior, queries: queries) else {
            return "too intricate to check: its holes' \(queries) vertices against an exterior whose edges overlap at every height"
        }
        for (h, hole) in polygon.holes.enumerated() {
            if let vertex = hole.firstIndex(where: { !exterior.contains($0) }) {
                return "holes[\(h)]: vertex \(vertex) lies outside the exterior"
            }
        }
        return nil
    }

    /// A ring's edges bucketed by height, so that a point is tested against the edges at its height rather than all
    /// of them: checking the holes of an n-vertex traced exterior costs O(n + hole vertices) instead of
    /// O(n · hole vertices).
    ///
    /// Where many edges overlap at every height (a comb, a jagged star) every ray crosses them all, and no index helps;
    /// the buckets are then made taller (at most 64 entries per edge in all) and the expected work, hole vertices times
    /// edges per bucket, is bounded: past ``maxWork`` the polygon is refused rather than checked for seconds.
    struct RingIndex {
        let ring: [Point2D]
        let minY: Double
        let maxY: Double
        let bucketHeight: Double
        /// For each bucket, the range in `edges` of the edges (`ring[i]`–`ring[i − 1]`) whose height range meets it.
        let start: [Int32]
        let edges: [Int32]
        /// Edge tests a polygon's hole check may need (about a tenth of a second).
        static let maxWork = 100_000_000

        /// The index of `ring` for `queries` points, or `nil` when checking them would take more than ``maxWork``.
        init?(_ ring: [Point2D], queries: Int = 0) {
            guard ring.count < Int(Int32.max) / 64 else { return nil }
            self.ring = ring
            let ys = ring.map(\.y)
            let minY = ys.min() ?? 0
            let maxY = ys.max() ?? 0
            let n = max(1, ring.count)
            // How many edges a horizontal line meets on average: what every query must look at whatever the buckets.
            var spans = 0.0
            var j = ring.count - 1
            for i in ring.indices {
                spans += abs(ring[i].y - ring[j].y)
                j = i
            }
            let density = maxY > minY ? spans / (maxY - minY) : Double(n)
            let count = max(1, min(n, Int(63 * Double(n) / max(1, density))))
            let height = max((maxY - minY) / Double(count), .leastNormalMagnitude)
            guard Double(queries) * (density + Double(n) / Double(count)) <= Double(Self.maxWork) else { return nil }
            self.minY = minY
            self.maxY = maxY
            bucketHeight = height
            // y lies in minY…maxY, so the quotient is at most `count` (and 0 for a flat ring).
            func bucket(_ y: Double) -> Int { min(count - 1, max(0, Int((y - minY) / height))) }
            var sizes = [Int](repeating: 0, count: count + 1)
            var total = 0
            j = ring.count - 1
            for i in ring.indices {
                let (first, last) = (bucket(min(ring[i].y, ring[j].y)), bucket(max(ring[i].y, ring[j].y)))
                total += last - first + 1
                for b in first...last { sizes[b + 1] += 1 }
                j = i
            }
            for b in 0..<count { sizes[b + 1] += sizes[b] }
            var fill = Array(sizes.prefix(count))
            var edges = [Int32](repeating: 0, count: total)
            j = ring.count - 1
            for i in ring.indices {
                for b in bucket(min(ring[i].y, ring[j].y))...bucket(max(ring[i].y, ring[j].y)) {
                    edges[fill[b]] = Int32(i)
                    fill[b] += 1
                }
                j = i
            }
            self.start = sizes.map { Int32($0) }
            self.edges = edges
        }

        /// ``PolygonValidation/contains(_:_:)`` for this ring, from the edges at the point's height.
        func contains(_ point: Point2D) -> Bool {
            guard ring.count >= 3, point.y >= minY, point.y <= maxY else { return false }
            let count = start.count - 1
            let bucket = min(count - 1, max(0, Int((point.y - minY) / bucketHeight)))
            var inside = false
            for k in Int(start[bucket])..<Int(start[bucket + 1]) {
                let i = Int(edges[k])
                let a = ring[i]
                let c = ring[i == 0 ? ring.count - 1 : i - 1]
                if onSegment(point, a, c) { return true }
                if (a.y > point.y) != (c.y > point.y) {
                    let x = a.x + (point.y - a.y) * (c.x - a.x) / (c.y - a.y)
                    if point.x < x { inside.toggle() }
                }
            }
            return inside
        }
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
