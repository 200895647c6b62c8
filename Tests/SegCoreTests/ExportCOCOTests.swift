import Foundation
import Testing

@testable import SegCore

@Suite struct ExportCOCOTests {
    typealias Support = ExportTestSupport

    static func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// Every annotation decodes back to its polygon: polygon annotations give back the exterior's coordinates, RLE
    /// annotations (decoded by the test's own reader) give back the pixels of the polygon filled with its holes.
    @Test func annotationsDecodeBackToThePolygons() throws {
        // setup
        let images = Support.sampleImages()
        // MUT
        let doc = try Self.parse(try COCOExport.json(images))
        // validate
        let imageEntries = try #require(doc["images"] as? [[String: Any]])
        #expect(imageEntries.map { $0["file_name"] as? String } == images.map(\.name))
        #expect(imageEntries.map { $0["id"] as? Int } == [1, 2, 3])
        let categories = try #require(doc["categories"] as? [[String: Any]])
        #expect(categories.map { $0["name"] as? String } == ["spheroid", "cell", "débris, \"big\""])
        #expect(categories.map { $0["id"] as? Int } == [1, 2, 3])
        let annotations = try #require(doc["annotations"] as? [[String: Any]])
        // polygon_1..3 and "p"; the point, the line and the empty polygon are skipped
        let writtenIDs: Set<String> = ["polygon_1", "polygon_2", "polygon_3", "p"]
        let written = images.flatMap { image in image.polygons.filter { writtenIDs.contains($0.id) }.map { (image, $0) } }
        try #require(annotations.count == written.count)
        for (k, (ann, (image, polygon))) in zip(annotations, written).enumerated() {
            #expect(ann["id"] as? Int == k + 1)
            let imageIndex = try #require(images.firstIndex { $0.name == image.name })
            #expect(ann["image_id"] as? Int == imageIndex + 1)
            let category = try #require(ann["category_id"] as? Int)
            #expect(categories[category - 1]["name"] as? String == polygon.className)
            let expected = PolygonRasterizer.mask(of: [polygon], width: image.width, height: image.height)
            if polygon.holes.isEmpty {
                #expect(ann["iscrowd"] as? Int == 0)
                let segmentation = try #require(ann["segmentation"] as? [[Double]])
                #expect(segmentation == [polygon.exterior.flatMap { [$0.x, $0.y] }])
            } else {
                #expect(ann["iscrowd"] as? Int == 1)
                let rle = try #require(ann["segmentation"] as? [String: Any])
                #expect(rle["size"] as? [Int] == [image.height, image.width])
                let counts = try #require(rle["counts"] as? [Int])
                let decoded = try Support.decodeRLE(counts: counts, width: image.width, height: image.height)
                #expect(decoded == expected.pixels.map { $0 == 0 ? 0 : 1 }, "\(polygon.id)")
            }
            // area and bbox describe the filled pixels, found here by scanning the full mask
            let xs = (0..<expected.pixels.count).filter { expected.pixels[$0] != 0 }.map { $0 % image.width }
            let ys = (0..<expected.pixels.count).filter { expected.pixels[$0] != 0 }.map { $0 / image.width }
            #expect(ann["area"] as? Int == expected.foregroundCount)
            let bbox = [xs.min() ?? 0, ys.min() ?? 0, (xs.max() ?? -1) - (xs.min() ?? 0) + 1, (ys.max() ?? -1) - (ys.min() ?? 0) + 1]
            #expect(ann["bbox"] as? [Int] == bbox, "\(polygon.id)")
        }
    }

    /// Hand-computed: a 9×9 pixel square on the top-left corner with a 1-px hole has 80 pixels, bbox [0, 0, 9, 9], and
    /// its first column (9 foreground pixels of a 16-pixel column) opens the RLE with a zero background run.
    @Test func handComputedRLE() throws {
        let image = ExportImage(
            name: "a", width: 12, height: 16,
            polygons: [Polygon(id: "x", exterior: Support.square(0, 0, side: 9), holes: [Support.diamond(4, 4)])])
        let doc = try Self.parse(try COCOExport.json([image]))
        let ann = try #require((doc["annotations"] as? [[String: Any]])?.first)
        #expect(ann["area"] as? Int == 80)
        #expect(ann["bbox"] as? [Int] == [0, 0, 9, 9])
        let counts = try #require((ann["segmentation"] as? [String: Any])?["counts"] as? [Int])
        // columns 0-3: 9 on, 7 off; column 4: 4 on, hole, 4 on, 7 off; columns 5-8: 9 on, 7 off; columns 9-11 off
        let expected = [0, 9, 7, 9, 7, 9, 7, 9, 7, 4, 1, 4, 7, 9, 7, 9, 7, 9, 7, 9, 7 + 3 * 16]
        #expect(counts == expected)
    }

