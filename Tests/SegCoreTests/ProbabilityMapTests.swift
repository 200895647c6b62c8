import Foundation
import Testing

@testable import SegCore

/// One case of `Fixtures/postprocess`: a probability map and what OpenCV makes of it (resize with `INTER_LINEAR`,
/// threshold, `findContours(RETR_TREE, CHAIN_APPROX_SIMPLE)`, minimum area), written by
/// `scripts/fixtures/reference/postprocess.py` (its docstring has the format).
struct PostprocessFixture: Decodable {
    struct Checksum: Decodable {
        let sum: Double
        let samples: [[Double]]
    }

    struct Object: Decodable {
        let outer: [Int32]
        let area: Double
        let holes: [[Int32]]
    }

    let name: String
    let width: Int
    let height: Int
    let outWidth: Int
    let outHeight: Int
    let threshold: Double
    let minArea: Double
    let holes: Bool
    let resizedChecksum: Checksum
    let foreground: Int
    let objects: [Object]
    let dropped: Int

    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)?.appendingPathComponent("postprocess")

    static var names: [String] {
        guard let directory, let files = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return files.filter { $0.hasSuffix(".f32") }.map { String($0.dropLast(4)) }.sorted()
    }

    static func load(_ name: String) throws -> (PostprocessFixture, ProbabilityMap) {
        let dir = try #require(directory)
        let fixture = try JSONDecoder().decode(PostprocessFixture.self, from: Data(contentsOf: dir.appendingPathComponent("\(name).json")))
        let bytes = try Data(contentsOf: dir.appendingPathComponent("\(name).f32"))
        let values = bytes.withUnsafeBytes { raw in
            (0..<(bytes.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        return (fixture, try ProbabilityMap(width: fixture.width, height: fixture.height, values: values))
    }

    static func points(_ flat: [Int32]) -> [Point2D] {
        stride(from: 0, to: flat.count, by: 2).map { Point2D(x: Double(flat[$0]), y: Double(flat[$0 + 1])) }
    }
}

@Suite struct ProbabilityMapTests {
    @Test func fixturesArePresent() {
        #expect(PostprocessFixture.names.count >= 10, "Fixtures/postprocess is missing: run scripts/fixtures/make-reference.py")
    }

    @Test(arguments: PostprocessFixture.names)
    func resizeThresholdAndContoursMatchOpenCV(name: String) throws {
        let (fixture, map) = try PostprocessFixture.load(name)

        // The resized map, at OpenCV's sample points and in total.
        let resized = map.resized(width: fixture.outWidth, height: fixture.outHeight)
        for sample in fixture.resizedChecksum.samples {
            let (x, y, value) = (Int(sample[0]), Int(sample[1]), sample[2])
            #expect(abs(Double(resized.values[y * fixture.outWidth + x]) - value) <= 1e-6, "\(name) at (\(x), \(y))")
        }
        let sum = resized.values.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - fixture.resizedChecksum.sum) <= 1e-6 * Double(resized.values.count), "\(name): sum")

        // The objects, vertex for vertex.
        let options = ProbabilityPolygons.Options(threshold: fixture.threshold, minArea: fixture.minArea, holes: fixture.holes)
        let outcome = ProbabilityPolygons.extract(map, width: fixture.outWidth, height: fixture.outHeight, options: options)
        #expect(outcome.mask.foregroundCount == fixture.foreground, "\(name): foreground")
        #expect(outcome.dropped == fixture.dropped, "\(name): dropped")
        try #require(outcome.polygons.count == fixture.objects.count, "\(name): objects")
        for (polygon, object) in zip(outcome.polygons, fixture.objects) {
            #expect(polygon.exterior == PostprocessFixture.points(object.outer), "\(name): \(polygon.id) exterior")
            #expect(polygon.holes == (fixture.holes ? object.holes.map(PostprocessFixture.points) : []), "\(name): \(polygon.id) holes")
        }
    }

    @Test func upscalingFollowsOpenCVsHalfPixelRule() throws {
        // Destination centres map to (d + 0.5) / 2 − 0.5: −0.25 (clamped to the edge), 0.25, 0.75, 1.25 (clamped).
        let map = try ProbabilityMap(width: 2, height: 1, values: [0, 1])
        #expect(map.resized(width: 4, height: 1).values == [0, 0.25, 0.75, 1])
        // Vertically the same, after the horizontal pass.
        let column = try ProbabilityMap(width: 1, height: 2, values: [0, 1])
        #expect(column.resized(width: 1, height: 4).values == [0, 0.25, 0.75, 1])
    }

    @Test func shrinkingSamplesWithoutAveragingMoreThanTwo() throws {
        // 4 → 1: the centre maps to 1.5, between the second and third source pixels only (no antialiasing).
        let map = try ProbabilityMap(width: 4, height: 1, values: [100, 0, 1, 100])
        #expect(map.resized(width: 1, height: 1).values == [0.5])
    }

    @Test func theSameSizeIsTheSameMap() throws {
        let map = try ProbabilityMap(width: 3, height: 2, values: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
        #expect(map.resized(width: 3, height: 2) == map)
    }

    @Test func paddingRepeatsTheLastColumnAndRowAndCroppingUndoesIt() throws {
        let map = try ProbabilityMap(width: 2, height: 2, values: [1, 2, 3, 4])
        let padded = map.padded(toWidth: 4, height: 3)
        #expect(padded.width == 4 && padded.height == 3)
        #expect(padded.values == [1, 2, 2, 2, 3, 4, 4, 4, 3, 4, 4, 4])
        #expect(padded.cropped(width: 2, height: 2) == map)
        #expect(map.cropped(width: 9, height: 9) == map)
    }

    @Test func theThresholdIsStrict() throws {
        let map = try ProbabilityMap(width: 3, height: 1, values: [0.5, 0.500001, 0.49])
        #expect(map.mask(above: 0.5).pixels == [0, 255, 0])
    }

    @Test func theFusedMaskIsTheResizedMapsMask() throws {
        // Random maps up and down in size, with values bunched around the threshold.
        var generator = SystemRandomNumberGenerator()
        let sizes = [(7, 5, 29, 31), (256, 256, 997, 613), (64, 48, 31, 17), (3, 1, 40, 9), (1, 6, 5, 50), (40, 40, 20, 21)]
        for (w, h, outW, outH) in sizes {
            for threshold in [0.05, 0.3, 0.5, 0.95] {
                let values = (0..<(w * h)).map { _ in Float(threshold) + Float.random(in: -0.02...0.02, using: &generator) }
                let map = try ProbabilityMap(width: w, height: h, values: values)
                let fused = map.mask(resizedTo: outW, height: outH, above: threshold)
                #expect(fused == map.resized(width: outW, height: outH).mask(above: threshold), "\(w)×\(h) → \(outW)×\(outH) at \(threshold)")
            }
        }
    }

    @Test func aSumExactlyBetweenTwoFloatsRoundsToEvenAsTheFloatInterpolationDoes() throws {
        // Two rows, one column, resized to one row: the centre maps to y = 0.5, so the value is a + (b − a) · 0.5, exactly
        // halfway between two neighbouring floats. Ties go to the even one: 0.5 (even) stays at the threshold (not above
        // it); 0.5 + 2⁻²⁴ (odd) rounds up to 0.5 + 2⁻²³, which is above. A comparison in double would call both above.
        let low = try ProbabilityMap(width: 1, height: 2, values: [0.5, Float(0.5).nextUp])
        #expect(low.mask(resizedTo: 1, height: 1, above: 0.5).pixels == [0])
        #expect(low.resized(width: 1, height: 1).mask(above: 0.5).pixels == [0])
        let high = try ProbabilityMap(width: 1, height: 2, values: [Float(0.5).nextUp, Float(0.5).nextUp.nextUp])
        let threshold = Double(Float(0.5).nextUp)
        #expect(high.mask(resizedTo: 1, height: 1, above: threshold).pixels == [255])
        #expect(high.resized(width: 1, height: 1).mask(above: threshold).pixels == [255])
    }

    @Test func normalizingWhileResizingGivesTheSameFloats() throws {
        var generator = SystemRandomNumberGenerator()
        for (w, h, outW, outH) in [(300, 211, 256, 256), (97, 61, 256, 128), (40, 30, 20, 15), (33, 17, 33, 17)] {
            let bytes = try GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let words = try GrayImage16(width: w, height: h, pixels: (0..<(w * h)).map { _ in UInt16.random(in: 90...4000, using: &generator) })
            var floats = (0..<(w * h)).map { _ in Float.random(in: -3...7, using: &generator) }
            floats[5] = .nan
            floats[9] = .infinity
            let real = try GrayImageFloat(width: w, height: h, pixels: floats)
            for image in [AnyGrayImage.uint8(bytes), .uint16(words), .float32(real)] {
                let direct = ProbabilityMap(normalizing: image, resizedTo: outW, height: outH)
                let stepwise = ProbabilityMap(normalizing: image).resized(width: outW, height: outH)
                #expect(direct.values.map(\.bitPattern) == stepwise.values.map(\.bitPattern), "\(w)×\(h) → \(outW)×\(outH)")
            }
        }
    }

    @Test func badSizesAreRefused() {
        #expect(throws: SegCoreError.self) { try ProbabilityMap(width: 0, height: 1, values: []) }
        #expect(throws: SegCoreError.self) { try ProbabilityMap(width: 2, height: 2, values: [1, 2, 3]) }
    }

    @Test func smallObjectsAreDroppedWithTheirHolesAndHolesCanBeLeftOut() throws {
        // A 12×12 ring (outer area 121, a 4×4 hole) and a 3×3 speck (area 4).
        var mask = BinaryMask(width: 20, height: 20)
        for y in 2...13 { for x in 2...13 where !(6...9).contains(x) || !(6...9).contains(y) { mask.set(x: x, y: y, true) } }
        for y in 16...18 { for x in 16...18 { mask.set(x: x, y: y, true) } }
        let kept = ProbabilityPolygons.polygons(of: mask, options: .init(minArea: 50))
        #expect(kept.polygons.count == 1 && kept.dropped == 1)
        #expect(kept.polygons.first?.holes.count == 1)
        #expect(kept.polygons.first?.exterior.first == Point2D(x: 2, y: 2))
        let solid = ProbabilityPolygons.polygons(of: mask, options: .init(minArea: 50, holes: false))
        #expect(solid.polygons.first?.holes.isEmpty == true)
        let everything = ProbabilityPolygons.polygons(of: mask, options: .init(minArea: 0))
        #expect(everything.polygons.count == 2 && everything.dropped == 0)
    }
}
