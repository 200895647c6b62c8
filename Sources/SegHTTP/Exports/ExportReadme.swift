import Foundation
import SegStorage

/// The `README.txt` of an export: what is in the archive, the CSV columns and their units, and which images were
/// renamed or skipped.
struct ExportReadme {
    var projectName: String
    var exportID: UUID
    var date: Date
    var formats: Set<ExportFormat>
    var scale: Double?
    var includeImages: Bool
    var classes: [String]
    /// Exported images: their uploaded name, their name in the archive, how many objects they have.
    var exported: [(original: String, fileName: String, objects: Int)]
    /// Names of images without a segmentation.
    var skipped: [String]

    /// Metric columns of the CSV (and GeoJSON `measurements`), with what they mean.
    static let metricDescriptions: [(String, String, MetricUnit)] = [
        ("area", "area of the exterior minus its holes", .area),
        ("perimeter", "length of the exterior after Douglas-Peucker smoothing with epsilon 2 px", .length),
        ("perimeter_with_holes", "perimeter plus the same for each hole", .length),
        ("equivalent_diameter", "diameter of the circle with the same area, sqrt(4 area / pi)", .length),
        ("circularity", "min(1, 4 pi area / perimeter_with_holes^2)", .none),
        ("compactness", "perimeter_with_holes^2 / (4 pi area)", .none),
        ("convexity", "convex hull perimeter / perimeter_with_holes", .none),
        ("solidity", "area / convex hull area", .none),
        ("sphericity", "pi equivalent_diameter / perimeter_with_holes", .none),
        ("extent", "area / (bbox_width bbox_height)", .none),
        ("bbox_x, bbox_y, bbox_width, bbox_height", "bounding box of the exterior (inclusive pixel count, as OpenCV boundingRect)", .length),
        ("feret_max, feret_min", "longer and shorter side of the minimum-area rectangle", .length),
        ("feret_aspect_ratio", "feret_max / feret_min", .none),
        ("caliper_max", "largest distance between two points of the convex hull", .length),
        ("major_axis, minor_axis", "full axes of the least-squares ellipse of the exterior (0 under 5 points)", .length),
        ("centroid_x, centroid_y", "area centroid of the polygon with its holes", .length),
    ]

    enum MetricUnit {
        case none, length, area
    }

    var text: String {
        let scaled = scale != nil
        let lengthUnit = scaled ? "um" : "px"
        let areaUnit = scaled ? "um2" : "px2"
        var lines: [String] = []
        lines.append("SegHub export")
        lines.append("=============")
        lines.append("")
        lines.append("Project: \(projectName)")
        lines.append("Export:  \(exportID.uuidString.lowercased())")
        lines.append("Created: \(ISO8601DateFormatter().string(from: date))")
        lines.append("Images:  \(exported.count) exported, \(skipped.count) skipped (no segmentation)")
        if let scale {
            lines.append("Scale:   \(scale) micrometres per pixel (lengths in um, areas in um2)")
        } else {
            lines.append("Scale:   none (lengths in pixels, areas in square pixels)")
        }
        lines.append("Classes: \(classes.isEmpty ? "(none)" : classes.joined(separator: ", "))")
        lines.append("")
        lines.append("Each image's latest segmentation version is exported. Coordinates are pixels of the stored image:")
        lines.append("origin top-left, x right, y down; a vertex is the integer position of a boundary pixel, as OpenCV's")
        lines.append("findContours reports it. EXIF orientation is ignored. <image> below is the image's name in this archive.")
        lines.append("")
        lines.append("Contents")
        lines.append("--------")
        if formats.contains(.coco) {
            lines.append("coco/annotations.json   COCO JSON for all images. Polygons without holes as polygon annotations;")
            lines.append("                        polygons with holes as uncompressed RLE with iscrowd 1. area and bbox count")
            lines.append("                        the filled pixels. file_name is the image's name in this archive.")
        }
        if formats.contains(.yolo) {
            lines.append("yolo/<image>.txt        YOLO segmentation labels, one object a line: class index, then x y pairs")
            lines.append("                        divided by the image width and height. Holes are not representable: objects")
            lines.append("                        are filled. yolo/classes.txt lists the class names, line n = index n-1.")
        }
        if formats.contains(.geojson) {
            lines.append("geojson/<image>.geojson GeoJSON FeatureCollection (QuPath imports it), coordinates in pixels,")
            lines.append("                        measurements under the CSV column names.")
        }
        if formats.contains(.csv) {
            lines.append("csv/metrics.csv         Shape metrics, one row per object (RFC 4180, CRLF line ends).")
        }
        if formats.contains(.masks) {
            lines.append("masks/<image>.png       Label masks: background 0, the n-th object of the image has value n (8-bit")
            lines.append("                        gray, 16-bit above 255 objects); where objects overlap the later one wins.")
        }
        if formats.contains(.spheroseg) {
            lines.append("spheroseg/<image>.json  The previous system's polygon list: external and internal rings with")
            lines.append("                        integer points, parent_id, class, confidence 1.0 and the ring's area in px2.")
        }
        if includeImages {
            lines.append("images/<image>          The original files, byte for byte as uploaded.")
        }
        lines.append("README.txt              This file.")
        lines.append("")
        lines.append("Objects with no area (single pixels, 1-px lines) are left out of COCO, YOLO and GeoJSON and kept in")
        lines.append("the CSV, the masks and the spheroseg lists.")
        if formats.contains(.csv) || formats.contains(.geojson) {
            lines.append("")
            lines.append("Metric columns (csv/metrics.csv; GeoJSON measurements)")
            lines.append("------------------------------------------------------")
            lines.append("image          the image's name in this archive")
            lines.append("polygon_id     the object's id")
            lines.append("class          the object's class")
            for (names, meaning, unit) in Self.metricDescriptions {
                let columns = names.split(separator: ",").map { name -> String in
                    let name = name.trimmingCharacters(in: .whitespaces)
                    switch unit {
                    case .none: return name
                    case .length: return "\(name)_\(lengthUnit)"
                    case .area: return "\(name)_\(areaUnit)"
                    }
                }.joined(separator: ", ")
                lines.append("\(columns)")
                lines.append("               \(meaning)")
            }
            lines.append("Ratios have no unit. Metrics are recomputed from the exported rings at this export's scale.")
        }
        let renamed = exported.filter { $0.original != $0.fileName }
        if !renamed.isEmpty {
            lines.append("")
            lines.append("Renamed images (names made safe and unique in the archive)")
            lines.append("-----------------------------------------------------------")
            for entry in renamed {
                lines.append("\(entry.fileName)  <-  \(Self.printable(entry.original))")
            }
        }
        lines.append("")
        lines.append("Skipped images (no segmentation yet)")
        lines.append("------------------------------------")
        if skipped.isEmpty {
            lines.append("(none)")
        } else {
            for name in skipped { lines.append(Self.printable(name)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A name on one line: control characters become `?`.
    static func printable(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : $0 }))
    }
}
