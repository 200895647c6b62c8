/// Shape metrics as CSV (RFC 4180): a header, then one row per polygon.
///
/// Columns: `image, polygon_id, class`, then every metric of DESIGN.md section 2 in snake_case with its unit:
/// `area_px2, perimeter_px, perimeter_with_holes_px, equivalent_diameter_px, circularity, compactness, convexity,
/// solidity, sphericity, extent, bbox_x_px, bbox_y_px, bbox_width_px, bbox_height_px, feret_max_px, feret_min_px,
/// feret_aspect_ratio, caliper_max_px, major_axis_px, minor_axis_px, centroid_x_px, centroid_y_px`; with a scale the
/// units are `_um2` and `_um` instead.
///
/// The metrics are always measured here, from the polygon's rings, with ``ShapeMetrics/measure(exterior:holes:scale:)``
/// at the scale given: metrics stored on the polygons are ignored, so a file's numbers and its column units cannot
/// disagree. Numbers use `.` and the shortest form that reads back exactly (`12.5`, `1e-05`). Fields holding a comma, a
/// quote, CR or LF are quoted with quotes doubled; records end in CRLF. Text is written as given: a name starting with
/// `=`, `+`, `-` or `@` is not altered, so spreadsheet users should import the file as text.
///
/// ## Usage
/// ```swift
/// let pixels = try MetricsCSVExport.csv(images)               // area_px2, perimeter_px, …
/// let microns = try MetricsCSVExport.csv(images, scale: 0.65) // area_um2, perimeter_um, …
/// ```
public enum MetricsCSVExport {
    /// The CSV text.
    /// - Parameter scale: µm per pixel; `nil` writes pixel units.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` for a scale that is not a positive finite number,
    ///   ``SegCoreError/invalidPolygon(_:)`` for a non-finite coordinate.
    public static func csv(_ images: [ExportImage], scale: Double? = nil) throws(SegCoreError) -> String {
        try ExportImage.validateScale(scale)
        for image in images { try image.validate() }
        var out = ""
        appendRecord(["image", "polygon_id", "class"] + MetricColumns.names(scaled: scale != nil), to: &out)
        for image in images {
            for polygon in image.polygons where !polygon.exterior.isEmpty {
                let metrics = ShapeMetrics.measure(exterior: polygon.exterior, holes: polygon.holes, scale: scale)
                let numbers = MetricColumns.values(metrics).map { $0.isFinite ? $0.description : "" }
                appendRecord([image.name, polygon.id, polygon.className] + numbers, to: &out)
            }
        }
        return out
    }

    static func appendRecord(_ fields: [String], to out: inout String) {
        for (i, field) in fields.enumerated() {
            if i > 0 { out += "," }
            out += quoted(field)
        }
        out += "\r\n"
    }

    /// `field` as an RFC 4180 field: quoted, with quotes doubled, when it holds a comma, quote, CR or LF.
    static func quoted(_ field: String) -> String {
        let needsQuotes = field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { return field }
        var out = "\""
        for scalar in field.unicodeScalars {
            if scalar == "\"" { out.unicodeScalars.append("\"") }
            out.unicodeScalars.append(scalar)
        }
        out += "\""
        return out
    }
}
