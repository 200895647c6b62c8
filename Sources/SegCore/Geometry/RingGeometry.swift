/// Plain measurements of one ring (a closed polygon given without repeating its first vertex):
/// shoelace area, area moments, length and bounding box, each in one pass without allocating.
enum RingGeometry {
    /// Signed shoelace area (positive when the ring turns counter-clockwise in x-right/y-up axes,
    /// i.e. clockwise on screen). An n×n square of pixel centres has |area| = (n−1)².
    static func signedArea(_ ring: UnsafeBufferPointer<Point2D>) -> Double {
        guard ring.count > 2 else { return 0 }
        var sum = 0.0
        var prev = ring[ring.count - 1]
        for p in ring {
            sum += prev.x * p.y - prev.y * p.x
            prev = p
        }
        return sum * 0.5
    }

    /// Area and first moments (∫x dA, ∫y dA) of the region the ring bounds, all taken with a
    /// positive orientation, computed relative to `origin` for precision.
    static func moments(_ ring: UnsafeBufferPointer<Point2D>, origin: Point2D) -> (area: Double, mx: Double, my: Double) {
        guard ring.count > 2 else { return (0, 0, 0) }
        var a = 0.0
        var mx = 0.0
        var my = 0.0
        let last = ring[ring.count - 1]
        var px = last.x - origin.x
        var py = last.y - origin.y
        for p in ring {
            let x = p.x - origin.x
            let y = p.y - origin.y
            let cross = px * y - py * x
            a += cross
            mx += (px + x) * cross
            my += (py + y) * cross
            px = x
            py = y
        }
        // a = 2·area, mx = 6·∫x dA (relative to origin)
        let sign: Double = a < 0 ? -1 : 1
        let area = sign * a * 0.5
        return (area, sign * mx / 6 + area * origin.x, sign * my / 6 + area * origin.y)
    }

    /// Sum of the segment lengths of the closed ring (0 for fewer than two vertices).
    static func closedLength(_ ring: UnsafeBufferPointer<Point2D>) -> Double {
        guard ring.count > 1 else { return 0 }
        var length = 0.0
        var prev = ring[ring.count - 1]
        for p in ring {
            let dx = p.x - prev.x
            let dy = p.y - prev.y
            length += (dx * dx + dy * dy).squareRoot()
            prev = p
        }
        return length
    }

    /// The box OpenCV's `boundingRect` reports: from the floor of the smallest coordinate to the
    /// floor of the largest, counting pixels inclusively (width = maxX − minX + 1 on integer
    /// rings). An empty ring gives an all-zero box.
    static func boundingBox(_ ring: UnsafeBufferPointer<Point2D>) -> BoundingBox {
        guard let first = ring.first else { return BoundingBox(x: 0, y: 0, width: 0, height: 0) }
        var minX = first.x
        var maxX = first.x
        var minY = first.y
        var maxY = first.y
        for p in ring {
            minX = min(minX, p.x)
            maxX = max(maxX, p.x)
            minY = min(minY, p.y)
            maxY = max(maxY, p.y)
        }
        let x0 = minX.rounded(.down)
        let y0 = minY.rounded(.down)
        return BoundingBox(x: x0, y: y0, width: maxX.rounded(.down) - x0 + 1, height: maxY.rounded(.down) - y0 + 1)
    }

    /// Arithmetic mean of the vertices (the centroid we report for rings that bound no area).
    static func vertexMean(_ ring: UnsafeBufferPointer<Point2D>) -> Point2D {
        guard !ring.isEmpty else { return Point2D(x: 0, y: 0) }
        var sx = 0.0
        var sy = 0.0
        for p in ring {
            sx += p.x
            sy += p.y
        }
        let n = Double(ring.count)
        return Point2D(x: sx / n, y: sy / n)
    }
}
