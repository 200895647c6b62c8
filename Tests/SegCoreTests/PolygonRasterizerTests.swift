import Foundation
import Testing

@testable import SegCore

@Suite struct PolygonRasterizerTests {
    typealias Support = ExportTestSupport

    /// Every case of `rasterizer.json`: polygon `i` filled with value `i + 1` by OpenCV's `fillPoly`, in order.
    @Test func labelsMatchOpenCVFillPoly() throws {
        // setup
        let root = try #require(try Support.fixture("rasterizer.json") as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        #expect(cases.count >= 50)
        for c in cases {
            let name = try #require(c["name"] as? String)
            let width = try #require(c["width"] as? Int)
            let height = try #require(c["height"] as? Int)
            let expected = Support.expandRuns(try #require(c["labels"] as? [Int]))
            var polygons: [Polygon] = []
            for (i, p) in try #require(c["polygons"] as? [[String: Any]]).enumerated() {
                let holes = try (p["holes"] as? [Any] ?? []).map { try Support.points($0) }
                polygons.append(Polygon(id: "p\(i + 1)", exterior: try Support.points(p["exterior"]), holes: holes))
            }
            // MUT
            var labels = try GrayImage16(width: width, height: height, pixels: Array(repeating: 0, count: width * height))
            var labels8 = GrayImage(width: width, height: height)
            for (i, polygon) in polygons.enumerated() {
                PolygonRasterizer.fill(exterior: polygon.exterior, holes: polygon.holes, into: &labels, value: UInt16(i + 1))
                PolygonRasterizer.fill(exterior: polygon.exterior, holes: polygon.holes, into: &labels8, value: UInt8(i + 1))
            }
            let union = PolygonRasterizer.mask(of: polygons, width: width, height: height)
            // the cropped footprint, pasted back, is the same as filling the whole image
            for polygon in polygons {
                var full = BinaryMask(width: width, height: height)
                PolygonRasterizer.fill(exterior: polygon.exterior, holes: polygon.holes, into: &full)
                var pasted = BinaryMask(width: width, height: height)
                if let footprint = PolygonRasterizer.footprint(exterior: polygon.exterior, holes: polygon.holes, width: width, height: height) {
                    for y in 0..<footprint.mask.height {
                        for x in 0..<footprint.mask.width where footprint.mask.isForeground(x: x, y: y) {
                            pasted.set(x: footprint.x + x, y: footprint.y + y, true)
                        }
                    }
                }
                #expect(pasted == full, "\(name)")
            }
            // validate
            #expect(labels.pixels.map(Int.init) == expected, "\(name)")
            #expect(labels8.pixels.map(Int.init) == expected, "\(name)")
            #expect(union.pixels == expected.map { $0 == 0 ? 0 : 255 }, "\(name)")
        }
    }

