/// The metric columns shared by the CSV and GeoJSON exports: snake_case names carrying their unit (`_px`/`_um` for
/// lengths and positions, `_px2`/`_um2` for areas, none for ratios), in DESIGN.md's order.
enum MetricColumns {
    enum Unit {
        case none, length, area
    }

    /// Base names and units, in the order ``values(_:)`` returns the numbers.
    static let columns: [(String, Unit)] = {
        var c: [(String, Unit)] = []
        c.append(("area", Unit.area))
        c.append(("perimeter", Unit.length))
        c.append(("perimeter_with_holes", Unit.length))
        c.append(("equivalent_diameter", Unit.length))
        for name in ["circularity", "compactness", "convexity", "solidity", "sphericity", "extent"] {
            c.append((name, Unit.none))
        }
        for name in ["bbox_x", "bbox_y", "bbox_width", "bbox_height", "feret_max", "feret_min"] {
            c.append((name, Unit.length))
        }
        c.append(("feret_aspect_ratio", Unit.none))
        for name in ["caliper_max", "major_axis", "minor_axis", "centroid_x", "centroid_y"] {
            c.append((name, Unit.length))
        }
        return c
    }()

    /// Column names for a scale: `area_px2`, `perimeter_px`, … without one, `area_um2`, `perimeter_um`, … with one.
    static func names(scaled: Bool) -> [String] {
        var out: [String] = []
        for (name, unit) in columns {
            switch unit {
            case .none: out.append(name)
            case .length: out.append(name + (scaled ? "_um" : "_px"))
            case .area: out.append(name + (scaled ? "_um2" : "_px2"))
            }
        }
        return out
    }

    /// The values of `metrics` in column order.
    static func values(_ m: ShapeMetrics) -> [Double] {
        var v: [Double] = []
        v.reserveCapacity(columns.count)
        v.append(m.area)
        v.append(m.perimeter)
        v.append(m.perimeterWithHoles)
        v.append(m.equivalentDiameter)
        v.append(m.circularity)
        v.append(m.compactness)
        v.append(m.convexity)
        v.append(m.solidity)
        v.append(m.sphericity)
        v.append(m.extent)
        v.append(m.boundingBox.x)
        v.append(m.boundingBox.y)
        v.append(m.boundingBox.width)
        v.append(m.boundingBox.height)
        v.append(m.feretMax)
        v.append(m.feretMin)
        v.append(m.feretAspectRatio)
        v.append(m.caliperMax)
        v.append(m.majorAxis)
        v.append(m.minorAxis)
        v.append(m.centroid.x)
        v.append(m.centroid.y)
        return v
    }
}
