/// One image's polygons, the input of every export format.
///
/// Coordinates are pixels (DESIGN.md section 2). The exporters read only `id`, `className`, `exterior` and `holes` of
/// each polygon: `area` and `metrics` stored on a polygon are ignored, and every number an export prints is computed
/// from the rings it prints, at the scale the export is asked for.
///
/// Common rules of the exports:
/// - a polygon whose exterior is empty is left out of every format (the label mask keeps its number unused);
/// - COCO, YOLO and GeoJSON need an area: a polygon whose exterior encloses none (fewer than three vertices, or all
///   on one line: a single pixel or a 1-px line) is left out of them, and GeoJSON also leaves out such holes; the
///   CSV, the label mask and the spheroseg list keep them;
/// - a non-finite coordinate makes the export throw ``SegCoreError/invalidPolygon(_:)``.
public struct ExportImage: Sendable, Equatable {
    /// The image's file name as uploaded (any Unicode; never used as a path by SegCore).
    public var name: String
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// The image's polygons, in result order.
    public var polygons: [Polygon]

    /// Creates an export input.
    public init(name: String, width: Int, height: Int, polygons: [Polygon]) {
        self.name = name
        self.width = width
        self.height = height
        self.polygons = polygons
    }

    /// The distinct polygon classes of `images` in order of first appearance: the default class list of the COCO
    /// categories and YOLO class indices.
    public static func classNames(in images: [ExportImage]) -> [String] {
        var seen: Set<String> = []
        var names: [String] = []
        for image in images {
            for polygon in image.polygons where seen.insert(polygon.className).inserted {
                names.append(polygon.className)
            }
        }
        return names
    }

    /// Throws unless the size is non-negative and every coordinate is finite.
    func validate() throws(SegCoreError) {
        guard width >= 0, height >= 0 else {
            throw .invalidArgument("image size \(width)×\(height) is negative")
        }
        for polygon in polygons {
            for ring in CollectionOfOne(polygon.exterior) + polygon.holes {
                for p in ring where !p.x.isFinite || !p.y.isFinite {
                    throw .invalidPolygon("polygon \(polygon.id) has a non-finite coordinate")
                }
            }
        }
    }

    /// Whether polygon-based formats (COCO, YOLO, GeoJSON) can write `polygon`: its exterior encloses an area.
    static func hasArea(_ polygon: Polygon) -> Bool {
        signedArea(polygon.exterior) != 0
    }

    /// Checks a µm/px scale: `nil` (pixels) or a finite positive number.
    static func validateScale(_ scale: Double?) throws(SegCoreError) {
        if let scale, !(scale.isFinite && scale > 0) {
            throw .invalidArgument("scale must be a positive number of µm per pixel, got \(scale)")
        }
    }

    /// Checks an explicit class list (distinct names that cover every polygon) or derives one from the polygons.
    static func resolveClasses(_ classes: [String]?, for images: [ExportImage]) throws(SegCoreError) -> [String: Int] {
        let list = classes ?? classNames(in: images)
        var index: [String: Int] = [:]
        for (i, name) in list.enumerated() {
            guard index[name] == nil else { throw .invalidArgument("class \"\(name)\" is listed twice") }
            index[name] = i
        }
        for image in images {
            for polygon in image.polygons where index[polygon.className] == nil {
                throw .invalidArgument("class \"\(polygon.className)\" of polygon \(polygon.id) is not in the class list")
            }
        }
        return index
    }

    /// Signed shoelace area of a ring (positive when counter-clockwise with y up, i.e. clockwise on a y-down screen).
    static func signedArea(_ ring: [Point2D]) -> Double {
        guard ring.count >= 3 else { return 0 }
        var sum = 0.0
        var prev = ring[ring.count - 1]
        let origin = ring[0]
        for p in ring {
            sum += (prev.x - origin.x) * (p.y - origin.y) - (p.x - origin.x) * (prev.y - origin.y)
            prev = p
        }
        return sum / 2
    }
}
