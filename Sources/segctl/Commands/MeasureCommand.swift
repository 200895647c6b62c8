import ArgumentParser
import Foundation
import SegCore

extension SegCtl {
    /// `segctl measure MASK...`: polygons and metrics of masks made elsewhere.
    struct Measure: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Polygons and shape metrics from masks made by any tool (binary or label masks).",
            discussion: """
                A binary mask's components become polygons; in a label mask (more than one distinct non-zero \
                value) each value is its own object. Output has the same shape as `segctl segment`.
                """
        )

        @Argument(help: "PNG, TIFF, BMP or JPEG masks (8-, 16- or 32-bit labels).")
        var masks: [String] = []

        @OptionGroup var output: OutputOptions

        @Option(name: .customLong("min-area"), help: "Leave out objects smaller than this many px².")
        var minArea: Double = 0

        @OptionGroup var plane: PlaneOptions

        func validate() throws {
            try output.validate(inputs: masks)
            _ = try plane.selection()
            if !(minArea.isFinite && minArea >= 0) { throw ValidationError("--min-area must be a non-negative number") }
        }

        func run() throws {
            let scale = output.scale
            let minArea = minArea
            let selection = try plane.selection()
            let results = BatchRunner.run(paths: masks, jobs: output.jobs, label: "measure") { path in
                let raster = try ImageDecoder.decodeRaster(try FileInput.read(path), selection: selection)
                // One label map serves binary masks too: a single non-zero value is a single label.
                let polygons = PolygonExtractor.polygons(fromLabels: raster, minArea: minArea, scale: scale)
                return FileResult(
                    path: path, name: (path as NSString).lastPathComponent, width: raster.width, height: raster.height,
                    polygons: polygons, segmenter: .measure(minArea: minArea, scale: scale))
            }
            if try !ResultWriter.write(results, paths: masks, options: output) { throw ExitCode(1) }
        }
    }
}
