import Foundation
import Testing

@testable import SegCore

@Suite struct ExportLabelMaskTests {
    typealias Support = ExportTestSupport

    /// The label images equal OpenCV's: polygon `i` drawn with `fillPoly(value: i + 1)` in order (rasterizer.json).
    @Test func labelsMatchOpenCV() throws {
        let root = try #require(try Support.fixture("rasterizer.json") as? [String: Any])
        for c in try #require(root["cases"] as? [[String: Any]]) {
            let width = try #require(c["width"] as? Int)
            let height = try #require(c["height"] as? Int)
            let expected = Support.expandRuns(try #require(c["labels"] as? [Int]))
            let polygons = try (try #require(c["polygons"] as? [[String: Any]])).enumerated().map { i, p in
                Polygon(id: "\(i)", exterior: try Support.points(p["exterior"]), holes: try (p["holes"] as? [Any] ?? []).map(Support.points))
            }
            let labels = try LabelMaskExport.labels(ExportImage(name: "x", width: width, height: height, polygons: polygons))
            guard case .uint8(let gray) = labels else {
                Issue.record("expected 8-bit labels")
                continue
            }
            #expect(gray.pixels.map(Int.init) == expected, "\(c["name"] ?? "")")
        }
    }

    /// 8-bit PNG through libpng's reader (ImageDecoder) gives back the labels, holes 0 and border objects intact.
    @Test func eightBitPNGRoundTrip() throws {
        let image = Support.sampleImages()[0]
        let labels = try LabelMaskExport.labels(image)
        guard case .uint8(let gray) = labels else {
            Issue.record("expected 8-bit labels")
            return
        }
        // hand-checked pixels: the hole of polygon_1 is 0, its border pixels 1; polygon_3 touches the bottom-right corner
        #expect(gray[4, 4] == 0)
        #expect(gray[0, 0] == 1 && gray[8, 8] == 1 && gray[4, 3] == 1)
        #expect(gray[23, 15] == 3)
        // the hole of polygon_3 at (17, 9) shows polygon_2 beneath it
        #expect(gray[17, 9] == 2)
        let raster = try ImageDecoder.decodeRaster(try LabelMaskExport.png(image))
        #expect(raster.width == 24 && raster.height == 16 && raster.channels == 1)
        #expect(raster.samples == .uint8(gray.pixels))
    }

    /// 300 one-pixel squares need 16 bits; each pixel holds its polygon's number after a PNG round trip.
    @Test func sixteenBitPNGRoundTrip() throws {
        let polygons = (0..<300).map { i in
            Polygon(id: "\(i)", exterior: Support.ring([(Double(i % 20) * 2, Double(i / 20) * 2)]))
        }
        let image = ExportImage(name: "many", width: 40, height: 30, polygons: polygons)
        let raster = try ImageDecoder.decodeRaster(try LabelMaskExport.png(image))
        guard case .uint16(let samples) = raster.samples else {
            Issue.record("expected a 16-bit PNG, got \(raster.samples)")
            return
        }
        var expected = [UInt16](repeating: 0, count: 40 * 30)
        for i in 0..<300 { expected[(i / 20) * 2 * 40 + (i % 20) * 2] = UInt16(i + 1) }
        #expect(samples == expected)
    }

    @Test func tooManyPolygonsThrow() {
        let polygons = Array(repeating: Polygon(id: "x", exterior: []), count: 65_536)
        #expect(throws: SegCoreError.self) { try LabelMaskExport.labels(ExportImage(name: "x", width: 1, height: 1, polygons: polygons)) }
    }

    @Test func emptyImage() throws {
        #expect(try LabelMaskExport.labels(ExportImage(name: "x", width: 3, height: 2, polygons: [])) == .uint8(GrayImage(width: 3, height: 2)))
        #expect(try LabelMaskExport.labels(ExportImage(name: "x", width: 0, height: 0, polygons: [])) == .uint8(GrayImage(width: 0, height: 0)))
    }
}
