import Testing

@testable import SegCore

@Suite struct PolygonExtractorTests {
    private func mask(_ rows: [String]) throws -> BinaryMask {
        let w = rows.first?.count ?? 0
        let pixels = rows.flatMap { $0.map { $0 == "#" ? UInt8(255) : 0 } }
        return try BinaryMask(width: w, height: rows.count, pixels: pixels)
    }

    @Test func ringWithHoleBecomesOnePolygonWithOneHole() throws {
        // A 5×5 square of pixel centres (area 4·4 = 16) with a 1-px hole (a diamond of area 2).
        let m = try mask([".......", ".#####.", ".#####.", ".##.##.", ".#####.", ".#####.", "......."])
        let polygons = PolygonExtractor.polygons(from: m)
        #expect(polygons.count == 1)
        let p = try #require(polygons.first)
        #expect(p.id == "polygon_1")
        #expect(p.className == "spheroid")
        #expect(p.holes.count == 1)
        #expect(p.area == 16 - 2)
        #expect(p.metrics?.area == p.area)
    }

    @Test func minAreaDropsSmallObjectsAndIdsStayDense() throws {
        // Bottom object is listed first (OpenCV order): a 4×4 square (area 9); the top one a 2×2 (area 1).
        let m = try mask(["##....", "##....", "......", "..####", "..####", "..####", "..####"])
        #expect(PolygonExtractor.polygons(from: m).map(\.area) == [9, 1])
        let big = PolygonExtractor.polygons(from: m, minArea: 2)
        #expect(big.map(\.area) == [9])
        #expect(big.map(\.id) == ["polygon_1"])
    }

    @Test func scaleChangesMetricsButNotCoordinates() throws {
        let m = try mask([".....", ".###.", ".###.", ".###.", "....."])
        let p = try #require(PolygonExtractor.polygons(from: m, scale: 0.5).first)
        #expect(p.exterior.first == Point2D(x: 1, y: 1))
        #expect(p.area == 4 * 0.25)
    }

    @Test func labelMaskSplitsTouchingLabelsInValueOrder() throws {
        // Labels 7 (left) and 3 (right) touch; value order puts 3 first.
        var px = [UInt8](repeating: 0, count: 8 * 4)
        for y in 0..<3 {
            for x in 0..<3 { px[y * 8 + x] = 7 }
            for x in 3..<6 { px[y * 8 + x] = 3 }
        }
        let raster = try RasterImage(width: 8, height: 4, channels: 1, samples: .uint8(px))
        #expect(PolygonExtractor.isLabelMask(raster))
        let polygons = PolygonExtractor.polygons(fromLabels: raster)
        #expect(polygons.count == 2)
        #expect(polygons[0].exterior.first == Point2D(x: 3, y: 0))
        #expect(polygons[1].exterior.first == Point2D(x: 0, y: 0))
        #expect(polygons.map(\.area) == [4, 4])
    }

    @Test func rgbLabelsAndAlphaIgnored() throws {
        // Two RGB colours with full alpha, background transparent black.
        var px = [UInt8](repeating: 0, count: 4 * 1 * 4)
        px[0...3] = [10, 0, 0, 255]
        px[8...11] = [0, 0, 10, 255]
        let raster = try RasterImage(width: 4, height: 1, channels: 4, samples: .uint8(px))
        #expect(PolygonExtractor.isLabelMask(raster))
        #expect(PolygonExtractor.polygons(fromLabels: raster).count == 2)
        // Alpha alone does not make foreground.
        let onlyAlpha = try RasterImage(width: 1, height: 1, channels: 2, samples: .uint8([0, 255]))
        #expect(BinaryMask(anyChannelOf: onlyAlpha).foregroundCount == 0)
    }

    @Test func sixteenBitLabelsAreDistinct() throws {
        let raster = try RasterImage(width: 3, height: 1, channels: 1, samples: .uint16([300, 0, 301]))
        #expect(PolygonExtractor.isLabelMask(raster))
        #expect(PolygonExtractor.polygons(fromLabels: raster).count == 2)
    }
}

@Suite struct PolygonExtractorBinaryAsLabelTests {
    /// segctl reads every mask through the label path; on a binary mask it must give exactly what
    /// tracing the whole mask gives (the crop is the mask's bounding box, and outside is background).
    @Test(arguments: [1, 2, 3, 4, 5])
    func binaryMaskThroughTheLabelPathMatchesTheWholeMask(seed: UInt64) throws {
        // setup: a 40×30 random blob mask, with a border margin on some seeds and none on others
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        var pixels = [UInt8](repeating: 0, count: 40 * 30)
        for y in 0..<30 {
            for x in 0..<40 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let inset = seed % 2 == 0 ? (x > 3 && x < 36 && y > 2 && y < 27) : true
                if inset && (state >> 33) % 3 != 0 { pixels[y * 40 + x] = 255 }
            }
        }
        let mask = try BinaryMask(width: 40, height: 30, pixels: pixels)
        let raster = try RasterImage(width: 40, height: 30, channels: 1, samples: .uint8(pixels))

        // MUT
        let whole = PolygonExtractor.polygons(from: mask, minArea: 1, scale: 0.5)
        let viaLabels = PolygonExtractor.polygons(fromLabels: raster, minArea: 1, scale: 0.5)

        // validate
        #expect(!whole.isEmpty)
        #expect(viaLabels == whole)
        #expect(BinaryMask(anyChannelOf: raster) == mask)
    }
}
