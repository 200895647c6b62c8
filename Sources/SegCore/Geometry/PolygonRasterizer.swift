/// Fills polygons with holes into masks and label images, pixel for pixel as OpenCV's `fillPoly` (and so
/// `drawContours` with `thickness = -1` and a hierarchy) does with 8-connected lines and no shift.
///
/// Vertices are the integer coordinates of boundary pixels (DESIGN.md section 2), so the fill includes every pixel
/// on every ring: each ring is drawn as closed 8-connected lines (OpenCV's `LineIterator`), and the inside is filled
/// with the even-odd rule over all rings of the polygon at once (OpenCV's `FillEdgeCollection`). A hole's ring pixels
/// therefore stay foreground and only the pixels strictly inside it are left out. For any mask `M`, filling the
/// `RETR_CCOMP` contours traced from `M` gives back exactly `M`.
///
/// Real-valued vertices (edited polygons) are rounded to the nearest integer (halves away from zero) and clamped to
/// ±2²² px; non-finite vertices are skipped. Parts outside the image are clipped the way OpenCV clips them.
///
/// ## Usage
/// ```swift
/// var mask = BinaryMask(width: 64, height: 64)
/// PolygonRasterizer.fill(exterior: polygon.exterior, holes: polygon.holes, into: &mask)
/// let union = PolygonRasterizer.mask(of: polygons, width: 64, height: 64)
/// ```
public enum PolygonRasterizer {
    /// Largest coordinate magnitude kept; far beyond any image, small enough for 64-bit fixed-point edge arithmetic.
    static let coordinateLimit = 1 << 22
    /// Fixed-point fraction bits of edge x positions (OpenCV's `XY_SHIFT`).
    static let shift = 16

    /// Fills one polygon (exterior plus holes) into `mask` as foreground.
    public static func fill(exterior: [Point2D], holes: [[Point2D]] = [], into mask: inout BinaryMask) {
        let rings = integerRings(exterior: exterior, holes: holes)
        let (width, height) = (mask.width, mask.height)
        mask.pixels.withUnsafeMutableBufferPointer { fill(rings, value: UInt8(255), width: width, height: height, into: $0) }
    }

    /// Fills one polygon (exterior plus holes) into `image` with `value`, leaving every other pixel unchanged.
    public static func fill(exterior: [Point2D], holes: [[Point2D]] = [], into image: inout GrayImage, value: UInt8) {
        let rings = integerRings(exterior: exterior, holes: holes)
        let (width, height) = (image.width, image.height)
        image.pixels.withUnsafeMutableBufferPointer { fill(rings, value: value, width: width, height: height, into: $0) }
    }

    /// Fills one polygon (exterior plus holes) into a 16-bit `image` with `value`, leaving every other pixel unchanged.
    public static func fill(exterior: [Point2D], holes: [[Point2D]] = [], into image: inout GrayImage16, value: UInt16) {
        let rings = integerRings(exterior: exterior, holes: holes)
        let (width, height) = (image.width, image.height)
        image.pixels.withUnsafeMutableBufferPointer { fill(rings, value: value, width: width, height: height, into: $0) }
    }

    /// Fills integer rings (for example traced contour points) into `mask` together, as one `fillPoly` call with
    /// several contours: every ring is drawn and the inside follows the even-odd rule over all of them.
    public static func fill(rings: [[Point]], into mask: inout BinaryMask) {
        let converted = rings.map { ring in ring.map { (x: Int($0.x), y: Int($0.y)) } }
        let (width, height) = (mask.width, mask.height)
        mask.pixels.withUnsafeMutableBufferPointer { fill(converted, value: UInt8(255), width: width, height: height, into: $0) }
    }

    /// The union of `polygons`, each filled with its own holes, as a `width` × `height` mask.
    public static func mask(of polygons: [Polygon], width: Int, height: Int) -> BinaryMask {
        var mask = BinaryMask(width: max(0, width), height: max(0, height))
        for polygon in polygons {
            fill(exterior: polygon.exterior, holes: polygon.holes, into: &mask)
        }
        return mask
    }

