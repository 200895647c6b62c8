import ArgumentParser
import Foundation
import NIOCore
import SegCore
import SegInference

extension SegCtl {
    /// `segctl segment IMAGE...`: the built-in segmenter, or a model on an inference server, without segserver.
    struct Segment: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Segment images with the built-in segmenter, or a model (--model), and print polygons with shape metrics.",
            discussion: """
                One result per image: to stdout for a single image (JSON Lines for several with --format json), or one \
                file per image with --out DIR. A bad image is named on stderr with the reason, the others are still \
                processed, and the exit code is 1. Images are segmented at their own precision (16-bit and float TIFFs \
                are not reduced to 8 bits). Options given explicitly override the preset's values.

                With --model NAME the images go to that model of the registry (--models FILE, default \
                $SEG_MODELS_FILE) on its Open Inference Protocol server (KServe, Triton, …); --threshold is then the \
                probability (0.05–0.95), --min-area and --fill-holes apply, and the built-in segmenter's options do not.
                """
        )

        @Option(help: "A model of the registry instead of the built-in segmenter.")
        var model: String?

        @Option(help: ArgumentHelp("The model registry (default: $SEG_MODELS_FILE).", valueName: "file"))
        var models: String?

        @Option(name: .customLong("inference-timeout"), help: "Seconds one inference request may take (default: $SEG_INFERENCE_TIMEOUT or 60).")
        var inferenceTimeout: Int?

        @Argument(help: "JPEG, PNG, TIFF or BMP images.")
        var images: [String] = []

        @OptionGroup var output: OutputOptions

        @Option(help: "Parameter preset: spheroid (the default: one object per spheroid or cell) or nuclei (touching nuclei split).")
        var preset: SegmenterParameters.Preset = .spheroid

        @Option(help: "Threshold: otsu, triangle, li, or a fixed level in the image's sample units (applied to the flattened image).")
        var threshold: String?

        @Option(help: "Objects darker (dark) or brighter (bright) than the background, or auto-detect.")
        var polarity: SegmenterParameters.Polarity?

        @Option(help: "Gaussian smoothing in px (0–16).")
        var sigma: Double?

        @Option(name: .customLong("opening-radius"), help: "Radius in px of the morphological opening (0–32).")
        var openingRadius: Int?

        @Option(name: .customLong("closing-radius"), help: "Radius in px of the morphological closing (0–32).")
        var closingRadius: Int?

        @Option(help: "Background flattening: divide, subtract or none.")
        var background: SegmenterParameters.BackgroundCorrection?

        @Option(name: .customLong("min-area"), help: "Leave out objects smaller than this many px².")
        var minArea: Double?

        @Flag(name: .customLong("fill-holes"), inversion: .prefixedNo, help: "Fill holes inside objects.")
        var fillHoles: Bool?

        @Flag(name: .customLong("declump"), inversion: .prefixedNo, help: "Split touching objects.")
        var declump: Bool?

        @Flag(name: .customLong("remove-border-objects"), help: "Leave out objects that touch the image border.")
        var removeBorderObjects = false

        @OptionGroup var plane: PlaneOptions

        func parameters() throws -> SegmenterParameters {
            var p = preset.parameters
            if let threshold {
                switch threshold.lowercased() {
                case "otsu": p.threshold = .otsu
                case "triangle": p.threshold = .triangle
                case "li": p.threshold = .li
                default:
                    guard let v = Double(threshold), v.isFinite else {
                        throw ValidationError("--threshold must be otsu, triangle, li or a number (the image's sample units), not '\(threshold)'")
                    }
                    p.threshold = .fixed(v)
                }
            }
            if let polarity { p.polarity = polarity }
            if let sigma {
                guard sigma.isFinite, (0...SegmenterParameters.maxSigma).contains(sigma) else {
                    throw ValidationError("--sigma must be between 0 and \(SegmenterParameters.maxSigma)")
                }
                p.sigma = sigma
            }
            if let background { p.background = background }
            for (name, value) in [("opening", openingRadius), ("closing", closingRadius)] {
                if let value, !(0...SegmenterParameters.maxRadius).contains(value) {
                    throw ValidationError("--\(name)-radius must be between 0 and \(SegmenterParameters.maxRadius)")
                }
            }
            if let openingRadius { p.openingRadius = openingRadius }
            if let closingRadius { p.closingRadius = closingRadius }
            if let minArea {
                guard minArea.isFinite, minArea >= 0 else { throw ValidationError("--min-area must be a non-negative number") }
                p.minArea = minArea
            }
            if let fillHoles { p.fillHoles = fillHoles }
            if let declump { p.declump = declump }
            if removeBorderObjects { p.removeBorderObjects = true }
            p.scale = output.scale
            p.selection = try plane.selection()
            return p
        }

        func validate() throws {
            try output.validate(inputs: images)
            if model != nil {
                _ = try modelOptions()
            } else {
                _ = try parameters()
            }
        }

        func run() async throws {
            if let model {
                try await runModel(model)
                return
            }
            let parameters = try parameters()
            let segmenter = BuiltinSegmenter(parameters: parameters)
            let results = BatchRunner.run(paths: images, jobs: output.jobs, label: "segment") { path in
                let image = try ImageDecoder.decode(try FileInput.read(path), selection: parameters.selection)
                let result = try segmenter.segment(image)
                return FileResult(
                    path: path, name: (path as NSString).lastPathComponent, width: image.width, height: image.height,
                    polygons: result.polygons, segmenter: .builtin(parameters, SegmentationOutcome(result)))
            }
            if try !ResultWriter.write(results, paths: images, options: output) { throw ExitCode(1) }
        }

        // MARK: Models

        /// What a model run takes from the command line, with the built-in segmenter's options refused.
        func modelOptions() throws -> (threshold: Double?, holes: Bool?) {
            let builtinOnly: [(String, Bool)] = [
                ("--preset", preset != .spheroid), ("--polarity", polarity != nil), ("--sigma", sigma != nil),
                ("--opening-radius", openingRadius != nil), ("--closing-radius", closingRadius != nil),
                ("--background", background != nil), ("--declump", declump != nil), ("--remove-border-objects", removeBorderObjects),
            ]
            if let (flag, _) = builtinOnly.first(where: { $0.1 }) {
                throw ValidationError("\(flag) is an option of the built-in segmenter, not of a model")
            }
            if let minArea, !(minArea.isFinite && minArea >= 0) { throw ValidationError("--min-area must be a non-negative number") }
            if let inferenceTimeout, !(1...3600).contains(inferenceTimeout) {
                throw ValidationError("--inference-timeout must be 1 to 3600 seconds")
            }
            var probability: Double?
            if let threshold {
                guard let value = Double(threshold), (0.05...0.95).contains(value) else {
                    throw ValidationError("--threshold with --model is a probability from 0.05 to 0.95, not '\(threshold)'")
                }
                probability = value
            }
            return (probability, fillHoles.map { !$0 })
        }

        private func runModel(_ name: String) async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let path = models ?? environment["SEG_MODELS_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw ValidationError("--model needs the model registry: pass --models FILE or set SEG_MODELS_FILE")
            }
            let registry: ModelRegistry
            do {
                registry = try ModelRegistry(contentsOf: URL(fileURLWithPath: path))
            } catch {
                Terminal.warn("segctl: \(error)")
                throw ExitCode(64)
            }
            guard let descriptor = registry.model(named: name) else {
                let known = registry.models.map(\.name).joined(separator: ", ")
                throw ValidationError("no model \"\(name)\" in \(path) (it has: \(known.isEmpty ? "none" : known))")
            }
            let (threshold, holes) = try modelOptions()
            let seconds = inferenceTimeout ?? environment["SEG_INFERENCE_TIMEOUT"].flatMap(Int.init) ?? 60
            let segmenter = ModelSegmenter(
                model: descriptor, client: InferenceClient(server: descriptor.server, timeout: .seconds(Int64(seconds))))
            var options = segmenter.defaultOptions
            if let threshold { options.threshold = threshold }
            if let minArea { options.minArea = minArea }
            if let holes { options.holes = holes }
            options.scale = output.scale
            let selection = try plane.selection()
            let chosen = options
            let results = await BatchRunner.run(paths: images, jobs: output.jobs, label: "segment") { path in
                let image = try ImageDecoder.decode(try FileInput.read(path), selection: selection)
                let result = try await segmenter.segment(image, options: chosen)
                return FileResult(
                    path: path, name: (path as NSString).lastPathComponent, width: image.width, height: image.height,
                    polygons: result.polygons,
                    segmenter: .model(name: descriptor.name, model: descriptor.model, version: descriptor.version, options: chosen))
            }
            if try !ResultWriter.write(results, paths: images, options: output) { throw ExitCode(1) }
        }
    }
}

/// `--page`, or `--channel`/`--z`/`--t`: which plane of a multi-page TIFF to read.
struct PlaneOptions: ParsableArguments {
    @Option(help: "Page (image directory) of a multi-page TIFF, from 0 (default: the first plane).")
    var page: Int?

    @Option(help: "Channel of an OME-TIFF or ImageJ hyperstack, from 0.")
    var channel: Int?

    @Option(help: "Z-slice of an OME-TIFF or ImageJ hyperstack, from 0.")
    var z: Int?

    @Option(help: "Time point of an OME-TIFF or ImageJ hyperstack, from 0.")
    var t: Int?

    func selection() throws -> ImageSelection {
        let selection = ImageSelection(page: page, channel: channel, z: z, t: t)
        do {
            try selection.validate()
        } catch {
            throw ValidationError(error.description.replacingOccurrences(of: "invalid argument: ", with: ""))
        }
        return selection
    }
}

extension SegmenterParameters.Preset: ExpressibleByArgument {}
extension SegmenterParameters.Polarity: ExpressibleByArgument {}
extension SegmenterParameters.BackgroundCorrection: ExpressibleByArgument {}
