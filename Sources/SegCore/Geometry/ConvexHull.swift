/// The convex hull of a point set and the measurements taken on it: area, perimeter, the
/// maximum caliper (Feret) diameter and the minimum-area enclosing rectangle.
///
/// Vertices are strictly convex (collinear points are dropped) and run counter-clockwise in
/// x-right/y-up axes. One point gives a one-vertex hull, collinear points a two-vertex hull.
struct ConvexHull {
    /// Hull vertices, strictly convex.
    let vertices: [Point2D]

    /// Builds the hull with Andrew's monotone chain (O(n log n); the input is not modified).
    init(_ points: UnsafeBufferPointer<Point2D>) {
        guard points.count > 1 else {
            vertices = Array(points)
            return
        }
        var sorted = Array(points)
        sorted.sort { $0.x < $1.x || ($0.x == $1.x && $0.y < $1.y) }
        var hull = [Point2D](repeating: Point2D(x: 0, y: 0), count: 2 * sorted.count)
        var k = 0
        sorted.withUnsafeBufferPointer { s in
            hull.withUnsafeMutableBufferPointer { h in
                // lower chain
                for p in s {
                    while k >= 2 && Self.cross(h[k - 2], h[k - 1], p) <= 0 { k -= 1 }
                    h[k] = p
                    k += 1
                }
                // upper chain
                let lowerCount = k + 1
                var i = s.count - 2
                while i >= 0 {
                    let p = s[i]
                    while k >= lowerCount && Self.cross(h[k - 2], h[k - 1], p) <= 0 { k -= 1 }
                    h[k] = p
                    k += 1
                    i -= 1
                }
            }
        }
        // the last vertex repeats the first
        k -= 1
        if k == 2 && hull[0] == hull[1] { k = 1 }
        hull.removeLast(hull.count - max(k, 1))
        vertices = hull
    }

    /// z-component of (b − a) × (c − a).
    @inline(__always) static func cross(_ a: Point2D, _ b: Point2D, _ c: Point2D) -> Double {
        (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
    }

    /// Area of the hull (0 for fewer than three vertices).
    var area: Double {
        vertices.withUnsafeBufferPointer { abs(RingGeometry.signedArea($0)) }
    }

    /// Perimeter of the hull as a closed polygon (twice the length for a two-vertex hull, as
    /// OpenCV's `arcLength(hull, closed=true)` gives).
    var perimeter: Double {
        vertices.withUnsafeBufferPointer { RingGeometry.closedLength($0) }
    }

    /// The largest distance between two hull vertices (rotating calipers over antipodal pairs, O(h)).
    var caliperMax: Double {
        let h = vertices
        let n = h.count
        guard n > 1 else { return 0 }
        if n == 2 { return Self.distance(h[0], h[1]) }
        return h.withUnsafeBufferPointer { v in
            var best = 0.0
            var j = 1
            for i in 0..<n {
                let a = v[i]
                let b = v[(i + 1) % n]
                // advance j while the triangle (a, b, v[j + 1]) grows: v[j] is antipodal to edge ab
                var steps = 0
                while steps < n {
                    let next = (j + 1) % n
                    if Self.cross(a, b, v[next]) > Self.cross(a, b, v[j]) {
                        j = next
                        steps += 1
                    } else {
                        break
                    }
                }
                best = max(best, Self.distance2(a, v[j]), Self.distance2(b, v[j]))
            }
            return best.squareRoot()
        }
    }

    /// Side lengths of the minimum-area enclosing rectangle (longer first), by rotating calipers:
    /// one side of that rectangle lies on a hull edge.
    ///
    /// Several orientations can give the same smallest area (a triangle's three, a small pixel
    /// blob's axis-aligned and diagonal boxes). OpenCV's `minAreaRect` then keeps the last one its
    /// calipers meet, which is the one whose edge direction, taken modulo 90° in image axes
    /// (y down), is largest; we choose the same (areas equal within a relative 1e-9).
    var minAreaRectSides: (long: Double, short: Double) {
        let h = vertices
        let n = h.count
        if n < 2 { return (0, 0) }
        if n == 2 { return (Self.distance(h[0], h[1]), 0) }
        return h.withUnsafeBufferPointer { v in
            var bestArea = Double.infinity
            var bestW = 0.0
            var bestH = 0.0
            var bestKey = 0.0
            // calipers: farthest along the edge (right), farthest from the edge line (top), least along the edge (left)
            var right = 1
            var top = 1
            var left = 1
            for i in 0..<n {
                let a = v[i]
                let b = v[(i + 1) % n]
                let len = Self.distance(a, b)
                if len == 0 { continue }
                let ux = (b.x - a.x) / len
                let uy = (b.y - a.y) / len
                @inline(__always) func along(_ p: Point2D) -> Double { (p.x - a.x) * ux + (p.y - a.y) * uy }
                @inline(__always) func away(_ p: Point2D) -> Double { (p.x - a.x) * -uy + (p.y - a.y) * ux }
                var guardSteps = 0
                while guardSteps < n && along(v[(right + 1) % n]) >= along(v[right]) {
                    right = (right + 1) % n
                    guardSteps += 1
                }
                if i == 0 { top = right }
                guardSteps = 0
                while guardSteps < n && away(v[(top + 1) % n]) >= away(v[top]) {
                    top = (top + 1) % n
                    guardSteps += 1
                }
                if i == 0 { left = top }
                guardSteps = 0
                while guardSteps < n && along(v[(left + 1) % n]) <= along(v[left]) {
                    left = (left + 1) % n
                    guardSteps += 1
                }
                let width = along(v[right]) - along(v[left])
                let height = away(v[top])
                let area = width * height
                if area < bestArea * (1 - 1e-9) {
                    bestArea = area
                    bestKey = Self.orientationKey(ux, uy)
                    bestW = width
                    bestH = height
                } else if area <= bestArea * (1 + 1e-9) {
                    let key = Self.orientationKey(ux, uy)
                    if key > bestKey * (1 + 1e-9) + 1e-12 {
                        bestArea = min(bestArea, area)
                        bestKey = key
                        bestW = width
                        bestH = height
                    }
                }
            }
            return (max(bestW, bestH), min(bestW, bestH))
        }
    }

    /// A number increasing with the direction's angle modulo 90° in [0°, 90°): the slope of the
    /// direction once turned by a multiple of 90° into the first quadrant (no trigonometry).
    @inline(__always) static func orientationKey(_ ux: Double, _ uy: Double) -> Double {
        if ux > 0 && uy >= 0 { return uy / ux }
        if ux <= 0 && uy > 0 { return -ux / uy }
        if ux < 0 && uy <= 0 { return uy / ux }
        return ux / -uy
    }

    @inline(__always) static func distance2(_ a: Point2D, _ b: Point2D) -> Double {
        let dx = a.x - b.x
        let dy = a.y - b.y
        return dx * dx + dy * dy
    }

    @inline(__always) static func distance(_ a: Point2D, _ b: Point2D) -> Double {
        distance2(a, b).squareRoot()
    }
}
