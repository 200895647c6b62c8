import Foundation
import Testing

@testable import SegCore

/// The synthetic fixtures of `scripts/fixtures/make-synthetic.py` (ground truth from the generator), the
/// OpenCV baseline of `scripts/fixtures/reference/segment_baseline.py` and the real sample of
/// `scripts/fixtures/fetch-sample.py`, all under `Fixtures/segment/`.
private enum SegmentFixtures {
    struct Manifest: Decodable {
        struct Entry: Decodable {
            let name: String
            let set: String
            let standard: Bool
            let polarity: String
            let objects: Int
        }
        let images: [Entry]
    }

    struct Baseline: Decodable {
        let images: [String: Double]
        let sets: [String: Double]
    }

    struct CellSample: Decodable {
        let width: Int
        let height: Int
        let centreX: Double
        let centreY: Double
        let diameter: Double
        let centreTolerance: Double
        let diameterTolerance: Double
    }

    static let hardSets = ["vignette", "halo", "debris", "dimfluo"]
    static let standardSets = ["brightfield", "fluorescence"]

    static func url(_ name: String) throws -> URL {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return root.appending(path: "segment").appending(path: name)
    }

    static func json<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(name)))
    }

    static func image(_ name: String) throws -> GrayImage {
        try ImageDecoder.decodeGray([UInt8](Data(contentsOf: url(name + ".png"))))
    }

    static func truth(_ name: String) throws -> BinaryMask {
        BinaryMask(nonZeroOf: try image(name + "_gt"))
    }

    static func entries(in set: String) throws -> [Manifest.Entry] {
        try json("manifest.json", as: Manifest.self).images.filter { $0.set == set }
    }
}

/// A light background with dark filled shapes drawn by `inside(x, y)`.
private func drawn(width: Int, height: Int, background: UInt8 = 200, object: UInt8 = 60, _ inside: (Int, Int) -> Bool) -> GrayImage {
    var image = GrayImage(width: width, height: height, filledWith: background)
    for y in 0..<height { for x in 0..<width where inside(x, y) { image[x, y] = object } }
    return image
}

@Suite struct SegmenterTests {
    // MARK: Accuracy against the generator's ground truth

