import ArgumentParser
import Foundation
import SegCore

extension SegCtl {
    /// `segctl bench decode|trace|segment FILE`: times one step on one thread.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time one processing step on one thread and print JSON.",
            discussion: """
                decode: bytes in memory → gray pixels at the file's own precision (colour JPEGs decoded straight to gray \
                by libjpeg, 16-bit TIFFs and PNGs to 16-bit samples); \
                trace: mask in memory → contours (CCOMP, SIMPLE); simplify: every contour of a mask \
                (CCOMP, NONE) → Douglas-Peucker with ε = 2 px; segment: decoded image → polygons with metrics (with \
                --preset and --declump as for `segctl segment`). \
                Prints {"operation", "file", "width", "height", "repeat", "medianSeconds", "megapixelsPerSecond"}.
                """
        )

        enum Operation: String, ExpressibleByArgument, CaseIterable {
            case decode, trace, simplify, segment
        }

        @Argument(help: "decode, trace, simplify or segment.")
        var operation: Operation

        @Argument(help: "The input file.")
        var file: String

        @Option(help: "How many timed runs (the median is reported).")
        var `repeat`: Int = 10

        @Option(help: "Segmenter preset for `segment`.")
        var preset: SegmenterParameters.Preset = .spheroid

        @Flag(name: .customLong("declump"), inversion: .prefixedNo, help: "Split touching objects in `segment` (default: the preset's).")
        var declump: Bool?

        func validate() throws {
            if `repeat` < 1 { throw ValidationError("--repeat must be at least 1") }
        }

        func run() throws {
            let bytes: [UInt8]
            do { bytes = try FileInput.read(file) } catch {
                Terminal.warn("segctl: \(error)")
                throw ExitCode(1)
            }
            var width = 0
            var height = 0
            var samples: [Double] = []
            do {
                switch operation {
                case .decode:
                    let first = try ImageDecoder.decode(bytes)
                    (width, height) = (first.width, first.height)
                    samples = try time(`repeat`) { _ = try ImageDecoder.decode(bytes) }
                case .trace:
                    let mask = BinaryMask(anyChannelOf: try ImageDecoder.decodeRaster(bytes))
                    (width, height) = (mask.width, mask.height)
                    samples = time(`repeat`) { _ = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .simple) }
                case .simplify:
                    let mask = BinaryMask(anyChannelOf: try ImageDecoder.decodeRaster(bytes))
                    (width, height) = (mask.width, mask.height)
                    let rings = ContourTracer.trace(mask, retrieval: .ccomp, approximation: .none).map { $0.points.map(Point2D.init) }
                    samples = time(`repeat`) {
                        for ring in rings { _ = PolygonSimplifier.simplifyClosed(ring, epsilon: 2) }
                    }
                case .segment:
                    let image = try ImageDecoder.decode(bytes)
                    (width, height) = (image.width, image.height)
                    var parameters = preset.parameters
                    if let declump { parameters.declump = declump }
                    let segmenter = BuiltinSegmenter(parameters: parameters)
                    samples = try time(`repeat`) { _ = try segmenter.segment(image) }
                }
            } catch {
                Terminal.warn("segctl: \(file): \(ResultWriter.describe(error))")
                throw ExitCode(1)
            }
            samples.sort()
            let median = samples.count % 2 == 1 ? samples[samples.count / 2] : (samples[samples.count / 2 - 1] + samples[samples.count / 2]) / 2
            let mps = median > 0 ? Double(width * height) / 1e6 / median : 0
            struct Output: Encodable {
                var operation: String
                var file: String
                var width: Int
                var height: Int
                var `repeat`: Int
                var medianSeconds: Double
                var megapixelsPerSecond: Double
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let data = try encoder.encode(
                Output(
                    operation: operation.rawValue, file: file, width: width, height: height, repeat: `repeat`, medianSeconds: median,
                    megapixelsPerSecond: mps))
            Terminal.output([UInt8](data) + [UInt8(ascii: "\n")])
        }

        private func time(_ n: Int, _ body: () throws -> Void) rethrows -> [Double] {
            let clock = ContinuousClock()
            var result: [Double] = []
            for _ in 0..<n {
                let start = clock.now
                try body()
                let d = clock.now - start
                result.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            }
            return result
        }
    }
}
