/// An axis-aligned box as OpenCV's `boundingRect` gives it (width and height count pixels inclusively).
public struct BoundingBox: Sendable, Equatable, Codable {
    /// Left column.
    public var x: Double
    /// Top row.
    public var y: Double
    /// Width (inclusive pixel count for integer rings).
    public var width: Double
    /// Height (inclusive pixel count for integer rings).
    public var height: Double

    /// Creates a box.
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// The shape metrics of one polygon (DESIGN.md section 2). Lengths are in px (or µm with a
/// scale), areas in px² (or µm²); ratios have no unit.
public struct ShapeMetrics: Sendable, Equatable, Codable {
    /// Shoelace area of the exterior minus its holes (≥ 0).
    public var area: Double
    /// Length of the exterior after Douglas-Peucker with ε = 2 px.
    public var perimeter: Double
    /// `perimeter` plus the same for each hole.
    public var perimeterWithHoles: Double
    /// √(4·area/π).
    public var equivalentDiameter: Double
    /// min(1, 4π·area / perimeterWithHoles²).
    public var circularity: Double
    /// perimeterWithHoles² / (4π·area).
    public var compactness: Double
    /// Convex hull perimeter / perimeterWithHoles.
    public var convexity: Double
    /// area / convex hull area.
    public var solidity: Double
    /// π·equivalentDiameter / perimeterWithHoles.
    public var sphericity: Double
    /// area / (boundingBox.width · boundingBox.height).
    public var extent: Double
    /// OpenCV `boundingRect` of the exterior.
    public var boundingBox: BoundingBox
    /// Longer side of the minimum-area rectangle (OpenCV `minAreaRect`).
    public var feretMax: Double
    /// Shorter side of the minimum-area rectangle.
    public var feretMin: Double
    /// feretMax / feretMin.
    public var feretAspectRatio: Double
    /// The true maximum caliper diameter of the convex hull.
    public var caliperMax: Double
    /// Full major axis of the least-squares ellipse fit (OpenCV `fitEllipse`), 0 under 5 points.
    public var majorAxis: Double
    /// Full minor axis of the least-squares ellipse fit, 0 under 5 points.
    public var minorAxis: Double
    /// Area centroid of the polygon with holes.
    public var centroid: Point2D

    enum CodingKeys: String, CodingKey {
        case area, perimeter, perimeterWithHoles, equivalentDiameter, circularity, compactness, convexity, solidity
        case sphericity, extent, boundingBox, feretMax, feretMin, feretAspectRatio, caliperMax, majorAxis, minorAxis
        case centroid
    }

    private struct CentroidJSON: Codable {
        var x: Double
        var y: Double
    }

    /// Creates metrics from their values.
    public init(
        area: Double, perimeter: Double, perimeterWithHoles: Double, equivalentDiameter: Double, circularity: Double,
        compactness: Double, convexity: Double, solidity: Double, sphericity: Double, extent: Double,
        boundingBox: BoundingBox, feretMax: Double, feretMin: Double, feretAspectRatio: Double, caliperMax: Double,
        majorAxis: Double, minorAxis: Double, centroid: Point2D
    ) {
        self.area = area
        self.perimeter = perimeter
        self.perimeterWithHoles = perimeterWithHoles
        self.equivalentDiameter = equivalentDiameter
        self.circularity = circularity
        self.compactness = compactness
        self.convexity = convexity
        self.solidity = solidity
        self.sphericity = sphericity
        self.extent = extent
        self.boundingBox = boundingBox
        self.feretMax = feretMax
        self.feretMin = feretMin
        self.feretAspectRatio = feretAspectRatio
        self.caliperMax = caliperMax
        self.majorAxis = majorAxis
        self.minorAxis = minorAxis
        self.centroid = centroid
    }

    /// Encodes with the centroid as `{"x": …, "y": …}`; non-finite ratios (an empty shape) become 0.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func f(_ v: Double) -> Double { v.isFinite ? v : 0 }
        try c.encode(f(area), forKey: .area)
        try c.encode(f(perimeter), forKey: .perimeter)
        try c.encode(f(perimeterWithHoles), forKey: .perimeterWithHoles)
        try c.encode(f(equivalentDiameter), forKey: .equivalentDiameter)
        try c.encode(f(circularity), forKey: .circularity)
        try c.encode(f(compactness), forKey: .compactness)
        try c.encode(f(convexity), forKey: .convexity)
        try c.encode(f(solidity), forKey: .solidity)
        try c.encode(f(sphericity), forKey: .sphericity)
        try c.encode(f(extent), forKey: .extent)
        try c.encode(boundingBox, forKey: .boundingBox)
        try c.encode(f(feretMax), forKey: .feretMax)
        try c.encode(f(feretMin), forKey: .feretMin)
        try c.encode(f(feretAspectRatio), forKey: .feretAspectRatio)
        try c.encode(f(caliperMax), forKey: .caliperMax)
        try c.encode(f(majorAxis), forKey: .majorAxis)
        try c.encode(f(minorAxis), forKey: .minorAxis)
        try c.encode(CentroidJSON(x: f(centroid.x), y: f(centroid.y)), forKey: .centroid)
    }

    /// Decodes the JSON form written by ``encode(to:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        area = try c.decode(Double.self, forKey: .area)
        perimeter = try c.decode(Double.self, forKey: .perimeter)
        perimeterWithHoles = try c.decode(Double.self, forKey: .perimeterWithHoles)
        equivalentDiameter = try c.decode(Double.self, forKey: .equivalentDiameter)
        circularity = try c.decode(Double.self, forKey: .circularity)
        compactness = try c.decode(Double.self, forKey: .compactness)
        convexity = try c.decode(Double.self, forKey: .convexity)
        solidity = try c.decode(Double.self, forKey: .solidity)
        sphericity = try c.decode(Double.self, forKey: .sphericity)
        extent = try c.decode(Double.self, forKey: .extent)
        boundingBox = try c.decode(BoundingBox.self, forKey: .boundingBox)
        feretMax = try c.decode(Double.self, forKey: .feretMax)
        feretMin = try c.decode(Double.self, forKey: .feretMin)
        feretAspectRatio = try c.decode(Double.self, forKey: .feretAspectRatio)
        caliperMax = try c.decode(Double.self, forKey: .caliperMax)
        majorAxis = try c.decode(Double.self, forKey: .majorAxis)
        minorAxis = try c.decode(Double.self, forKey: .minorAxis)
        let cj = try c.decode(CentroidJSON.self, forKey: .centroid)
        centroid = Point2D(x: cj.x, y: cj.y)
    }
}