    @Test(arguments: SegmentFixtures.standardSets + SegmentFixtures.hardSets)
    func meanIoUOfEachSetBeatsTheOpenCVBaseline(set: String) throws {
        // setup
        let baseline = try SegmentFixtures.json("baseline.json", as: SegmentFixtures.Baseline.self)
        let entries = try SegmentFixtures.entries(in: set)
        try #require(!entries.isEmpty)
        // MUT
        var scores: [Double] = []
        for entry in entries {
            let result = try BuiltinSegmenter().segmentMask(try SegmentFixtures.image(entry.name))
            let score = foregroundIoU(result.mask, try SegmentFixtures.truth(entry.name))
            scores.append(score)
            // validate: every hard-case image on its own reaches 0.90
            if SegmentFixtures.hardSets.contains(set) { #expect(score >= 0.90, "\(entry.name): IoU \(score)") }
        }
        let mean = scores.reduce(0, +) / Double(scores.count)
        let opencv = try #require(baseline.sets[set])
        #expect(mean >= opencv, "\(set): ours \(mean) < OpenCV baseline \(opencv)")
    }

    @Test func meanIoUOverTheStandardSetsIsAtLeast097() throws {
        var scores: [Double] = []
        for set in SegmentFixtures.standardSets {
            for entry in try SegmentFixtures.entries(in: set) {
                let result = try BuiltinSegmenter().segmentMask(try SegmentFixtures.image(entry.name))
                scores.append(foregroundIoU(result.mask, try SegmentFixtures.truth(entry.name)))
            }
        }
        try #require(scores.count >= 6)
        let mean = scores.reduce(0, +) / Double(scores.count)
        #expect(mean >= 0.97, "mean IoU \(mean)")
    }

    @Test(arguments: SegmentFixtures.standardSets + SegmentFixtures.hardSets)
    func findsEveryObjectAndNothingElse(set: String) throws {
        for entry in try SegmentFixtures.entries(in: set) {
            let result = try BuiltinSegmenter().segment(try SegmentFixtures.image(entry.name))
            #expect(result.polygons.count == entry.objects, "\(entry.name): \(result.polygons.count) polygons for \(entry.objects) objects")
            #expect(FloodFill.componentFirstPixels(result.mask).count == entry.objects, "\(entry.name)")
        }
    }

    @Test func backgroundFlatteningIsWhatCopesWithVignetting() throws {
        for entry in try SegmentFixtures.entries(in: "vignette") {
            let image = try SegmentFixtures.image(entry.name)
            let truth = try SegmentFixtures.truth(entry.name)
            let flat = try BuiltinSegmenter().segmentMask(image)
            let raw = try BuiltinSegmenter(parameters: .init(background: .none)).segmentMask(image)
            #expect(foregroundIoU(flat.mask, truth) >= 0.9)
            #expect(foregroundIoU(raw.mask, truth) < 0.8, "\(entry.name): vignetting should defeat an unflattened global threshold")
        }
    }

    @Test func triangleThresholdFindsEveryFluorescentCell() throws {
        // The triangle method puts the threshold at the foot of the background peak: generous
        // outlines, but every object and nothing else.
        for entry in try SegmentFixtures.entries(in: "fluorescence") {
            let image = try SegmentFixtures.image(entry.name)
            let otsu = try BuiltinSegmenter().segmentMask(image)
            let triangle = try BuiltinSegmenter(parameters: .init(threshold: .triangle)).segmentMask(image)
            let t = try #require(triangle.threshold)
            #expect(t < (otsu.threshold ?? 0), "\(entry.name)")
            #expect(FloodFill.componentFirstPixels(triangle.mask).count == entry.objects, "\(entry.name)")
            #expect(triangle.mask.foregroundCount > otsu.mask.foregroundCount, "\(entry.name)")
        }
    }

    // MARK: Polarity

    @Test func detectsPolarityOfEveryFixture() throws {
        let manifest = try SegmentFixtures.json("manifest.json", as: SegmentFixtures.Manifest.self)
        for entry in manifest.images {
            let result = try BuiltinSegmenter().segmentMask(try SegmentFixtures.image(entry.name))
            #expect(result.polarity.rawValue == entry.polarity, "\(entry.name)")
        }
    }

    @Test func invertedBrightfieldIsDetectedAsBrightWithTheSameMask() throws {
        // setup
        let image = try SegmentFixtures.image("brightfield_0")
        var inverted = image
        for i in inverted.pixels.indices { inverted.pixels[i] = 255 - inverted.pixels[i] }
        let truth = try SegmentFixtures.truth("brightfield_0")
        // MUT
        let result = try BuiltinSegmenter(parameters: .init(background: .subtract)).segmentMask(inverted)
        // validate
        #expect(result.polarity == .bright)
        #expect(foregroundIoU(result.mask, truth) >= 0.95)
    }

    @Test func forcedWrongPolarityFindsTheBackgroundInstead() throws {
        let image = try SegmentFixtures.image("fluorescence_0")
        let truth = try SegmentFixtures.truth("fluorescence_0")
        let result = try BuiltinSegmenter(parameters: .init(polarity: .dark)).segmentMask(image)
        #expect(result.polarity == .dark)
        #expect(foregroundIoU(result.mask, truth) < 0.2)
    }

    // MARK: A real image

    @Test func findsTheOneCellOfScikitImagesSample() throws {
        // setup
        let expected = try SegmentFixtures.json("cell.json", as: SegmentFixtures.CellSample.self)
        let image = try SegmentFixtures.image("cell")
        #expect(image.width == expected.width && image.height == expected.height)
        // MUT
        let result = try BuiltinSegmenter().segment(image)
        // validate
        #expect(result.polarity == .bright)
        try #require(result.polygons.count == 1, "found \(result.polygons.count) objects")
        let metrics = try #require(result.polygons[0].metrics)
        #expect(abs(metrics.centroid.x - expected.centreX) <= expected.centreTolerance, "centroid \(metrics.centroid)")
        #expect(abs(metrics.centroid.y - expected.centreY) <= expected.centreTolerance, "centroid \(metrics.centroid)")
        #expect(abs(metrics.equivalentDiameter - expected.diameter) <= expected.diameterTolerance, "diameter \(metrics.equivalentDiameter)")
    }

    // MARK: Parameters doing what they say

    /// No smoothing, flattening or morphology: the mask is the threshold itself.
    private static let bare = SegmenterParameters(sigma: 0, background: .none, openingRadius: 0, closingRadius: 0, minArea: 0)

    @Test(arguments: [SegmenterParameters.Polarity.dark, .bright], [0, 17, 128, 254])
    func fixedThresholdIsAppliedExactly(polarity: SegmenterParameters.Polarity, threshold: Int) throws {
        // setup: a reproducible pseudo-random image
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var image = GrayImage(width: 37, height: 23)
        for i in image.pixels.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            image.pixels[i] = UInt8(truncatingIfNeeded: state >> 56)
        }
        var parameters = Self.bare
        parameters.threshold = .fixed(Double(threshold))
        parameters.polarity = polarity
        // MUT
        let result = try BuiltinSegmenter(parameters: parameters).segmentMask(image)
        // validate
        #expect(result.threshold == Double(threshold))
        for i in image.pixels.indices {
            let expected = polarity == .dark ? Int(image.pixels[i]) <= threshold : Int(image.pixels[i]) > threshold
            #expect((result.mask.pixels[i] != 0) == expected, "pixel \(i) = \(image.pixels[i])")
        }
    }