    /// The RLE encoder against pycocotools (`mask.encode`, `area`, `toBbox`) on committed masks.
    @Test func rleMatchesPycocotools() throws {
        let root = try #require(try Support.fixture("coco_rle.json") as? [String: Any])
        for c in try #require(root["cases"] as? [[String: Any]]) {
            let width = try #require(c["width"] as? Int)
            let height = try #require(c["height"] as? Int)
            let pixels = Support.expandRuns(try #require(c["mask"] as? [Int])).map { UInt8($0 * 255) }
            let rle = COCORLE(mask: try BinaryMask(width: width, height: height, pixels: pixels))
            #expect(rle.counts == c["counts"] as? [Int])
            #expect(rle.compressedCounts == c["compressed"] as? String)
            #expect(rle.area == c["area"] as? Int)
        }
    }

    @Test func compressedCountsOption() throws {
        let images = Support.sampleImages()
        let doc = try Self.parse(try COCOExport.json(images, compressedRLE: true))
        let annotations = try #require(doc["annotations"] as? [[String: Any]])
        let crowd = annotations.filter { $0["iscrowd"] as? Int == 1 }
        #expect(crowd.count == 2)
        let polygon = images[0].polygons[0]
        let expected = COCORLE(mask: PolygonRasterizer.mask(of: [polygon], width: 24, height: 16)).compressedCounts
        #expect((crowd[0]["segmentation"] as? [String: Any])?["counts"] as? String == expected)
    }

    @Test func explicitClassListSetsCategoryIDs() throws {
        let images = Support.sampleImages()
        let classes = ["unused", "cell", "spheroid", "débris, \"big\""]
        let doc = try Self.parse(try COCOExport.json(images, classes: classes))
        let categories = try #require(doc["categories"] as? [[String: Any]])
        #expect(categories.map { $0["name"] as? String } == classes)
        let annotations = try #require(doc["annotations"] as? [[String: Any]])
        #expect(annotations.map { $0["category_id"] as? Int } == [3, 2, 3, 4])
        #expect(throws: SegCoreError.self) { try COCOExport.json(images, classes: ["spheroid"]) }
        #expect(throws: SegCoreError.self) { try COCOExport.json(images, classes: classes + ["cell"]) }
    }

    @Test func noImagesAndNoPolygons() throws {
        let empty = try Self.parse(try COCOExport.json([]))
        #expect((empty["images"] as? [Any])?.isEmpty == true)
        #expect((empty["annotations"] as? [Any])?.isEmpty == true)
        #expect((empty["categories"] as? [Any])?.isEmpty == true)
        let one = try Self.parse(try COCOExport.json([ExportImage(name: "x", width: 3, height: 2, polygons: [])]))
        #expect((one["images"] as? [[String: Any]])?.first?["width"] as? Int == 3)
    }

    @Test func nonFiniteCoordinatesThrow() {
        let bad = ExportImage(name: "x", width: 4, height: 4, polygons: [Polygon(id: "n", exterior: Support.ring([(0, 0), (.nan, 1), (2, 2)]))])
        #expect(throws: SegCoreError.self) { try COCOExport.json([bad]) }
        #expect(throws: SegCoreError.self) { try YOLOExport.labels([bad]) }
        #expect(throws: SegCoreError.self) { try GeoJSONExport.featureCollection(bad) }
        #expect(throws: SegCoreError.self) { try MetricsCSVExport.csv([bad]) }
        #expect(throws: SegCoreError.self) { try LabelMaskExport.labels(bad) }
        #expect(throws: SegCoreError.self) { try SpherosegExport.json(bad) }
    }
}
