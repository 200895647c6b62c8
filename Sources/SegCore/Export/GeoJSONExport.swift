/// A GeoJSON FeatureCollection (RFC 7946) of one image's polygons, in the shape QuPath imports as annotations.
///
/// - Each polygon is a `Feature` with `Polygon` geometry: the exterior ring, then the holes, each ring closed (first
///   position repeated at the end), so every ring has at least four positions; holes that enclose no area (fewer
///   than three vertices, or all on one line) are left out, as are polygons whose exterior encloses none.
/// - Coordinates are pixels exactly as stored (integer coordinates of boundary pixels, x right, y down). QuPath uses
///   the same axes, so objects land where they were traced; its own pixel-edge outlines lie half a pixel outside ours.
/// - Orientation (RFC 7946 §3.1.6 right-hand rule) is judged on the numbers as written, as GeoJSON tools compute it:
///   the exterior has a positive shoelace sum (counter-clockwise with y up) and holes a negative one. On a y-down
///   image that exterior runs clockwise on screen, the reverse of OpenCV's order; rings are reversed where needed,
///   keeping their first vertex. QuPath ignores ring orientation, so this only matters to strict GeoJSON readers.
/// - `properties`: `objectType: "annotation"`, `name` and `id` (the polygon id), `classification: {"name": class}`,
///   `image` (the image name), and `measurements`: every metric under its CSV column name with its unit
///   (`area_px2`/`area_um2`, `perimeter_px`/`perimeter_um`, …), measured from the rings at the scale given.
public enum GeoJSONExport {
    /// The FeatureCollection of `image` as UTF-8 bytes.
    /// - Parameter scale: µm per pixel for the measurements; `nil` gives pixel units. Coordinates stay in pixels.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` for a bad scale, ``SegCoreError/invalidPolygon(_:)`` for a
    ///   non-finite coordinate.
    public static func featureCollection(_ image: ExportImage, scale: Double? = nil) throws(SegCoreError) -> [UInt8] {
        try ExportImage.validateScale(scale)
        try image.validate()
        let names = MetricColumns.names(scaled: scale != nil)
        var features: [JSONValue] = []
        for polygon in image.polygons where ExportImage.hasArea(polygon) {
            var rings = [closedRing(polygon.exterior, positive: true)]
            for hole in polygon.holes where ExportImage.signedArea(hole) != 0 {
                rings.append(closedRing(hole, positive: false))
            }
            let metrics = ShapeMetrics.measure(exterior: polygon.exterior, holes: polygon.holes, scale: scale)
            let measurements = zip(names, MetricColumns.values(metrics)).map { ($0, JSONValue.double($1)) }
            features.append(
                .object([
                    ("type", .string("Feature")),
                    ("geometry", .object([("type", .string("Polygon")), ("coordinates", .array(rings))])),
                    (
                        "properties",
                        .object([
                            ("objectType", .string("annotation")), ("name", .string(polygon.id)), ("id", .string(polygon.id)),
                            ("classification", .object([("name", .string(polygon.className))])), ("image", .string(image.name)),
                            ("measurements", .object(measurements)),
                        ])
                    ),
                ]))
        }
        return JSONValue.object([("type", .string("FeatureCollection")), ("features", .array(features))]).bytes
    }

    /// `ring` closed, oriented so that its shoelace sum is positive (`positive`) or negative, first vertex kept.
    static func closedRing(_ ring: [Point2D], positive: Bool) -> JSONValue {
        var oriented = ring
        let area = ExportImage.signedArea(ring)
        if (positive && area < 0) || (!positive && area > 0) {
            oriented = [ring[0]] + ring.dropFirst().reversed()
        }
        oriented.append(oriented[0])
        return .array(oriented.map { .array([.number($0.x), .number($0.y)]) })
    }
}
