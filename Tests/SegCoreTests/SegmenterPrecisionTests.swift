import Foundation
import Testing

@testable import SegCore

/// A reproducible noise source (64-bit LCG): uniform values in −amplitude…amplitude.
private struct Noise {
    var state: UInt64
    mutating func next(_ amplitude: Double) -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return (Double(state >> 11) / Double(1 << 53) * 2 - 1) * amplitude
    }
}

/// An 8-bit image of `value(x, y)` plus ±`noise` uniform noise, clipped to 0–255.
private func rendered(width: Int, height: Int, noise: Double = 3, seed: UInt64 = 1, _ value: (Double, Double) -> Double) -> GrayImage {
    var n = Noise(state: seed)
    var image = GrayImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            image[x, y] = UInt8(min(255, max(0, (value(Double(x), Double(y)) + n.next(noise)).rounded())))
        }
    }
    return image
}

private func fixture(_ name: String) throws -> GrayImage {
    let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    return try ImageDecoder.decodeGray([UInt8](Data(contentsOf: root.appending(path: "segment").appending(path: name + ".png"))))
}

@Suite struct SegmenterPrecisionTests {
    // MARK: Full precision

    /// The same picture stored three ways: 8 bits, 16 bits with only the low byte used (the DSB 2018
    /// nuclei file holds 0–235 in 16 bits), and floats in 0–1. Segmenting must not depend on the
    /// container, and the threshold comes back in each one's own units.
    @Test(arguments: ["fluorescence_0", "brightfield_0", "dimfluo_0"])
    func deepContainersSegmentLikeTheirSource(name: String) throws {
        // setup
        let eight = try fixture(name)
        let truth = BinaryMask(nonZeroOf: try fixture(name + "_gt"))
        let narrow = try GrayImage16(width: eight.width, height: eight.height, pixels: eight.pixels.map { UInt16($0) })
        let float = try GrayImageFloat(width: eight.width, height: eight.height, pixels: eight.pixels.map { Float($0) / 255 })
        let segmenter = BuiltinSegmenter()
        // MUT
        let r8 = try segmenter.segmentMask(.uint8(eight))
        let r16 = try segmenter.segmentMask(.uint16(narrow))
        let rf = try segmenter.segmentMask(.float32(float))
        // validate: the high byte of `narrow` is 0 everywhere, so anything reading it would find nothing
        let iou8 = foregroundIoU(r8.mask, truth)
        #expect(iou8 >= 0.9)
        #expect(abs(foregroundIoU(r16.mask, truth) - iou8) <= 0.01, "16-bit \(foregroundIoU(r16.mask, truth)) vs 8-bit \(iou8)")
        #expect(abs(foregroundIoU(rf.mask, truth) - iou8) <= 0.02, "float \(foregroundIoU(rf.mask, truth)) vs 8-bit \(iou8)")
        #expect(r16.polarity == r8.polarity && rf.polarity == r8.polarity)
        let t8 = try #require(r8.threshold)
        #expect(abs(try #require(r16.threshold) - t8) <= 2)
        #expect(abs(try #require(rf.threshold) - t8 / 255) <= 3.0 / 255)
    }

    /// A camera offset and a 16-bit gain (HeLa frames sit at 33 000 of 65 535) change neither the
    /// objects nor anything but the threshold's units.
    @Test func offsetAndGainMoveOnlyTheThreshold() throws {
        let eight = try fixture("fluorescence_1")
        let truth = BinaryMask(nonZeroOf: try fixture("fluorescence_1_gt"))
        let deep = try GrayImage16(width: eight.width, height: eight.height, pixels: eight.pixels.map { 33_000 + UInt16($0) * 7 })
        let r8 = try BuiltinSegmenter().segmentMask(.uint8(eight))
        let r16 = try BuiltinSegmenter().segmentMask(.uint16(deep))
        #expect(abs(foregroundIoU(r16.mask, truth) - foregroundIoU(r8.mask, truth)) <= 0.01)
        // The same level within four 8-bit steps (each 7 units in the deep copy; the 16-bit histogram's
        // finer bins move Otsu's level a little).
        let t8 = try #require(r8.threshold)
        #expect(abs(try #require(r16.threshold) - (33_000 + 7 * t8)) <= 4 * 7)
    }

