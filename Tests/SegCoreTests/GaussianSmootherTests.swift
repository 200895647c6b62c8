import Foundation
import Testing

@testable import SegCore

/// The vectorised smoothing passes against a plain scalar reading of their contract: a vertical
/// then a horizontal pass with the kernel's weights (which sum to 256), each rounded to the nearest
/// integer (`(Σ w·v + 128) / 256`), borders replicated.
@Suite struct GaussianSmootherTests {
    static func reference<T: FixedWidthInteger & UnsignedInteger>(_ source: [T], width: Int, height: Int, sigma: Double) -> [T] {
        let k = GaussianSmoother.kernel(sigma: sigma).map(Int.init)
        let r = k.count / 2
        var vertical = [Int](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0
                for i in -r...r { sum += k[i + r] * Int(source[min(max(y + i, 0), height - 1) * width + x]) }
                vertical[y * width + x] = (sum + 128) >> 8
            }
        }
        var out = [T](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                var sum = 0
                for i in -r...r { sum += k[i + r] * vertical[y * width + min(max(x + i, 0), width - 1)] }
                out[y * width + x] = T((sum + 128) >> 8)
            }
        }
        return out
    }

    /// Deterministic samples with edges, flat runs and the extremes of the type.
    static func samples<T: FixedWidthInteger & UnsignedInteger>(_: T.Type, width: Int, height: Int, seed: UInt64) -> [T] {
        var state = seed
        return (0..<(width * height)).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let x = i % width
            let y = i / width
            switch (state >> 60) & 3 {
            case 0: return T.max
            case 1: return T.min
            default: return (x / 7 + y / 5) % 2 == 0 ? T(truncatingIfNeeded: state >> 33) : T.max / 3
            }
        }
    }

    static let shapes = [(1, 1), (3, 2), (15, 9), (16, 16), (17, 5), (33, 31), (70, 3), (5, 70), (130, 47)]

    /// Every shape, smoothed by `smooth` (SegCore's pass for `T`) and by the scalar reference, at `sigma`.
    static func expectEveryShapeMatches<T: FixedWidthInteger & UnsignedInteger>(
        _ smooth: ([T], _ width: Int, _ height: Int, _ sigma: Double) -> [T], sigma: Double
    ) {
        for (w, h) in shapes {
            let source = samples(T.self, width: w, height: h, seed: UInt64(w * 1000 + h))
            let smoothed = smooth(source, w, h, sigma)
            #expect(smoothed == reference(source, width: w, height: h, sigma: sigma), "\(T.self) \(w)×\(h), σ \(sigma)")
        }
    }

    @Test(arguments: [0.6, 1, 2, 3.5])
    func eightBitMatchesTheScalarReference(sigma: Double) {
        Self.expectEveryShapeMatches({ (s: [UInt8], w, h, σ) in GaussianSmoother.smooth(s, width: w, height: h, sigma: σ) }, sigma: sigma)
    }

    /// 16-bit sums are split into high and low bytes to stay in 16-bit lanes: exact for every
    /// value, 65535 included.
    @Test(arguments: [0.6, 1, 2, 3.5])
    func sixteenBitMatchesTheScalarReference(sigma: Double) {
        Self.expectEveryShapeMatches({ (s: [UInt16], w, h, σ) in GaussianSmoother.smooth(s, width: w, height: h, sigma: σ) }, sigma: sigma)
        let white = [UInt16](repeating: .max, count: 40 * 20)
        #expect(GaussianSmoother.smooth(white, width: 40, height: 20, sigma: sigma) == white)
    }

    @Test func kernelsSumTo256AndFollowTheGaussian() {
        for sigma in [0.5, 1, 1.5, 2, 4, 8] {
            let k = GaussianSmoother.kernel(sigma: sigma)
            #expect(k.reduce(0) { $0 + Int($1) } == 256)
            #expect(k == k.reversed())
            // Each weight within 1.5/256 of the normalised Gaussian (rounding, plus the dropped tails moved to the centre).
            let r = k.count / 2
            let real = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
            let total = (-Int((3 * sigma).rounded(.up))...Int((3 * sigma).rounded(.up))).reduce(0.0) {
                $0 + exp(-Double($1 * $1) / (2 * sigma * sigma))
            }
            for i in 0..<k.count where i != r {
                #expect(abs(Double(k[i]) - real[i] / total * 256) <= 0.5 + 1e-9, "σ \(sigma) tap \(i)")
            }
        }
    }
}