    /// OpenCV's own `RETR_CCOMP` contours of random masks fill back to exactly those masks.
    @Test func openCVContoursFillBackToTheirMask() throws {
        let root = try #require(try Support.fixture("traced_roundtrip.json") as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        #expect(cases.count >= 30)
        for (k, c) in cases.enumerated() {
            // setup
            let width = try #require(c["width"] as? Int)
            let height = try #require(c["height"] as? Int)
            let expected = Support.expandRuns(try #require(c["mask"] as? [Int])).map { UInt8($0 == 0 ? 0 : 255) }
            let contours = try #require(c["contours"] as? [[String: Any]])
            let rings = try contours.map { try Support.points($0["points"]) }
            let parents = contours.map { $0["parent"] as? Int }
            var polygons: [Polygon] = []
            for (i, ring) in rings.enumerated() where parents[i] == nil {
                let holes = rings.indices.filter { parents[$0] == i }.map { rings[$0] }
                polygons.append(Polygon(id: "polygon_\(i)", exterior: ring, holes: holes))
            }
            // MUT
            let perPolygon = PolygonRasterizer.mask(of: polygons, width: width, height: height)
            var together = BinaryMask(width: width, height: height)
            PolygonRasterizer.fill(rings: rings.map { $0.map { Point(Int($0.x), Int($0.y)) } }, into: &together)
            // validate
            #expect(perPolygon.pixels == expected, "case \(k)")
            #expect(together.pixels == expected, "case \(k)")
        }
    }

    /// For random masks, filling the polygons traced from the mask (`PolygonExtractor`, CCOMP + SIMPLE) gives the mask.
    @Test(arguments: 0..<8)
    func tracedPolygonsFillBackToRandomMasks(seed: Int) throws {
        var rng = RasterizerTestRandom(seed: UInt64(seed))
        for trial in 0..<60 {
            // setup: noise of varying density, sometimes thickened so that larger holes and islands appear
            let width = Int(rng.next() % 40) + 1
            let height = Int(rng.next() % 40) + 1
            let density = [30, 50, 70, 85][trial % 4]
            var pixels = (0..<(width * height)).map { _ in UInt8(Int(rng.next() % 100) < density ? 255 : 0) }
            if trial % 3 == 0 {
                pixels = (0..<(width * height)).map { i in
                    let (x, y) = (i % width, i / width)
                    return (x + 1 < width && pixels[i + 1] != 0) || (y + 1 < height && pixels[i + width] != 0) ? 255 : pixels[i]
                }
            }
            let mask = try BinaryMask(width: width, height: height, pixels: pixels)
            // MUT
            let polygons = PolygonExtractor.polygons(from: mask)
            let filled = PolygonRasterizer.mask(of: polygons, width: width, height: height)
            // validate
            #expect(filled == mask, "seed \(seed) trial \(trial)")
        }
    }

    /// Hand-computed: an n×n square given by its corner pixels covers n² pixels; a 1-px hole diamond removes one.
    @Test(arguments: [1, 2, 3, 7, 20])
    func squareIncludesItsBoundary(n: Int) throws {
        let m = Double(n - 1)
        let square = [Point2D(x: 2, y: 3), Point2D(x: 2, y: 3 + m), Point2D(x: 2 + m, y: 3 + m), Point2D(x: 2 + m, y: 3)]
        var mask = BinaryMask(width: n + 4, height: n + 6)
        PolygonRasterizer.fill(exterior: square, into: &mask)
        #expect(mask.foregroundCount == n * n)
        for y in 0..<mask.height {
            for x in 0..<mask.width {
                #expect(mask.isForeground(x: x, y: y) == ((2...(1 + n)).contains(x) && (3...(2 + n)).contains(y)))
            }
        }
    }

    @Test func onePixelHoleLeavesOnlyItsCentre() {
        let exterior = [Point2D(x: 0, y: 0), Point2D(x: 0, y: 4), Point2D(x: 4, y: 4), Point2D(x: 4, y: 0)]
        let diamond = [Point2D(x: 2, y: 1), Point2D(x: 1, y: 2), Point2D(x: 2, y: 3), Point2D(x: 3, y: 2)]
        var mask = BinaryMask(width: 5, height: 5)
        PolygonRasterizer.fill(exterior: exterior, holes: [diamond, diamond.map { Point2D(x: $0.x, y: $0.y) }], into: &mask)
        // Two copies of the same hole cancel out under the even-odd rule, as in OpenCV.
        #expect(mask.foregroundCount == 25)
        var single = BinaryMask(width: 5, height: 5)
        PolygonRasterizer.fill(exterior: exterior, holes: [diamond], into: &single)
        #expect(single.foregroundCount == 24)
        #expect(!single.isForeground(x: 2, y: 2))
    }

    @Test func degenerateInputsDoNotTrap() {
        var mask = BinaryMask(width: 8, height: 8)
        let huge = [Point2D(x: -1e300, y: 4), Point2D(x: 1e300, y: 4), Point2D(x: 3, y: .infinity), Point2D(x: .nan, y: 1)]
        PolygonRasterizer.fill(exterior: huge, into: &mask)
        // The two finite far vertices are clamped; the line between them crosses row 4 entirely.
        #expect((0..<8).allSatisfy { mask.isForeground(x: $0, y: 4) })
        #expect(mask.foregroundCount == 8)
        var empty = BinaryMask(width: 0, height: 0)
        PolygonRasterizer.fill(exterior: [Point2D(x: 0, y: 0), Point2D(x: 3, y: 3), Point2D(x: 0, y: 3)], into: &empty)
        #expect(empty.pixels.isEmpty)
        var untouched = BinaryMask(width: 3, height: 3)
        PolygonRasterizer.fill(exterior: [], holes: [[]], into: &untouched)
        #expect(untouched.foregroundCount == 0)
    }
}

/// A small deterministic generator (SplitMix64) so the random masks are the same on every run.
struct RasterizerTestRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