    @Test func minAreaRemovesSmallerObjectsOnly() throws {
        // setup: a 5×8 (40 px), a 7×7 (49 px), a 5×10 (50 px) and a 6×10 (60 px) rectangle
        let boxes = [(2, 2, 5, 8), (12, 2, 7, 7), (22, 2, 5, 10), (32, 2, 6, 10)]
        let image = drawn(width: 44, height: 16) { x, y in
            boxes.contains { x >= $0.0 && x < $0.0 + $0.2 && y >= $0.1 && y < $0.1 + $0.3 }
        }
        var parameters = Self.bare
        parameters.threshold = .fixed(128)
        parameters.polarity = .dark
        for (minArea, kept) in [(0.0, 4), (41.0, 3), (50.0, 2), (50.5, 1), (61.0, 0)] {
            parameters.minArea = minArea
            // MUT
            let result = try BuiltinSegmenter(parameters: parameters).segment(image)
            // validate
            #expect(result.polygons.count == kept, "minArea \(minArea)")
            #expect(FloodFill.componentFirstPixels(result.mask).count == kept, "minArea \(minArea)")
        }
    }

    @Test func defaultMinAreaIs50Pixels() {
        #expect(SegmenterParameters().minArea == 50)
    }

    @Test func fillHolesFillsEnclosedBackgroundOnly() throws {
        // setup: a dark ring (outer radius 20, inner 9) and a dark "C" open to the outside
        let image = drawn(width: 100, height: 60) { x, y in
            let r = Double((x - 30) * (x - 30) + (y - 30) * (y - 30)).squareRoot()
            let c = Double((x - 75) * (x - 75) + (y - 30) * (y - 30)).squareRoot()
            return (r <= 20 && r >= 9) || (c <= 15 && c >= 7 && !(x > 75 && abs(y - 30) < 4))
        }
        let plain = try BuiltinSegmenter().segment(image)
        let filled = try BuiltinSegmenter(parameters: .init(fillHoles: true)).segment(image)
        // validate: the ring's hole is background without, foreground with fillHoles; the C stays open
        #expect(!plain.mask.isForeground(x: 30, y: 30))
        #expect(filled.mask.isForeground(x: 30, y: 30))
        #expect(!filled.mask.isForeground(x: 75, y: 30))
        #expect(plain.polygons.count == 2 && filled.polygons.count == 2)
        #expect(plain.polygons.map(\.holes.count).reduce(0, +) == 1)
        #expect(filled.polygons.map(\.holes.count).reduce(0, +) == 0)
    }