    @Test func fixedThresholdIsInSampleUnits() throws {
        // setup: a bright square of 30 000 on 10 000 (16 bits)
        var pixels = [UInt16](repeating: 10_000, count: 64 * 64)
        for y in 20..<44 { for x in 20..<44 { pixels[y * 64 + x] = 30_000 } }
        let image = AnyGrayImage.uint16(try GrayImage16(width: 64, height: 64, pixels: pixels))
        var parameters = SegmenterParameters(threshold: .fixed(20_000), polarity: .bright, sigma: 0, background: .none)
        parameters.openingRadius = 0
        parameters.closingRadius = 0
        // MUT
        let result = try BuiltinSegmenter(parameters: parameters).segmentMask(image)
        // validate
        #expect(result.threshold == 20_000)
        #expect(result.mask.pixels.filter { $0 != 0 }.count == 24 * 24)
        parameters.threshold = .fixed(30_000)  // objects are above the threshold, so none
        #expect(try BuiltinSegmenter(parameters: parameters).segmentMask(image).mask.pixels.allSatisfy { $0 == 0 })
    }

    // MARK: Polarity

    /// Phase contrast: a dark rod in a bright halo, and bright rings of out-of-focus beads. Both
    /// sides of the background depart; the halo encloses the rod, so objects are dark.
    @Test func aHaloEnclosesItsObject() throws {
        // setup
        func rod(_ x: Double, _ y: Double) -> Double {
            let dx = max(0, abs(x - 60) - 18)
            let dy = y - 50
            return (dx * dx + dy * dy).squareRoot()  // distance from a horizontal segment
        }
        let image = rendered(width: 160, height: 100) { x, y in
            let d = rod(x, y)
            if d <= 6 { return 40 }
            if d <= 11 { return 215 }
            for (bx, by) in [(130.0, 20.0), (135.0, 80.0), (20.0, 85.0)] {
                let r = ((x - bx) * (x - bx) + (y - by) * (y - by)).squareRoot()
                if r >= 4 && r <= 7 { return 225 }
            }
            return 150
        }
        // MUT
        let result = try BuiltinSegmenter().segment(image)
        // validate
        #expect(result.polarity == .dark)
        #expect(result.polygons.count == 1)
        let m = try #require(result.polygons.first?.metrics)
        #expect(abs(m.centroid.x - 60) < 2 && abs(m.centroid.y - 50) < 2, "\(m.centroid)")
    }

    /// The reverse (a defocused brightfield cell, as scikit-image's `cell` sample): a bright disk
    /// in a dark rim is a bright object.
    @Test func aDarkRimEnclosesABrightCell() throws {
        let image = rendered(width: 120, height: 120) { x, y in
            let r = ((x - 70) * (x - 70) + (y - 55) * (y - 55)).squareRoot()
            return r <= 20 ? 210 : r <= 26 ? 60 : 130
        }
        let result = try BuiltinSegmenter().segment(image)
        #expect(result.polarity == .bright)
        #expect(result.polygons.count == 1)
        let m = try #require(result.polygons.first?.metrics)
        // The smoothed edge drops towards the dark rim, so the outline sits a little inside r = 20.
        #expect(abs(m.equivalentDiameter - 41) < 6, "\(m.equivalentDiameter)")
        #expect(abs(m.centroid.x - 70) < 1.5 && abs(m.centroid.y - 55) < 1.5, "\(m.centroid)")
    }

    // MARK: Presets and declumping

