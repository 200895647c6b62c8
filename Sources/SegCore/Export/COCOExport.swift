/// COCO object-detection JSON (`images`, `annotations`, `categories`) for a set of images.
///
/// - A polygon without holes is a polygon annotation, `segmentation: [[x1, y1, x2, y2, …]]` with the ring's own
///   vertices (integer pixel coordinates of boundary pixels, not closed) and `iscrowd: 0`.
/// - A polygon with holes is written as uncompressed RLE (`{"counts": [...], "size": [h, w]}`, column-major as in
///   pycocotools) of its pixels with `iscrowd: 1`, as the previous system did: COCO polygons cannot carry holes.
///   COCO evaluation treats `iscrowd: 1` objects as regions to ignore, not as objects to find.
/// - `area` is the number of pixels the object covers and `bbox` (`[x, y, width, height]`) their bounding box, both
///   from the pixels ``PolygonRasterizer`` (OpenCV's `fillPoly`) gives, boundary included; for RLE annotations they
///   equal pycocotools' `area` and `toBbox` of the written mask.
/// - Image ids, annotation ids and category ids count from 1 in input order; categories are the class list.
///
/// ## Usage
/// ```swift
/// let bytes = try COCOExport.json(images)            // categories from the polygon classes
/// let fixed = try COCOExport.json(images, classes: ["spheroid", "cell"])
/// ```
public enum COCOExport {
    /// The COCO JSON document as UTF-8 bytes.
    /// - Parameters:
    ///   - classes: the categories, in id order; `nil` takes the polygon classes in order of first appearance.
    ///   - compressedRLE: write RLE counts as pycocotools' compressed string instead of a list of integers.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a polygon's class is not in `classes` or a class is listed
    ///   twice, ``SegCoreError/invalidPolygon(_:)`` for a non-finite coordinate.
    public static func json(
        _ images: [ExportImage], classes: [String]? = nil, compressedRLE: Bool = false
    ) throws(SegCoreError)
        -> [UInt8]
    {
        for image in images { try image.validate() }
        let classIndex = try ExportImage.resolveClasses(classes, for: images)
        let classList = classIndex.sorted { $0.value < $1.value }.map(\.key)

        var imageEntries: [JSONValue] = []
        var annotations: [JSONValue] = []
        for (i, image) in images.enumerated() {
            let imageID = i + 1
            imageEntries.append(
                .object([
                    ("id", .int(imageID)), ("file_name", .string(image.name)), ("width", .int(image.width)),
                    ("height", .int(image.height)),
                ]))
            for polygon in image.polygons where ExportImage.hasArea(polygon) {
                let categoryID = (classIndex[polygon.className] ?? 0) + 1
                let footprint = PolygonRasterizer.footprint(
                    exterior: polygon.exterior, holes: polygon.holes, width: image.width, height: image.height)
                let (area, bbox) = pixelAreaAndBox(footprint)
                let segmentation: JSONValue
                let crowd: Bool
                if polygon.holes.isEmpty {
                    segmentation = .array([.array(polygon.exterior.flatMap { [JSONValue.number($0.x), .number($0.y)] })])
                    crowd = false
                } else {
                    let rle: COCORLE
                    if let footprint {
                        rle = COCORLE(height: image.height, width: image.width, crop: footprint.mask, at: footprint.x, footprint.y)
                    } else {
                        rle = COCORLE(height: image.height, width: image.width, counts: [image.width * image.height])
                    }
                    let counts: JSONValue = compressedRLE ? .string(rle.compressedCounts) : .array(rle.counts.map { .int($0) })
                    segmentation = .object([("counts", counts), ("size", .array([.int(image.height), .int(image.width)]))])
                    crowd = true
                }
                annotations.append(
                    .object([
                        ("id", .int(annotations.count + 1)), ("image_id", .int(imageID)), ("category_id", .int(categoryID)),
                        ("segmentation", segmentation), ("area", .int(area)), ("bbox", .array(bbox.map { .int($0) })),
                        ("iscrowd", .int(crowd ? 1 : 0)),
                    ]))
            }
        }
        let categories = classList.enumerated().map { i, name in
            JSONValue.object([("id", .int(i + 1)), ("name", .string(name)), ("supercategory", .string("object"))])
        }
        let document = JSONValue.object([
            ("info", .object([("description", .string("SegHub export")), ("version", .string("1.0"))])),
            ("licenses", .array([])),
            ("images", .array(imageEntries)),
            ("annotations", .array(annotations)),
            ("categories", .array(categories)),
        ])
        return document.bytes
    }

    /// Pixel count and `[x, y, width, height]` of the covered pixels; zeros when none are inside the image.
    static func pixelAreaAndBox(_ footprint: PolygonRasterizer.Footprint?) -> (Int, [Int]) {
        guard let footprint else { return (0, [0, 0, 0, 0]) }
        let mask = footprint.mask
        var count = 0
        var minX = Int.max
        var minY = Int.max
        var maxX = -1
        var maxY = -1
        mask.pixels.withUnsafeBufferPointer { px in
            for y in 0..<mask.height {
                let row = y * mask.width
                for x in 0..<mask.width where px[row + x] != 0 {
                    count += 1
                    minX = min(minX, x)
                    maxX = max(maxX, x)
                    minY = min(minY, y)
                    maxY = max(maxY, y)
                }
            }
        }
        guard count > 0 else { return (0, [0, 0, 0, 0]) }
        return (count, [footprint.x + minX, footprint.y + minY, maxX - minX + 1, maxY - minY + 1])
    }
}
