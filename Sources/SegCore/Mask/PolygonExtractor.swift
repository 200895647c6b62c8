/// Turns masks into measured polygons: outer contours with their holes, as OpenCV's
/// `findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE)` reports them, each with its ``ShapeMetrics``.
///
/// ## Usage
/// ```swift
/// let polygons = PolygonExtractor.polygons(from: mask, minArea: 50, scale: 0.65)
/// let objects = try PolygonExtractor.polygons(fromLabels: raster)   // one object per label value
/// ```
public enum PolygonExtractor {
    /// Polygons of every foreground component of `mask`, in OpenCV's order.
    /// - Parameters:
    ///   - minArea: objects whose area (px², before scaling) is below this are left out.
    ///   - scale: µm per pixel for the metrics; coordinates stay in pixels.
    ///   - idPrefix: ids are `\(idPrefix)1`, `\(idPrefix)2`, … in output order.
    public static func polygons(
        from mask: BinaryMask, minArea: Double = 0, scale: Double? = nil, className: String = "spheroid", idPrefix: String = "polygon_"
    ) -> [Polygon] {
        let contours = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .simple)
        var result: [Polygon] = []
        appendPolygons(from: contours, offset: Point(0, 0), minArea: minArea, scale: scale, className: className, to: &result)
        for i in result.indices { result[i].id = "\(idPrefix)\(i + 1)" }
        return result
    }

    /// Polygons of a label mask: each distinct non-zero value (gray, 16-bit gray or RGB; alpha is
    /// ignored) is one object, in ascending value order; a value with several separate
    /// components gives several polygons. A binary mask (one non-zero value) gives the same
    /// polygons as ``polygons(from:minArea:scale:className:idPrefix:)``, so callers need not
    /// tell the two kinds apart first.
    public static func polygons(
        fromLabels raster: RasterImage, minArea: Double = 0, scale: Double? = nil, className: String = "spheroid",
        idPrefix: String = "polygon_"
    ) -> [Polygon] {
        let labels = LabelMap(raster)
        var result: [Polygon] = []
        for region in labels.regions() {
            let crop = labels.mask(of: region)
            let contours = ContourTracer.trace(crop, retrieval: .ccomp, approximation: .simple)
            appendPolygons(
                from: contours, offset: Point(region.minX, region.minY), minArea: minArea, scale: scale, className: className,
                to: &result)
        }
        for i in result.indices { result[i].id = "\(idPrefix)\(i + 1)" }
        return result
    }

    /// One cropped binary mask per distinct non-zero value of a label mask, in ascending value
    /// order, with the offset of its crop in the full image.
    public static func labelMasks(_ raster: RasterImage) -> [(mask: BinaryMask, offset: Point)] {
        let labels = LabelMap(raster)
        return labels.regions().map { (labels.mask(of: $0), Point($0.minX, $0.minY)) }
    }

    /// Whether the raster holds more than one distinct non-zero value (a label mask rather than a binary one).
    public static func isLabelMask(_ raster: RasterImage) -> Bool {
        LabelMap(raster).distinctNonZeroCount(stopAt: 2) > 1
    }

    /// Measures a polygon's rings and stores the metrics and area on it.
    public static func measured(_ polygon: Polygon, scale: Double? = nil) -> Polygon {
        var p = polygon
        let metrics = ShapeMetrics.measure(exterior: p.exterior, holes: p.holes, scale: scale)
        p.metrics = metrics
        p.area = metrics.area
        return p
    }

    static func appendPolygons(
        from contours: [Contour], offset: Point, minArea: Double, scale: Double?, className: String, to result: inout [Polygon]
    ) {
        var holesOf = [[Int]](repeating: [], count: contours.count)
        for (i, c) in contours.enumerated() where c.isHole {
            if let parent = c.parent, parent >= 0, parent < contours.count { holesOf[parent].append(i) }
        }
        for (i, c) in contours.enumerated() where !c.isHole {
            let exterior = ring(c.points, offset)
            let holes = holesOf[i].map { ring(contours[$0].points, offset) }
            // Measured once, at the requested scale; the minimum area is in px², so undo the scale.
            let metrics = ShapeMetrics.measure(exterior: exterior, holes: holes, scale: scale)
            let pixelArea = scale.map { $0.isFinite && $0 > 0 ? metrics.area / ($0 * $0) : metrics.area } ?? metrics.area
            if pixelArea < minArea { continue }
            result.append(Polygon(id: "", className: className, exterior: exterior, holes: holes, area: metrics.area, metrics: metrics))
        }
    }

    private static func ring(_ points: [Point], _ offset: Point) -> [Point2D] {
        points.map { Point2D(x: Double($0.x + offset.x), y: Double($0.y + offset.y)) }
    }
}