    /// The pixels of one polygon inside a `width` × `height` image, cropped to the bounding box of its vertices.
    struct Footprint {
        /// Image column of the crop's first column.
        var x: Int
        /// Image row of the crop's first row.
        var y: Int
        /// The crop: 255 where the polygon covers the pixel.
        var mask: BinaryMask
    }

    /// Rasterizes one polygon into a crop just large enough for it, without touching a full-size buffer; `nil` when
    /// its vertex bounding box misses the image. Pasting the crop at (`x`, `y`) gives exactly what ``fill(exterior:holes:into:)``
    /// draws: OpenCV's clipping and fixed-point stepping are invariant under the integer shift, and every segment
    /// leaves the crop only where it leaves the image.
    static func footprint(exterior: [Point2D], holes: [[Point2D]], width: Int, height: Int) -> Footprint? {
        let rings = integerRings(exterior: exterior, holes: holes)
        guard width > 0, height > 0, !rings.isEmpty else { return nil }
        var minX = Int.max
        var minY = Int.max
        var maxX = Int.min
        var maxY = Int.min
        for ring in rings {
            for p in ring {
                minX = min(minX, p.x)
                maxX = max(maxX, p.x)
                minY = min(minY, p.y)
                maxY = max(maxY, p.y)
            }
        }
        let x0 = max(minX, 0)
        let y0 = max(minY, 0)
        let x1 = min(maxX, width - 1)
        let y1 = min(maxY, height - 1)
        guard x0 <= x1, y0 <= y1 else { return nil }
        let shifted = rings.map { ring in ring.map { (x: $0.x - x0, y: $0.y - y0) } }
        var mask = BinaryMask(width: x1 - x0 + 1, height: y1 - y0 + 1)
        let (w, h) = (mask.width, mask.height)
        mask.pixels.withUnsafeMutableBufferPointer { fill(shifted, value: UInt8(255), width: w, height: h, into: $0) }
        return Footprint(x: x0, y: y0, mask: mask)
    }

    // MARK: - Vertices

    typealias IntPoint = (x: Int, y: Int)

    /// Rounds and clamps the rings of one polygon; empty rings are dropped.
    static func integerRings(exterior: [Point2D], holes: [[Point2D]]) -> [[IntPoint]] {
        var rings: [[IntPoint]] = []
        rings.reserveCapacity(1 + holes.count)
        for ring in CollectionOfOne(exterior) + holes {
            var out: [IntPoint] = []
            out.reserveCapacity(ring.count)
            for p in ring {
                guard let x = integerCoordinate(p.x), let y = integerCoordinate(p.y) else { continue }
                out.append((x, y))
            }
            if !out.isEmpty { rings.append(out) }
        }
        return rings
    }

    /// `v` rounded half away from zero and clamped to ±``coordinateLimit``; `nil` when not finite.
    static func integerCoordinate(_ v: Double) -> Int? {
        guard v.isFinite else { return nil }
        let limit = Double(coordinateLimit)
        return Int(min(max(v.rounded(), -limit), limit))
    }

    // MARK: - Rasterization

    /// One non-horizontal polygon edge, active on rows `y0 ..< y1`; `x` is its 16.16 fixed-point position on row `y0`.
    struct Edge {
        var y0: Int
        var y1: Int
        var x: Int
        var dx: Int
    }

    /// Draws every ring's outline and fills the even-odd inside of all rings into a row-major `width` × `height` buffer.
    static func fill<T: FixedWidthInteger>(
        _ rings: [[IntPoint]], value: T, width: Int, height: Int, into buffer: UnsafeMutableBufferPointer<T>
    ) {
        guard width > 0, height > 0, buffer.count >= width * height else { return }
        var edges: [Edge] = []
        edges.reserveCapacity(rings.reduce(0) { $0 + $1.count })
        for ring in rings where !ring.isEmpty {
            var p0 = ring[ring.count - 1]
            for p1 in ring {
                drawLine(p0, p1, value: value, width: width, height: height, into: buffer)
                if let edge = makeEdge(p0, p1, width: width, height: height) { edges.append(edge) }
                p0 = p1
            }
        }
        fillEdges(&edges, value: value, width: width, height: height, into: buffer)
    }