    /// Two touching nuclei (a neck between them) and one elongated nucleus: the nuclei preset
    /// splits the pair and leaves the long one whole; the spheroid preset splits nothing.
    @Test func nucleiPresetSplitsTouchingNucleiOnly() throws {
        // setup
        func disk(_ x: Double, _ y: Double, _ cx: Double, _ cy: Double, _ r: Double) -> Bool {
            (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r
        }
        let image = rendered(width: 200, height: 100) { x, y in
            if disk(x, y, 40, 50, 14) || disk(x, y, 64, 52, 13) { return 180 }
            let u = (x - 140) / 32
            let v = (y - 50) / 11
            if u * u + v * v <= 1 { return 170 }
            return 25
        }
        // MUT
        let nuclei = try BuiltinSegmenter(parameters: SegmenterParameters(preset: .nuclei)).segment(image)
        let spheroid = try BuiltinSegmenter().segment(image)
        // validate
        #expect(nuclei.polygons.count == 3, "\(nuclei.polygons.count) objects")
        #expect(nuclei.objectsSplit == 1)
        #expect(spheroid.polygons.count == 2 && spheroid.objectsSplit == 0)
        let split = nuclei.polygons.compactMap(\.metrics?.centroid.x).filter { $0 < 100 }.sorted()
        #expect(split.count == 2 && abs(split[0] - 40) < 4 && abs(split[1] - 64) < 4, "\(split)")
    }

    @Test func declumpingSplitsAChainIntoItsNuclei() throws {
        let centres = [(30.0, 40.0), (52.0, 42.0), (74.0, 40.0), (96.0, 43.0)]
        let image = rendered(width: 130, height: 80) { x, y in
            centres.contains { (x - $0.0) * (x - $0.0) + (y - $0.1) * (y - $0.1) <= 144 } ? 200 : 30
        }
        let result = try BuiltinSegmenter(parameters: SegmenterParameters(preset: .nuclei)).segment(image)
        #expect(result.polygons.count == 4, "\(result.polygons.count) objects")
        #expect(result.objectsSplit == 1)
        // The cuts are thin: almost every pixel of the chain is kept.
        let area = result.polygons.compactMap(\.metrics?.area).reduce(0, +)
        #expect(area > 0.85 * 4 * Double.pi * 144, "\(area)")
    }

    // MARK: Thresholds

    /// Li's threshold as scikit-image 0.26's `threshold_li` computes it on the same values
    /// (58.398 → objects above 58; with an offset of 1000, 1058.398; on a second set 22.701).
    @Test func liMatchesScikitImage() throws {
        var values: [Int] = []
        for i in 0..<3000 { values.append(20 + (i * 7) % 21) }
        for i in 0..<700 { values.append(60 + (i * 13) % 141) }
        for i in 0..<30 { values.append(230 + i % 20) }
        func histogram(_ v: [Int], bins: Int) -> [Int] {
            var h = [Int](repeating: 0, count: bins)
            for x in v { h[x] += 1 }
            return h
        }
        #expect(ThresholdSelector.li(histogram(values, bins: 256), dark: false) == 58)
        #expect(ThresholdSelector.li(histogram(values.map { $0 + 1000 }, bins: 2048), dark: false) == 1058)
        let second =
            [Int](repeating: 5, count: 500) + [Int](repeating: 6, count: 400) + [Int](repeating: 100, count: 50)
            + [Int](repeating: 101, count: 50)
        #expect(ThresholdSelector.li(histogram(second, bins: 256), dark: false) == 22)
        // Dark objects: the mirror image of the first set gives the mirrored class boundary.
        let mirrored = histogram(values.map { 255 - $0 }, bins: 256)
        #expect(ThresholdSelector.li(mirrored, dark: true) == 255 - 58 - 1)
    }

    @Test func resultSaysWhatWasChosen() throws {
        let image = rendered(width: 80, height: 80) { x, y in (x - 40) * (x - 40) + (y - 40) * (y - 40) <= 300 ? 190 : 20 }
        let result = try BuiltinSegmenter(parameters: SegmenterParameters(preset: .nuclei)).segment(image)
        let outcome = SegmentationOutcome(result)
        #expect(outcome.preset == .nuclei && outcome.polarity == .bright && outcome.objectsSplit == 0)
        let t = try #require(outcome.threshold)
        #expect(t > 20 && t < 190)
        let json = String(decoding: try JSONEncoder().encode(ParametersWithOutcome(result)), as: UTF8.self)
        #expect(json.contains(#""outcome":{"#) && json.contains(#""preset":"nuclei""#) && json.contains(#""threshold":"li""#))
    }
}