/// Per-pixel label keys of a raster and the bounding boxes of each key.
struct LabelMap {
    let width: Int
    let height: Int
    /// One key per pixel; 0 is background.
    let keys: [UInt64]

    struct Region {
        var key: UInt64
        var minX: Int
        var minY: Int
        var maxX: Int
        var maxY: Int
    }

    init(_ raster: RasterImage) {
        width = raster.width
        height = raster.height
        let n = raster.width * raster.height
        let ch = raster.channels
        let colors = raster.colorChannels
        var k = [UInt64](repeating: 0, count: n)
        switch raster.samples {
        case .uint8(let s): Self.pack(s, channels: ch, colors: colors, into: &k)
        case .uint16(let s): Self.pack(s, channels: ch, colors: colors, into: &k)
        case .uint32(let s): Self.pack(s, channels: ch, colors: colors, into: &k, bitsPerColor: 64 / max(1, colors))
        }
        keys = k
    }

    /// One key per pixel: its colour samples (alpha excluded) packed `bitsPerColor` bits each
    /// (a single 32-bit channel keeps all its bits).
    private static func pack<T: FixedWidthInteger>(
        _ samples: [T], channels: Int, colors: Int, into keys: inout [UInt64], bitsPerColor: Int = 16
    ) {
        let shift = UInt64(bitsPerColor)
        samples.withUnsafeBufferPointer { src in
            keys.withUnsafeMutableBufferPointer { out in
                for i in 0..<out.count {
                    var key: UInt64 = 0
                    for c in 0..<colors { key = key << shift | UInt64(truncatingIfNeeded: src[i * channels + c]) }
                    out[i] = key
                }
            }
        }
    }

    func distinctNonZeroCount(stopAt limit: Int) -> Int {
        var seen: Set<UInt64> = []
        var last: UInt64 = 0
        for key in keys where key != 0 && key != last {
            last = key
            seen.insert(key)
            if seen.count >= limit { break }
        }
        return seen.count
    }

    /// Bounding boxes per key, in ascending key order.
    func regions() -> [Region] {
        var index: [UInt64: Int] = [:]
        var regions: [Region] = []
        var lastKey: UInt64 = 0
        var lastIndex = -1
        keys.withUnsafeBufferPointer { k in
            for y in 0..<height {
                for x in 0..<width {
                    let key = k[y * width + x]
                    if key == 0 { continue }
                    if key != lastKey || lastIndex < 0 {
                        if let found = index[key] {
                            lastIndex = found
                        } else {
                            lastIndex = regions.count
                            index[key] = lastIndex
                            regions.append(Region(key: key, minX: x, minY: y, maxX: x, maxY: y))
                        }
                        lastKey = key
                    }
                    if x < regions[lastIndex].minX { regions[lastIndex].minX = x }
                    if x > regions[lastIndex].maxX { regions[lastIndex].maxX = x }
                    regions[lastIndex].maxY = y
                }
            }
        }
        return regions.sorted { $0.key < $1.key }
    }

    /// The binary mask of one region's key, cropped to its bounding box.
    func mask(of region: Region) -> BinaryMask {
        let w = region.maxX - region.minX + 1
        let h = region.maxY - region.minY + 1
        var mask = BinaryMask(width: w, height: h)
        keys.withUnsafeBufferPointer { k in
            mask.pixels.withUnsafeMutableBufferPointer { m in
                for y in 0..<h {
                    let src = (region.minY + y) * width + region.minX
                    for x in 0..<w where k[src + x] == region.key { m[y * w + x] = 255 }
                }
            }
        }
        return mask
    }
}

extension BinaryMask {
    /// Foreground wherever any colour channel of `raster` is non-zero (alpha is ignored).
    public init(anyChannelOf raster: RasterImage) {
        self.init(width: raster.width, height: raster.height)
        switch raster.samples {
        case .uint8(let s): Self.markNonZero(s, channels: raster.channels, colors: raster.colorChannels, into: &pixels)
        case .uint16(let s): Self.markNonZero(s, channels: raster.channels, colors: raster.colorChannels, into: &pixels)
        case .uint32(let s): Self.markNonZero(s, channels: raster.channels, colors: raster.colorChannels, into: &pixels)
        }
    }

    private static func markNonZero<T: FixedWidthInteger>(_ samples: [T], channels: Int, colors: Int, into pixels: inout [UInt8]) {
        samples.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { out in
                for i in 0..<out.count {
                    var any: T = 0
                    for c in 0..<colors { any |= src[i * channels + c] }
                    out[i] = any != 0 ? 255 : 0
                }
            }
        }
    }
}
