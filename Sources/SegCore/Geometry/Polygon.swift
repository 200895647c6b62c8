/// A segmented object: an exterior ring with zero or more hole rings, plus its measurements.
///
/// JSON: `{"id": "...", "class": "spheroid", "exterior": [[x,y],...], "holes": [[[x,y],...]],
/// "area": ..., "metrics": {...}}`. Rings are not closed (the first vertex is not repeated).
public struct Polygon: Sendable, Equatable, Codable {
    /// Identifier, unique within one image's result (`polygon_1`, … for traced objects).
    public var id: String
    /// Object class; `spheroid` unless set otherwise.
    public var className: String
    /// The outer boundary.
    public var exterior: [Point2D]
    /// Boundaries of the holes inside the exterior.
    public var holes: [[Point2D]]
    /// Area in px² (or µm² when measured with a scale): the exterior's area minus its holes'.
    public var area: Double
    /// All shape metrics, computed from exactly these rings; `nil` until measured.
    public var metrics: ShapeMetrics?

    /// Creates a polygon; `area` defaults to 0 until measured.
    public init(
        id: String, className: String = "spheroid", exterior: [Point2D], holes: [[Point2D]] = [], area: Double = 0,
        metrics: ShapeMetrics? = nil
    ) {
        self.id = id
        self.className = className
        self.exterior = exterior
        self.holes = holes
        self.area = area
        self.metrics = metrics
    }

    enum CodingKeys: String, CodingKey {
        case id
        case className = "class"
        case exterior, holes, area, metrics
    }

    /// Decodes leniently, as a PUT of edited polygons needs: `holes` defaults to `[]`, `class` to
    /// `spheroid`, `id` to empty, `area` to 0; unknown keys are ignored.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        className = try c.decodeIfPresent(String.self, forKey: .className) ?? "spheroid"
        exterior = try c.decode([Point2D].self, forKey: .exterior)
        holes = try c.decodeIfPresent([[Point2D]].self, forKey: .holes) ?? []
        area = try c.decodeIfPresent(Double.self, forKey: .area) ?? 0
        metrics = try c.decodeIfPresent(ShapeMetrics.self, forKey: .metrics)
    }
}
