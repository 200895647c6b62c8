import Foundation
import Testing

@testable import SegCore

@Suite struct ExportCSVTests {
    typealias Support = ExportTestSupport

    static let pixelHeader = [
        "image", "polygon_id", "class", "area_px2", "perimeter_px", "perimeter_with_holes_px", "equivalent_diameter_px",
        "circularity", "compactness", "convexity", "solidity", "sphericity", "extent", "bbox_x_px", "bbox_y_px",
        "bbox_width_px", "bbox_height_px", "feret_max_px", "feret_min_px", "feret_aspect_ratio", "caliper_max_px",
        "major_axis_px", "minor_axis_px", "centroid_x_px", "centroid_y_px",
    ]

    /// Hostile and Unicode names survive a strict RFC 4180 reader; one row per non-empty polygon, all rows full.
    @Test func readsBackWithAStrictReader() throws {
        let images = Support.sampleImages()
        let rows = try Support.readCSV(try MetricsCSVExport.csv(images))
        #expect(rows.first == Self.pixelHeader)
        let expected = images.flatMap { image in image.polygons.filter { !$0.exterior.isEmpty }.map { [image.name, $0.id, $0.className] } }
        #expect(rows.dropFirst().map { Array($0.prefix(3)) } == expected)
        #expect(rows.allSatisfy { $0.count == Self.pixelHeader.count })
        for row in rows.dropFirst() {
            #expect(row.dropFirst(3).allSatisfy { Double($0) != nil }, "\(row)")
        }
    }

    /// The quoting matches Python's csv module (QUOTE_MINIMAL, CRLF) on the committed hostile names.
    @Test func quotingMatchesPython() throws {
        let root = try #require(try Support.fixture("csv_quoting.json") as? [String: Any])
        let names = try #require(root["names"] as? [String])
        let python = try #require(root["csv"] as? String)
        var ours = ""
        for name in names { MetricsCSVExport.appendRecord([name, "x"], to: &ours) }
        #expect(Array(ours.utf8) == Array(python.utf8))
    }

    /// Hand-computed: the square with corner pixels (2, 3) and (12, 13) has area 100 px², perimeter 40 px, bounding box
    /// (2, 3, 11, 11), centroid (7, 8), circularity π/4; at 0.5 µm/px lengths halve and areas quarter.
    @Test func unitsFollowTheScale() throws {
        let image = ExportImage(name: "s", width: 20, height: 20, polygons: [Polygon(id: "sq", exterior: Support.square(2, 3, side: 11))])
        let px = try Support.readCSV(try MetricsCSVExport.csv([image]))
        let pxRow = Dictionary(uniqueKeysWithValues: zip(px[0], px[1]))
        #expect(pxRow["area_px2"].flatMap(Double.init) == 100)
        #expect(pxRow["perimeter_px"].flatMap(Double.init) == 40)
        #expect(pxRow["perimeter_with_holes_px"].flatMap(Double.init) == 40)
        #expect(pxRow["bbox_x_px"].flatMap(Double.init) == 2)
        #expect(pxRow["bbox_y_px"].flatMap(Double.init) == 3)
        #expect(pxRow["bbox_width_px"].flatMap(Double.init) == 11)
        #expect(pxRow["centroid_x_px"].flatMap(Double.init) == 7)
        #expect(pxRow["centroid_y_px"].flatMap(Double.init) == 8)
        #expect(abs((pxRow["circularity"].flatMap(Double.init) ?? 0) - Double.pi / 4) < 1e-12)
        #expect(abs((pxRow["equivalent_diameter_px"].flatMap(Double.init) ?? 0) - (400 / Double.pi).squareRoot()) < 1e-9)

        let um = try Support.readCSV(try MetricsCSVExport.csv([image], scale: 0.5))
        #expect(um[0] == Self.pixelHeader.map { $0.replacingOccurrences(of: "_px2", with: "_um2").replacingOccurrences(of: "_px", with: "_um") })
        let umRow = Dictionary(uniqueKeysWithValues: zip(um[0], um[1]))
        #expect(umRow["area_um2"].flatMap(Double.init) == 25)
        #expect(umRow["perimeter_um"].flatMap(Double.init) == 20)
        #expect(umRow["bbox_width_um"].flatMap(Double.init) == 5.5)
        #expect(umRow["centroid_x_um"].flatMap(Double.init) == 3.5)
        #expect(umRow["circularity"] == pxRow["circularity"])
    }

    /// Stored metrics are ignored: the numbers come from the rings.
    @Test func storedMetricsAreIgnored() throws {
        var polygon = Polygon(id: "sq", exterior: Support.square(0, 0, side: 11), area: 12345)
        polygon.metrics = ShapeMetrics.measure(exterior: Support.square(0, 0, side: 3))
        let rows = try Support.readCSV(try MetricsCSVExport.csv([ExportImage(name: "s", width: 11, height: 11, polygons: [polygon])]))
        #expect(rows[1][3] == "100.0")
    }

    @Test(arguments: [0.0, -1.0, Double.nan, Double.infinity])
    func rejectsBadScales(scale: Double) {
        #expect(throws: SegCoreError.self) { try MetricsCSVExport.csv(Support.sampleImages(), scale: scale) }
    }

    @Test func noPolygonsIsHeaderOnly() throws {
        #expect(try MetricsCSVExport.csv([]) == Self.pixelHeader.joined(separator: ",") + "\r\n")
    }
}