    /// Plots the 8-connected line from `a` to `b` as OpenCV's `LineIterator` (left to right, clipped to the image).
    static func drawLine<T: FixedWidthInteger>(
        _ a: IntPoint, _ b: IntPoint, value: T, width: Int, height: Int, into buffer: UnsafeMutableBufferPointer<T>
    ) {
        var (x1, y1, x2, y2) = (a.x, a.y, b.x, b.y)
        let inside = { (x: Int, y: Int) in x >= 0 && x < width && y >= 0 && y < height }
        if !inside(x1, y1) || !inside(x2, y2) {
            guard clipLine(width: width, height: height, &x1, &y1, &x2, &y2) else { return }
        }
        var dx = x2 - x1
        var dy = y2 - y1
        var px = x1
        var py = y1
        if dx < 0 {
            dx = -dx
            dy = -dy
            px = x2
            py = y2
        }
        var stepY = 1
        if dy < 0 {
            dy = -dy
            stepY = -1
        }
        let vertical = dy > dx
        if vertical { swap(&dx, &dy) }
        var err = dx - 2 * dy
        let plusDelta = 2 * dx
        let minusDelta = -2 * dy
        for _ in 0...dx {
            // The clipped endpoints are inside, and the line between them stays inside: no check needed per pixel.
            buffer[py * width + px] = value
            let minor = err < 0
            err += minusDelta + (minor ? plusDelta : 0)
            if vertical {
                py += stepY
                if minor { px += 1 }
            } else {
                px += 1
                if minor { py += stepY }
            }
        }
    }

    /// OpenCV's `clipLine` for a `width` × `height` image: moves the endpoints onto the image border; `false` when
    /// the segment misses the image (the endpoints may then be partly moved, as in OpenCV).
    static func clipLine(width: Int, height: Int, _ x1: inout Int, _ y1: inout Int, _ x2: inout Int, _ y2: inout Int) -> Bool {
        let right = width - 1
        let bottom = height - 1
        guard width > 0, height > 0 else { return false }
        func code(_ x: Int, _ y: Int) -> Int {
            (x < 0 ? 1 : 0) + (x > right ? 2 : 0) + (y < 0 ? 4 : 0) + (y > bottom ? 8 : 0)
        }
        // (double)(a - y1) * (x2 - x1) / (y2 - y1), truncated toward zero, as OpenCV computes it.
        func offset(_ num: Int, _ mul: Int, _ den: Int) -> Int {
            den == 0 ? 0 : Int(Double(num) * Double(mul) / Double(den))
        }
        var c1 = code(x1, y1)
        var c2 = code(x2, y2)
        if c1 & c2 == 0 && c1 | c2 != 0 {
            if c1 & 12 != 0 {
                let a = c1 < 8 ? 0 : bottom
                x1 += offset(a - y1, x2 - x1, y2 - y1)
                y1 = a
                c1 = (x1 < 0 ? 1 : 0) + (x1 > right ? 2 : 0)
            }
            if c2 & 12 != 0 {
                let a = c2 < 8 ? 0 : bottom
                x2 += offset(a - y2, x2 - x1, y2 - y1)
                y2 = a
                c2 = (x2 < 0 ? 1 : 0) + (x2 > right ? 2 : 0)
            }
            if c1 & c2 == 0 && c1 | c2 != 0 {
                if c1 != 0 {
                    let a = c1 == 1 ? 0 : right
                    y1 += offset(a - x1, y2 - y1, x2 - x1)
                    x1 = a
                    c1 = 0
                }
                if c2 != 0 {
                    let a = c2 == 1 ? 0 : right
                    y2 += offset(a - x2, y2 - y1, x2 - x1)
                    x2 = a
                    c2 = 0
                }
            }
        }
        return c1 | c2 == 0
    }

