import Foundation
import Testing

@testable import SegCore

@Suite struct ExportGeoJSONTests {
    typealias Support = ExportTestSupport

    static func features(_ image: ExportImage, scale: Double? = nil) throws -> [[String: Any]] {
        let bytes = try GeoJSONExport.featureCollection(image, scale: scale)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(doc["type"] as? String == "FeatureCollection")
        return try #require(doc["features"] as? [[String: Any]])
    }

    /// Twice the shoelace area of a closed ring, computed independently of the exporter.
    static func doubledArea(_ ring: [[Double]]) -> Double {
        zip(ring, ring.dropFirst()).reduce(0) { $0 + $1.0[0] * $1.1[1] - $1.1[0] * $1.0[1] }
    }

    /// Whether `b` is `a` up to a rotation of its start, or reversed.
    static func sameCycle(_ a: [[Double]], _ b: [[Double]]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        for candidate in [b, Array(b.reversed())] {
            for shift in 0..<a.count where (0..<a.count).allSatisfy({ a[$0] == candidate[($0 + shift) % a.count] }) {
                return true
            }
        }
        return false
    }

    /// RFC 7946: Polygon geometry, every ring closed with ≥ 4 positions, the exterior counter-clockwise and holes
    /// clockwise by the shoelace sum of the coordinates as written, and the same vertices as the input rings.
    @Test func ringsFollowRFC7946() throws {
        for image in Support.sampleImages() {
            let features = try Self.features(image)
            // the single pixel, the line and the empty polygon have no area; nor has polygon_3's one-pixel "hole"
            let written = image.polygons.filter { ["polygon_1", "polygon_2", "polygon_3", "p"].contains($0.id) }
            try #require(features.count == written.count)
            for (feature, polygon) in zip(features, written) {
                #expect(feature["type"] as? String == "Feature")
                let geometry = try #require(feature["geometry"] as? [String: Any])
                #expect(geometry["type"] as? String == "Polygon")
                let rings = try #require(geometry["coordinates"] as? [[[Double]]])
                let inputRings = [polygon.exterior] + polygon.holes.prefix(2)
                try #require(rings.count == inputRings.count)
                for (i, (ring, input)) in zip(rings, inputRings).enumerated() {
                    #expect(ring.count >= 4)
                    #expect(ring.first == ring.last)
                    #expect(ring.allSatisfy { $0.count == 2 })
                    let area = Self.doubledArea(ring)
                    #expect(i == 0 ? area > 0 : area < 0, "ring \(i) of \(polygon.id): \(ring)")
                    #expect(Self.sameCycle(Array(ring.dropLast()), input.map { [$0.x, $0.y] }))
                }
                let properties = try #require(feature["properties"] as? [String: Any])
                #expect(properties["objectType"] as? String == "annotation")
                #expect((properties["classification"] as? [String: Any])?["name"] as? String == polygon.className)
                #expect(properties["id"] as? String == polygon.id)
                #expect(properties["name"] as? String == polygon.id)
                #expect(properties["image"] as? String == image.name)
            }
        }
    }

    /// An exterior given clockwise on screen and a hole given counter-clockwise are both reversed, first vertex kept.
    @Test func reversesRingsGivenTheOtherWay() throws {
        let exterior = Support.ring([(0, 0), (10, 0), (10, 10), (0, 10)])  // shoelace sum > 0 already
        let flipped = Support.ring([(0, 0), (0, 10), (10, 10), (10, 0)])  // OpenCV's order: sum < 0
        let hole = Support.ring([(4, 4), (4, 6), (6, 6), (6, 4)])  // sum < 0 already: kept
        let image = ExportImage(
            name: "o", width: 11, height: 11,
            polygons: [
                Polygon(id: "a", exterior: exterior, holes: [hole]),
                Polygon(id: "b", exterior: flipped, holes: [Array(hole.reversed())]),
            ])
        let features = try Self.features(image)
        let expected: [[[Double]]] = [
            [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
            [[4, 4], [4, 6], [6, 6], [6, 4], [4, 4]],
        ]
        let a = (features[0]["geometry"] as? [String: Any])?["coordinates"] as? [[[Double]]]
        #expect(a == expected)
        let b = (features[1]["geometry"] as? [String: Any])?["coordinates"] as? [[[Double]]]
        #expect(b == [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[6, 4], [4, 4], [4, 6], [6, 6], [6, 4]]])
    }

    /// Hand-computed measurements of the square with corner pixels (0, 0) and (10, 10): area 100 px², perimeter 40 px,
    /// bounding box 11 px wide; at 0.5 µm/px: 25 µm², 20 µm, 5.5 µm.
    @Test func measurementsCarryUnits() throws {
        let image = ExportImage(name: "s", width: 20, height: 20, polygons: [Polygon(id: "sq", exterior: Support.square(0, 0, side: 11))])
        let px = try #require((try Self.features(image).first?["properties"] as? [String: Any])?["measurements"] as? [String: Double])
        #expect(px["area_px2"] == 100)
        #expect(px["perimeter_px"] == 40)
        #expect(px["bbox_width_px"] == 11)
        #expect(abs((px["circularity"] ?? 0) - Double.pi / 4) < 1e-12)
        #expect(px.count == 22)
        let um = try #require(
            (try Self.features(image, scale: 0.5).first?["properties"] as? [String: Any])?["measurements"] as? [String: Double])
        #expect(um["area_um2"] == 25)
        #expect(um["perimeter_um"] == 20)
        #expect(um["bbox_width_um"] == 5.5)
        #expect(um["area_px2"] == nil)
        #expect(throws: SegCoreError.self) { try GeoJSONExport.featureCollection(image, scale: 0) }
        #expect(throws: SegCoreError.self) { try GeoJSONExport.featureCollection(image, scale: .infinity) }
    }

    @Test func emptyImageIsAnEmptyCollection() throws {
        let bytes = try GeoJSONExport.featureCollection(ExportImage(name: "", width: 0, height: 0, polygons: []))
        #expect(String(decoding: bytes, as: UTF8.self) == #"{"type":"FeatureCollection","features":[]}"#)
    }
}
