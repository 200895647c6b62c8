// package-benchmark suites for SegCore's hot paths. Inputs are generated here, in memory, so
// the suite needs no files. Run: `SEGHUB_BENCHMARKS=1 swift package benchmark` (see
// docs/benchmarks.md; the peer comparison is scripts/bench/bench-vs-peers.sh).
import Benchmark
import SegCore

/// A brightfield-like scene: dark elliptical spheroids on a vignetted background, with its mask.
private func scene(size: Int, count: Int) -> (image: GrayImage, mask: BinaryMask) {
    var image = GrayImage(width: size, height: size)
    var mask = BinaryMask(width: size, height: size)
    var seed: UInt64 = 0x5EED
    func next() -> Double {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(seed >> 11) / Double(1 << 53)
    }
    let c = Double(size) / 2
    for y in 0..<size {
        for x in 0..<size {
            let r2 = ((Double(x) - c) * (Double(x) - c) + (Double(y) - c) * (Double(y) - c)) / (c * c)
            image[x, y] = UInt8(max(0, min(255, 200 - 45 * r2 + 6 * (next() - 0.5))))
        }
    }
    for _ in 0..<count {
        let r = (0.03 + 0.06 * next()) * Double(size)
        let cx = r + 2 + next() * (Double(size) - 2 * r - 4)
        let cy = r + 2 + next() * (Double(size) - 2 * r - 4)
        for y in max(0, Int(cy - r))...min(size - 1, Int(cy + r)) {
            for x in max(0, Int(cx - r))...min(size - 1, Int(cx + r)) {
                let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)) / (r * r)
                if d <= 1 {
                    mask.set(x: x, y: y, true)
                    image[x, y] = UInt8(max(0, Int(image[x, y]) - Int(90 * (1 - 0.4 * d))))
                }
            }
        }
    }
    return (image, mask)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput, .peakMemoryResident],
        maxDuration: .seconds(3),
        maxIterations: 200
    )

    let (image, mask) = scene(size: 1024, count: 14)
    let jpeg = (try? JPEGEncoder.encode(image, quality: 90)) ?? []
    let png = (try? PNGEncoder.encode(image)) ?? []
    var checker = BinaryMask(width: 512, height: 512)
    for y in 0..<512 { for x in 0..<512 where (x + y) % 2 == 1 { checker.set(x: x, y: y, true) } }
    let rings = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .none).map { $0.points.map(Point2D.init) }
    let polygons = PolygonExtractor.polygons(from: mask)

    Benchmark("decode JPEG 1024² gray") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try ImageDecoder.decodeGray(jpeg)) }
    }
    Benchmark("decode PNG 1024² gray") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try ImageDecoder.decodeGray(png)) }
    }
    Benchmark("trace 1024² spheroid mask (CCOMP, SIMPLE)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ContourTracer.trace(mask)) }
    }
    Benchmark("trace 512² one-pixel checkerboard (CCOMP)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ContourTracer.trace(checker)) }
    }
    Benchmark("simplify every contour, ε = 2") { benchmark in
        for _ in benchmark.scaledIterations {
            for ring in rings { blackHole(PolygonSimplifier.simplifyClosed(ring, epsilon: 2)) }
        }
    }
    Benchmark("measure every polygon") { benchmark in
        for _ in benchmark.scaledIterations {
            for p in polygons { blackHole(ShapeMetrics.measure(exterior: p.exterior, holes: p.holes)) }
        }
    }
    Benchmark("segment 1024² with metrics") { benchmark in
        let segmenter = BuiltinSegmenter()
        for _ in benchmark.scaledIterations { blackHole(try segmenter.segment(image)) }
    }
}