    /// The fill edge for the segment `p0`–`p1` as OpenCV's `CollectPolyEdges` builds it (clipped endpoints give the
    /// slope of edges that leave the image); `nil` for a horizontal segment.
    static func makeEdge(_ p0: IntPoint, _ p1: IntPoint, width: Int, height: Int) -> Edge? {
        guard p0.y != p1.y else { return nil }
        var (tx0, ty0, tx1, ty1) = (p0.x, p0.y, p1.x, p1.y)
        var cy0 = p0.y
        var cy1 = p1.y
        let outside = { (x: Int, y: Int) in x < 0 || x >= width || y < 0 || y >= height }
        if outside(tx0, ty0) || outside(tx1, ty1) {
            _ = clipLine(width: width, height: height, &tx0, &ty0, &tx1, &ty1)
            if ty0 != ty1 {
                cy0 = ty0
                cy1 = ty1
            }
        }
        let cx0 = tx0 << shift
        let cx1 = tx1 << shift
        let dx = (cx1 &- cx0) / (cy1 - cy0)
        if p0.y < p1.y {
            return Edge(y0: p0.y, y1: p1.y, x: cx0 &+ (p0.y &- cy0) &* dx, dx: dx)
        } else {
            return Edge(y0: p1.y, y1: p0.y, x: cx1 &+ (p1.y &- cy1) &* dx, dx: dx)
        }
    }

    /// Even-odd scanline fill as OpenCV's `FillEdgeCollection`: on each row the active edges, sorted by x, pair up,
    /// and each pair fills the pixels from ⌈left⌉ to ⌊right⌋.
    static func fillEdges<T: FixedWidthInteger>(
        _ edges: inout [Edge], value: T, width: Int, height: Int, into buffer: UnsafeMutableBufferPointer<T>
    ) {
        guard edges.count >= 2 else { return }
        var yMin = Int.max
        var yMax = Int.min
        var xMin = Int.max
        var xMax = Int.min
        for e in edges {
            let xEnd = e.x &+ (e.y1 - e.y0) &* e.dx
            yMin = min(yMin, e.y0)
            yMax = max(yMax, e.y1)
            xMin = min(xMin, e.x, xEnd)
            xMax = max(xMax, e.x, xEnd)
        }
        guard yMax >= 0, yMin < height, xMax >= 0, xMin < width << shift else { return }
        edges.sort { a, b in
            if a.y0 != b.y0 { return a.y0 < b.y0 }
            if a.x != b.x { return a.x < b.x }
            return a.dx < b.dx
        }
        let firstRow = max(yMin, 0)
        let endRow = min(yMax, height)
        let one = 1 << shift
        var active: [Edge] = []
        active.reserveCapacity(edges.count)
        var next = 0
        // Edges that start above the image enter at row 0 at the position OpenCV would have stepped them to.
        while next < edges.count, edges[next].y0 <= firstRow {
            var e = edges[next]
            if e.y1 > firstRow {
                e.x = e.x &+ (firstRow - e.y0) &* e.dx
                active.append(e)
            }
            next += 1
        }
        guard firstRow < endRow else { return }
        for y in firstRow..<endRow {
            active.removeAll { $0.y1 <= y }
            while next < edges.count, edges[next].y0 == y {
                active.append(edges[next])
                next += 1
            }
            // Insertion sort: the order barely changes from row to row.
            active.withUnsafeMutableBufferPointer { a in
                for i in a.indices.dropFirst() {
                    let e = a[i]
                    var j = i
                    while j > 0, a[j - 1].x > e.x {
                        a[j] = a[j - 1]
                        j -= 1
                    }
                    a[j] = e
                }
            }
            let row = y * width
            var i = 0
            while i + 1 < active.count {
                let left = active[i].x
                let right = active[i + 1].x
                var x1 = (left + one - 1) >> shift
                var x2 = right >> shift
                if x1 < width && x2 >= 0 {
                    x1 = max(x1, 0)
                    x2 = min(x2, width - 1)
                    if x1 <= x2 {
                        UnsafeMutableBufferPointer(rebasing: buffer[(row + x1)...(row + x2)]).update(repeating: value)
                    }
                }
                i += 2
            }
            for k in active.indices { active[k].x = active[k].x &+ active[k].dx }
        }
    }
}
