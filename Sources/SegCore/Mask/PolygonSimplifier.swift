/// Douglas-Peucker simplification with exactly the output of OpenCV's `approxPolyDP`.
///
/// OpenCV's variant differs from the textbook one, and we follow it step by step so that the
/// vertices (and so the perimeters computed from them) are the same as the previous system's:
/// - a closed ring is split at two far-apart vertices found by three rounds of "farthest vertex
///   from the current start" (the last round's start is where the output begins);
/// - each slice is split at the first vertex (in ring order) whose distance to the chord
///   *segment* (not the infinite line) is largest, iteratively with an explicit stack;
/// - a final pass drops a vertex lying within ε/√2 of the chord joining its neighbours when that
///   chord is neither horizontal nor vertical and the vertex projects between the neighbours.
///
/// Integer rings give OpenCV's result exactly. `Point2D` rings are computed in `Double`, while
/// OpenCV computes float32 input partly in float32: the two agree whenever float32 represents
/// the coordinates' differences and products exactly (for example multiples of 1/4 below 256).
///
/// ## Usage
/// ```swift
/// let ring = contour.points                      // [Point], CHAIN_APPROX_SIMPLE vertices
/// let outline = PolygonSimplifier.simplifyClosed(ring, epsilon: 2)
/// ```
public enum PolygonSimplifier {
    /// Simplifies a closed ring (`approxPolyDP(closed=true)`) with tolerance `epsilon` (px).
    ///
    /// A negative or NaN `epsilon` is treated as 0 and values above 1e30 as 1e30 (OpenCV rejects
    /// both). An empty ring gives an empty result; a ring whose vertices all lie within `epsilon`
    /// of one another collapses to a single vertex, as in OpenCV.
    public static func simplifyClosed(_ ring: [Point2D], epsilon: Double) -> [Point2D] {
        ring.withUnsafeBufferPointer { src in
            let kept = keptIndices(src, closed: true, epsilon: epsilon)
            return kept.map { src[$0] }
        }
    }

    /// Simplifies a closed ring of integer pixel coordinates (`approxPolyDP(closed=true)` on `CV_32S`).
    public static func simplifyClosed(_ ring: [Point], epsilon: Double) -> [Point] {
        ring.withUnsafeBufferPointer { src in
            let kept = keptIndices(src, closed: true, epsilon: epsilon)
            return kept.map { src[$0] }
        }
    }

    /// Simplifies an open polyline (`approxPolyDP(closed=false)`); the end points are always kept.
    ///
    /// As in OpenCV, a polyline whose first and last vertices coincide is treated as a closed ring
    /// for the splitting (with a single farthest-point round), then finished as an open curve.
    public static func simplifyOpen(_ curve: [Point2D], epsilon: Double) -> [Point2D] {
        curve.withUnsafeBufferPointer { src in
            let kept = keptIndices(src, closed: false, epsilon: epsilon)
            return kept.map { src[$0] }
        }
    }

    /// Simplifies an open polyline of integer pixel coordinates (`approxPolyDP(closed=false)`).
    public static func simplifyOpen(_ curve: [Point], epsilon: Double) -> [Point] {
        curve.withUnsafeBufferPointer { src in
            let kept = keptIndices(src, closed: false, epsilon: epsilon)
            return kept.map { src[$0] }
        }
    }

    /// Length of the closed ring after simplification with `epsilon`, without building the
    /// simplified ring (the perimeter definition of DESIGN.md section 2 uses ε = 2).
    public static func closedLength(_ ring: [Point2D], epsilon: Double) -> Double {
        ring.withUnsafeBufferPointer { src in
            let kept = keptIndices(src, closed: true, epsilon: epsilon)
            guard kept.count > 1 else { return 0 }
            var length = 0.0
            var prev = src[kept[kept.count - 1]]
            for k in kept {
                let p = src[k]
                let dx = p.x - prev.x
                let dy = p.y - prev.y
                length += (dx * dx + dy * dy).squareRoot()
                prev = p
            }
            return length
        }
    }

