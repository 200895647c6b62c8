import ArgumentParser
import Foundation
import SegCore

extension SegCtl {
    /// `segctl segment IMAGE...`: the built-in segmenter, offline.
    struct Segment: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Segment images with the built-in segmenter and print polygons with shape metrics.",
            discussion: """
                One result per image: to stdout for a single image (JSON Lines for several with --format json), or one \
                file per image with --out DIR. A bad image is named on stderr with the reason, the others are still \
                processed, and the exit code is 1.
                """
        )

        @Argument(help: "JPEG or PNG images.")
        var images: [String] = []

        @OptionGroup var output: OutputOptions

        @Option(help: "Threshold: otsu, triangle, or a fixed gray value 0–255 (applied to the flattened image).")
        var threshold: String = "otsu"

        @Option(help: "Objects darker (dark) or brighter (bright) than the background, or auto-detect.")
        var polarity: String = "auto"

        @Option(name: .customLong("min-area"), help: "Leave out objects smaller than this many px².")
        var minArea: Double = 50

        @Flag(name: .customLong("fill-holes"), help: "Fill holes inside objects.")
        var fillHoles = false

        @Flag(name: .customLong("remove-border-objects"), help: "Leave out objects that touch the image border.")
        var removeBorderObjects = false

        func parameters() throws -> SegmenterParameters {
            var p = SegmenterParameters()
            switch threshold.lowercased() {
            case "otsu": p.threshold = .otsu
            case "triangle": p.threshold = .triangle
            default:
                guard let v = Int(threshold), (0...255).contains(v) else {
                    throw ValidationError("--threshold must be otsu, triangle or a gray value 0–255, not '\(threshold)'")
                }
                p.threshold = .fixed(UInt8(v))
            }
            guard let pol = SegmenterParameters.Polarity(rawValue: polarity.lowercased()) else {
                throw ValidationError("--polarity must be auto, dark or bright, not '\(polarity)'")
            }
            p.polarity = pol
            guard minArea.isFinite, minArea >= 0 else { throw ValidationError("--min-area must be a non-negative number") }
            p.minArea = minArea
            p.fillHoles = fillHoles
            p.removeBorderObjects = removeBorderObjects
            p.scale = output.scale
            return p
        }

        func validate() throws {
            try output.validate(inputs: images)
            _ = try parameters()
        }

        func run() throws {
            let parameters = try parameters()
            let segmenter = BuiltinSegmenter(parameters: parameters)
            let results = BatchRunner.run(paths: images, jobs: output.jobs, label: "segment") { path in
                let image = try ImageDecoder.decodeGray(try FileInput.read(path))
                let result = try segmenter.segment(image)
                return FileResult(
                    path: path, name: (path as NSString).lastPathComponent, width: image.width, height: image.height,
                    polygons: result.polygons, segmenter: .builtin(parameters))
            }
            if try !ResultWriter.write(results, paths: images, options: output) { throw ExitCode(1) }
        }
    }
}