    @Test func removeBorderObjectsDropsObjectsTouchingTheEdge() throws {
        // setup: one disk cut by the left edge, one inside
        let image = drawn(width: 120, height: 80) { x, y in
            (x - 5) * (x - 5) + (y - 40) * (y - 40) <= 225 || (x - 70) * (x - 70) + (y - 40) * (y - 40) <= 225
        }
        let kept = try BuiltinSegmenter().segment(image)
        let removed = try BuiltinSegmenter(parameters: .init(removeBorderObjects: true)).segment(image)
        #expect(kept.polygons.count == 2)
        #expect(removed.polygons.count == 1)
        #expect(removed.mask.isForeground(x: 70, y: 40))
        #expect(!removed.mask.isForeground(x: 2, y: 40))
    }

    @Test func openingRemovesThinLinesAndClosingBridgesGaps() throws {
        // setup: a 2-px line next to a square; two squares 2 px apart
        let line = drawn(width: 80, height: 40) { x, y in (y == 5 || y == 6) && x >= 5 && x < 70 || (x >= 20 && x < 40 && y >= 15 && y < 35) }
        let gap = drawn(width: 80, height: 40) { x, y in y >= 10 && y < 30 && ((x >= 10 && x < 30) || (x >= 32 && x < 52)) }
        var parameters = Self.bare
        parameters.threshold = .fixed(128)
        parameters.polarity = .dark
        parameters.openingRadius = 2
        let opened = try BuiltinSegmenter(parameters: parameters).segmentMask(line)
        #expect(!opened.mask.isForeground(x: 50, y: 5) && opened.mask.isForeground(x: 30, y: 25))
        parameters.openingRadius = 0
        parameters.closingRadius = 2
        let closed = try BuiltinSegmenter(parameters: parameters).segmentMask(gap)
        #expect(closed.mask.isForeground(x: 31, y: 20) && FloodFill.componentFirstPixels(closed.mask).count == 1)
        parameters.closingRadius = 0
        #expect(FloodFill.componentFirstPixels(try BuiltinSegmenter(parameters: parameters).segmentMask(gap).mask).count == 2)
    }

    @Test func scaleIsPassedToTheMetrics() throws {
        let image = drawn(width: 60, height: 60) { x, y in (x - 30) * (x - 30) + (y - 30) * (y - 30) <= 144 }
        let pixels = try BuiltinSegmenter().segment(image)
        let microns = try BuiltinSegmenter(parameters: .init(scale: 0.5)).segment(image)
        let a = try #require(pixels.polygons.first?.metrics?.area)
        let b = try #require(microns.polygons.first?.metrics?.area)
        #expect(abs(b - a * 0.25) < 1e-9)
        #expect(microns.polygons.first?.exterior == pixels.polygons.first?.exterior)
    }

    // MARK: Degenerate images

    @Test(arguments: [UInt8(0), 1, 128, 255])
    func uniformImagesHaveNoObjects(value: UInt8) throws {
        let result = try BuiltinSegmenter().segment(GrayImage(width: 64, height: 48, filledWith: value))
        #expect(result.polygons.isEmpty)
        #expect(result.mask.foregroundCount == 0)
        #expect(result.threshold == nil)
    }

    @Test(arguments: [(0, 0), (0, 5), (1, 1), (1, 7), (7, 1), (2, 3), (3, 3), (63, 2), (65, 65)])
    func tinyImagesDoNotCrash(width: Int, height: Int) throws {
        var image = GrayImage(width: width, height: height)
        for i in image.pixels.indices { image.pixels[i] = UInt8(truncatingIfNeeded: i &* 97) }
        for parameters in [
            SegmenterParameters(), SegmenterParameters(threshold: .triangle, fillHoles: true, removeBorderObjects: true),
            SegmenterParameters(threshold: .fixed(100), polarity: .bright, minArea: 0),
        ] {
            let result = try BuiltinSegmenter(parameters: parameters).segment(image)
            #expect(result.mask.width == width && result.mask.height == height)
        }
    }

    @Test func invalidParametersThrowInvalidArgument() {
        for parameters in [
            SegmenterParameters(sigma: -1), SegmenterParameters(sigma: .nan), SegmenterParameters(openingRadius: 99),
            SegmenterParameters(minArea: -.infinity), SegmenterParameters(scale: 0),
        ] {
            #expect(throws: SegCoreError.self) { try BuiltinSegmenter(parameters: parameters).segment(GrayImage(width: 4, height: 4)) }
        }
    }
}
