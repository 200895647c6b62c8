/// The previous system's polygon list ("spheroseg"), one JSON array per image, so its users can move results over:
/// `[{"id": "polygon_1", "points": [{"x": 10, "y": 20}, …], "type": "external", "class": "spheroid",
/// "confidence": 1.0, "area": …}, {"id": "polygon_1_hole_1", …, "type": "internal", "parent_id": "polygon_1", …}]`.
///
/// - Each polygon gives one `external` entry, followed by one `internal` entry per hole whose `parent_id` is the
///   polygon's id; a polygon without an id is called `polygon_<n>` after its position in the image (from 1).
/// - Points are integer pixel coordinates (real-valued vertices rounded half away from zero), rings not closed.
/// - `area` is the shoelace area (px²) of that entry's own ring as printed, so an object's area is its external
///   area minus its internal ones. `confidence` is 1.0: SegHub's polygons carry no score.
public enum SpherosegExport {
    /// The polygon list of `image` as UTF-8 bytes.
    /// - Throws: ``SegCoreError/invalidPolygon(_:)`` for a non-finite coordinate.
    public static func json(_ image: ExportImage) throws(SegCoreError) -> [UInt8] {
        try image.validate()
        var entries: [JSONValue] = []
        for (n, polygon) in image.polygons.enumerated() where !polygon.exterior.isEmpty {
            let id = polygon.id.isEmpty ? "polygon_\(n + 1)" : polygon.id
            entries.append(entry(id: id, ring: polygon.exterior, parent: nil, className: polygon.className))
            for (k, hole) in polygon.holes.enumerated() where !hole.isEmpty {
                entries.append(entry(id: "\(id)_hole_\(k + 1)", ring: hole, parent: id, className: polygon.className))
            }
        }
        return JSONValue.array(entries).bytes
    }

    static func entry(id: String, ring: [Point2D], parent: String?, className: String) -> JSONValue {
        let points = ring.map { p in
            Point2D(x: Double(PolygonRasterizer.integerCoordinate(p.x) ?? 0), y: Double(PolygonRasterizer.integerCoordinate(p.y) ?? 0))
        }
        var members: [(String, JSONValue)] = [
            ("id", .string(id)),
            ("points", .array(points.map { .object([("x", .int(Int($0.x))), ("y", .int(Int($0.y)))]) })),
            ("type", .string(parent == nil ? "external" : "internal")),
        ]
        if let parent { members.append(("parent_id", .string(parent))) }
        members += [
            ("class", .string(className)), ("confidence", .double(1.0)), ("area", .double(abs(ExportImage.signedArea(points)))),
        ]
        return .object(members)
    }
}
