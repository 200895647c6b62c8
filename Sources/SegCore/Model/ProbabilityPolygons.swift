/// Turns a model's probability map into polygons by the previous system's rules, so its models give the same objects
/// here as there.
///
/// 1. The map is resized to the image's size with bilinear interpolation (``ProbabilityMap/resized(width:height:)``,
///    OpenCV's `INTER_LINEAR`).
/// 2. Foreground is where the probability is strictly above the threshold (default 0.5).
/// 3. Contours are traced as OpenCV's `findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)` does.
/// 4. Every outer contour (even depth in the tree) is an object and its direct children are its holes; an object
///    whose outer contour's shoelace area is below the minimum area (default 50 px²) is dropped with its holes, and
///    holes are left out altogether when they are turned off.
///
/// ## Usage
/// ```swift
/// let outcome = ProbabilityPolygons.extract(map, width: image.width, height: image.height, options: .init(threshold: 0.5))
/// print(outcome.polygons.count, outcome.dropped)
/// ```
public enum ProbabilityPolygons {
    /// How a probability map becomes objects.
    public struct Options: Sendable, Equatable {
        /// Foreground where the probability is strictly above this (0.05…0.95 is what callers accept).
        public var threshold: Double
        /// Objects whose outer contour encloses fewer square pixels are dropped.
        public var minArea: Double
        /// Whether objects keep their holes.
        public var holes: Bool
        /// µm per pixel for the metrics, if known.
        public var scale: Double?
        /// The class every object gets.
        public var className: String

        /// The previous system's defaults: threshold 0.5, minimum area 50 px², holes kept.
        public init(threshold: Double = 0.5, minArea: Double = 50, holes: Bool = true, scale: Double? = nil, className: String = "spheroid") {
            self.threshold = threshold
            self.minArea = minArea
            self.holes = holes
            self.scale = scale
            self.className = className
        }
    }

    /// What came out: the mask at the image's size, the kept objects in OpenCV's order, and how many were dropped.
    public struct Outcome: Sendable, Equatable {
        /// Foreground after thresholding, at the image's size.
        public var mask: BinaryMask
        /// The objects, measured, with ids `polygon_1`, `polygon_2`, … in RETR_TREE order of their outer contours.
        public var polygons: [Polygon]
        /// Objects left out for being smaller than the minimum area.
        public var dropped: Int
    }

    /// Polygons of `map` (at any size) for an image of `width` × `height`.
    public static func extract(_ map: ProbabilityMap, width: Int, height: Int, options: Options = Options()) -> Outcome {
        let mask = map.mask(resizedTo: width, height: height, above: options.threshold)
        let (polygons, dropped) = polygons(of: mask, options: options)
        return Outcome(mask: mask, polygons: polygons, dropped: dropped)
    }

    /// The objects of an already thresholded mask, by the same rules (steps 3 and 4).
    public static func polygons(of mask: BinaryMask, options: Options = Options()) -> (polygons: [Polygon], dropped: Int) {
        let contours = ContourTracer.trace(mask, retrieval: .tree, approximation: .simple)
        var depth = [Int](repeating: 0, count: contours.count)
        var holesOf = [[Int]](repeating: [], count: contours.count)
        // A contour's parent always comes before it in RETR_TREE order.
        for (i, contour) in contours.enumerated() {
            guard let parent = contour.parent, parent >= 0, parent < i else { continue }
            depth[i] = depth[parent] + 1
            if depth[i] % 2 == 1 { holesOf[parent].append(i) }
        }
        var result: [Polygon] = []
        var dropped = 0
        for (i, contour) in contours.enumerated() where depth[i] % 2 == 0 {
            let exterior = contour.points.map { Point2D(x: Double($0.x), y: Double($0.y)) }
            if abs(exterior.withUnsafeBufferPointer { RingGeometry.signedArea($0) }) < options.minArea {
                dropped += 1
                continue
            }
            let holes =
                options.holes ? holesOf[i].map { contours[$0].points.map { Point2D(x: Double($0.x), y: Double($0.y)) } } : []
            let metrics = ShapeMetrics.measure(exterior: exterior, holes: holes, scale: options.scale)
            result.append(
                Polygon(
                    id: "polygon_\(result.count + 1)", className: options.className, exterior: exterior, holes: holes, area: metrics.area,
                    metrics: metrics))
        }
        return (result, dropped)
    }
}
