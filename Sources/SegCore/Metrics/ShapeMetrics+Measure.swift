extension ShapeMetrics {
    /// Measures a polygon given by its exterior ring and hole rings (not closed), following the
    /// metric table of DESIGN.md section 2.
    ///
    /// The convex hull, minimum-area rectangle, bounding box and ellipse use the exterior only.
    /// Degenerate input never traps and never yields NaN or infinity:
    /// - a ratio whose denominator is 0 is 0 (circularity, compactness, convexity, solidity,
    ///   sphericity and extent of a shape without area or perimeter; feretAspectRatio of a
    ///   line or point, whose feretMin is 0);
    /// - majorAxis and minorAxis are 0 under 5 exterior vertices or when no ellipse fits;
    /// - the centroid of a shape without area (a point, a line, holes covering everything) is
    ///   the mean of the exterior vertices; an empty exterior measures all zeros.
    ///
    /// - Parameters:
    ///   - exterior: the outer ring.
    ///   - holes: the hole rings.
    ///   - scale: µm per pixel; lengths, positions (bounding box, centroid) are multiplied by it
    ///     and areas by its square. `nil`, zero, negative or non-finite means pixels.
    public static func measure(exterior: [Point2D], holes: [[Point2D]] = [], scale: Double? = nil) -> ShapeMetrics {
        let s: Double
        if let scale, scale.isFinite, scale > 0 { s = scale } else { s = 1 }

        return exterior.withUnsafeBufferPointer { ext -> ShapeMetrics in
            // area and centroid: exterior minus holes
            let origin = ext.first ?? Point2D(x: 0, y: 0)
            let outer = RingGeometry.moments(ext, origin: origin)
            var netArea = outer.area
            var mx = outer.mx
            var my = outer.my
            var holesLength = 0.0
            for hole in holes {
                hole.withUnsafeBufferPointer { h in
                    let m = RingGeometry.moments(h, origin: origin)
                    netArea -= m.area
                    mx -= m.mx
                    my -= m.my
                }
                holesLength += PolygonSimplifier.closedLength(hole, epsilon: 2)
            }
            let area = max(0, netArea)
            let centroid = area > 0 ? Point2D(x: mx / netArea, y: my / netArea) : RingGeometry.vertexMean(ext)

            let perimeter = PolygonSimplifier.closedLength(exterior, epsilon: 2)
            let perimeterWithHoles = perimeter + holesLength
            let box = RingGeometry.boundingBox(ext)
            let hull = ConvexHull(ext)
            let hullArea = hull.area
            let hullPerimeter = hull.perimeter
            let feret = hull.minAreaRectSides
            let ellipse = EllipseFit.axes(ext)

            @inline(__always) func ratio(_ num: Double, _ den: Double) -> Double {
                guard den > 0 else { return 0 }
                let r = num / den
                return r.isFinite ? r : 0
            }
            let equivalentDiameter = (4 * area / Double.pi).squareRoot()
            let fourPiArea = 4 * Double.pi * area
            let p2 = perimeterWithHoles * perimeterWithHoles

            return ShapeMetrics(
                area: area * s * s,
                perimeter: perimeter * s,
                perimeterWithHoles: perimeterWithHoles * s,
                equivalentDiameter: equivalentDiameter * s,
                circularity: min(1, ratio(fourPiArea, p2)),
                compactness: ratio(p2, fourPiArea),
                convexity: ratio(hullPerimeter, perimeterWithHoles),
                solidity: ratio(area, hullArea),
                sphericity: ratio(Double.pi * equivalentDiameter, perimeterWithHoles),
                extent: ratio(area, box.width * box.height),
                boundingBox: BoundingBox(x: box.x * s, y: box.y * s, width: box.width * s, height: box.height * s),
                feretMax: feret.long * s,
                feretMin: feret.short * s,
                feretAspectRatio: ratio(feret.long, feret.short),
                caliperMax: hull.caliperMax * s,
                majorAxis: ellipse.major * s,
                minorAxis: ellipse.minor * s,
                centroid: Point2D(x: centroid.x * s, y: centroid.y * s)
            )
        }
    }
}