    /// The indices (into `src`) of the vertices `approxPolyDP` keeps, in output order.
    static func keptIndices<P: PlanarCoordinates>(_ src: UnsafeBufferPointer<P>, closed closed0: Bool, epsilon: Double) -> [Int] {
        let count = src.count
        guard count > 0 else { return [] }
        let tolerance = epsilon.isNaN ? 0 : min(max(epsilon, 0), 1e30)
        let eps = tolerance * tolerance

        // Slices are (start, end) index pairs; a slice never covers the whole ring, so `count` suffices.
        var stack: [(start: Int, end: Int)] = []
        stack.reserveCapacity(min(count, 64))
        var dst: [Int] = []
        dst.reserveCapacity(count)

        var isClosed = closed0
        var initIters = 3
        if !isClosed {
            let first = src[0]
            let last = src[count - 1]
            if first.xd != last.xd || first.yd != last.yd {
                stack.append((0, count - 1))
            } else {
                isClosed = true
                initIters = 1
            }
        }

        if isClosed {
            // 1. Two approximately farthest vertices: start, farthest from start, farthest from that, …
            var offset = 0
            var startIndex = 0
            var leEps = false
            for _ in 0..<initIters {
                startIndex = (startIndex + offset) % count
                let s = src[startIndex]
                var maxDist = 0.0
                var pos = startIndex
                for j in 1..<max(count, 1) {
                    pos += 1
                    if pos == count { pos = 0 }
                    let p = src[pos]
                    let dx = p.xd - s.xd
                    let dy = p.yd - s.yd
                    let dist = dx * dx + dy * dy
                    if dist > maxDist {
                        maxDist = dist
                        offset = j
                    }
                }
                leEps = maxDist <= eps
            }
            // 2. Both halves onto the stack (the left one is processed first), or a single vertex.
            if !leEps {
                let far = (offset + startIndex) % count
                stack.append((far, startIndex))
                stack.append((startIndex, far))
            } else {
                dst.append(startIndex)
            }
        }

        // 3. Iterative splitting.
        while let slice = stack.popLast() {
            let s = src[slice.start]
            let e = src[slice.end]
            var pos = slice.start + 1
            if pos == count { pos = 0 }
            var leEps = true
            var split = 0
            if pos != slice.end {
                let dx = e.xd - s.xd
                let dy = e.yd - s.yd
                let segment2 = dx * dx + dy * dy
                var maxDist = 0.0
                while pos != slice.end {
                    let p = src[pos]
                    let px = p.xd - s.xd
                    let py = p.yd - s.yd
                    let projection = px * dx + py * dy
                    let dist: Double
                    if projection < 0 {
                        dist = (px * px + py * py) * segment2
                    } else if projection > segment2 {
                        let qx = p.xd - e.xd
                        let qy = p.yd - e.yd
                        dist = (qx * qx + qy * qy) * segment2
                    } else {
                        let cross = py * dx - px * dy
                        dist = cross * cross
                    }
                    if dist > maxDist {
                        maxDist = dist
                        split = pos
                    }
                    pos += 1
                    if pos == count { pos = 0 }
                }
                leEps = maxDist <= eps * segment2
            }
            if leEps {
                dst.append(slice.start)
            } else {
                stack.append((split, slice.end))
                stack.append((slice.start, split))
            }
        }
        if !isClosed {
            dst.append(count - 1)
        }

        cleanUp(src, &dst, closed: closed0, eps: eps)
        return dst
    }

    /// OpenCV's final pass: drops vertices on [almost] straight diagonal runs. It works in place
    /// and, on a closed ring, wraps around to read entries it has already rewritten; we reproduce
    /// that exactly on the index array.
    private static func cleanUp<P: PlanarCoordinates>(_ src: UnsafeBufferPointer<P>, _ dst: inout [Int], closed: Bool, eps: Double) {
        let count = dst.count
        guard count > 2 else { return }
        var newCount = count
        dst.withUnsafeMutableBufferPointer { d in
            var pos = closed ? count - 1 : 0
            var start = d[pos]
            pos += 1
            if pos >= count { pos = 0 }
            var wpos = pos
            var pt = d[pos]
            pos += 1
            if pos >= count { pos = 0 }
            let open = closed ? 0 : 1
            var i = open
            while i < count - open && newCount > 2 {
                let end = d[pos]
                pos += 1
                if pos >= count { pos = 0 }
                let s = src[start]
                let m = src[pt]
                let e = src[end]
                let dx = e.xd - s.xd
                let dy = e.yd - s.yd
                let dist = abs((m.xd - s.xd) * dy - (m.yd - s.yd) * dx)
                let successive = (m.xd - s.xd) * (e.xd - m.xd) + (m.yd - s.yd) * (e.yd - m.yd)
                if dist * dist <= 0.5 * eps * (dx * dx + dy * dy) && dx != 0 && dy != 0 && successive >= 0 {
                    newCount -= 1
                    d[wpos] = end
                    start = end
                    wpos += 1
                    if wpos >= count { wpos = 0 }
                    pt = d[pos]
                    pos += 1
                    if pos >= count { pos = 0 }
                    i += 2
                    continue
                }
                d[wpos] = pt
                start = pt
                wpos += 1
                if wpos >= count { wpos = 0 }
                pt = end
                i += 1
            }
            if !closed {
                d[wpos] = pt
            }
        }
        dst.removeLast(count - newCount)
    }
}

/// A point whose coordinates the geometry code reads as `Double` (specialised, no dynamic dispatch).
protocol PlanarCoordinates {
    /// Horizontal coordinate as a double.
    var xd: Double { get }
    /// Vertical coordinate as a double.
    var yd: Double { get }
}

extension Point: PlanarCoordinates {
    @inline(__always) var xd: Double { Double(x) }
    @inline(__always) var yd: Double { Double(y) }
}

extension Point2D: PlanarCoordinates {
    @inline(__always) var xd: Double { x }
    @inline(__always) var yd: Double { y }
}
