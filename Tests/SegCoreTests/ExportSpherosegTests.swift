import Foundation
import Testing

@testable import SegCore

@Suite struct ExportSpherosegTests {
    typealias Support = ExportTestSupport

    static func entries(_ image: ExportImage) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(try SpherosegExport.json(image))) as? [[String: Any]])
    }

    /// The previous system's shape: external entries followed by their internal rings, integer points, rings not
    /// closed, hand-computed areas (square of side 9 px: 8² = 64; a 1-px hole diamond: 2).
    @Test func previousSystemShape() throws {
        let image = Support.sampleImages()[0]
        let entries = try Self.entries(image)
        #expect(
            entries.map { $0["id"] as? String } == [
                "polygon_1", "polygon_1_hole_1", "polygon_2", "polygon_3", "polygon_3_hole_1", "polygon_3_hole_2", "polygon_3_hole_3",
            ])
        #expect(entries.map { $0["type"] as? String } == ["external", "internal", "external", "external", "internal", "internal", "internal"])
        #expect(entries.map { $0["parent_id"] as? String } == [nil, "polygon_1", nil, nil, "polygon_3", "polygon_3", "polygon_3"])
        #expect(entries.map { $0["class"] as? String } == ["spheroid", "spheroid", "cell", "spheroid", "spheroid", "spheroid", "spheroid"])
        #expect(entries.allSatisfy { $0["confidence"] as? Double == 1.0 })
        #expect(entries[0]["area"] as? Double == 64)
        #expect(entries[1]["area"] as? Double == 2)
        #expect(entries[6]["area"] as? Double == 0)
        let points = try #require(entries[0]["points"] as? [[String: Int]])
        #expect(points == [["x": 0, "y": 0], ["x": 0, "y": 8], ["x": 8, "y": 8], ["x": 8, "y": 0]])
        let keys = try #require(entries[1] as [String: Any]?).keys.sorted()
        #expect(keys == ["area", "class", "confidence", "id", "parent_id", "points", "type"])
        #expect(entries[0]["parent_id"] == nil)
    }

    /// Real-valued vertices are rounded half away from zero; the JSON has no fractional coordinates.
    @Test func roundsToIntegers() throws {
        let image = ExportImage(
            name: "r", width: 10, height: 10,
            polygons: [Polygon(id: "", exterior: Support.ring([(2.5, -2.5), (2.4, 7.6), (-0.5, 3.49)]))])
        let text = String(decoding: try SpherosegExport.json(image), as: UTF8.self)
        #expect(text.contains(#""points":[{"x":3,"y":-3},{"x":2,"y":8},{"x":-1,"y":3}]"#))
        let entries = try Self.entries(image)
        #expect(entries.first?["id"] as? String == "polygon_1")
        // shoelace of (3,-3), (2,8), (-1,3): |3·8 − 2·(−3) + 2·3 − (−1)·8 + (−1)·(−3) − 3·3| / 2 = 38 / 2
        #expect(entries.first?["area"] as? Double == 19)
    }

    @Test func emptyImageIsAnEmptyArray() throws {
        #expect(try SpherosegExport.json(ExportImage(name: "", width: 1, height: 1, polygons: [])) == Array("[]".utf8))
        let onlyEmpty = ExportImage(name: "", width: 1, height: 1, polygons: [Polygon(id: "e", exterior: [])])
        #expect(try SpherosegExport.json(onlyEmpty) == Array("[]".utf8))
    }
}
