/// YOLO segmentation labels (Ultralytics format): one text file per image, one line per object,
/// `class_index x1 y1 x2 y2 …`, coordinates divided by the image width and height.
///
/// - Coordinates are the ring's own vertices (integer pixel coordinates of boundary pixels) divided by width and
///   height, clamped to [0, 1] (YOLO rejects labels outside it), with six decimals, lines ending in `\n`.
/// - Holes: the YOLO segmentation format has none, so only the exterior ring is written and a polygon's holes are
///   filled. Use the COCO, GeoJSON or mask export where holes matter.
/// - Class indices count from 0 in the order of the class list (write it as `names` in the dataset YAML).
///
/// ## Usage
/// ```swift
/// let yolo = try YOLOExport.labels(images)
/// // yolo.classes[i] is class index i; yolo.files[k] is the label file of images[k]
/// ```
public enum YOLOExport {
    /// The labels of a set of images and the class list their indices refer to.
    public struct Output: Sendable, Equatable {
        /// Class names; a line's first number is an index into this list.
        public var classes: [String]
        /// One label file text per input image, in input order (empty for an image without objects).
        public var files: [String]
    }

    /// Label texts for `images`.
    /// - Parameter classes: the class list; `nil` takes the polygon classes in order of first appearance.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a polygon's class is not in `classes`, a class is listed
    ///   twice, or an image with objects has no area; ``SegCoreError/invalidPolygon(_:)`` for a non-finite coordinate.
    public static func labels(_ images: [ExportImage], classes: [String]? = nil) throws(SegCoreError) -> Output {
        for image in images { try image.validate() }
        let classIndex = try ExportImage.resolveClasses(classes, for: images)
        var files: [String] = []
        files.reserveCapacity(images.count)
        for image in images {
            var text = ""
            for polygon in image.polygons where ExportImage.hasArea(polygon) {
                guard image.width > 0, image.height > 0 else {
                    throw .invalidArgument("image \(image.name) is \(image.width)×\(image.height): coordinates cannot be normalised")
                }
                text += String(classIndex[polygon.className] ?? 0)
                let (w, h) = (Double(image.width), Double(image.height))
                for p in polygon.exterior {
                    text += " "
                    text += fixed6(p.x / w)
                    text += " "
                    text += fixed6(p.y / h)
                }
                text += "\n"
            }
            files.append(text)
        }
        return Output(classes: classIndex.sorted { $0.value < $1.value }.map(\.key), files: files)
    }

    /// `v` clamped to [0, 1] with exactly six decimals (`0.123457`), independent of any locale.
    static func fixed6(_ v: Double) -> String {
        let micros = Int((min(max(v, 0), 1) * 1_000_000).rounded())
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
