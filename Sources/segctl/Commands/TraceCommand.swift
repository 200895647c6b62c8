import ArgumentParser
import Foundation
import SegCore

extension SegCtl {
    /// `segctl trace MASK`: contours of a mask, as OpenCV's `findContours` lists them.
    struct Trace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the contours of a mask as JSON, exactly as OpenCV's findContours lists them.",
            discussion: """
                A pixel is foreground when any colour channel is non-zero (alpha is ignored). In a label mask \
                (more than one distinct non-zero value) each value is traced as its own object, in ascending \
                value order, unless --binary is given. EXIF orientation is ignored: coordinates refer to the \
                stored pixel grid. Output: {"width", "height", "contours": [{"points": [[x,y],...], "parent": i|null, "hole": bool}]}.
                """
        )

        @Argument(help: "A PNG, TIFF, BMP or JPEG mask.")
        var mask: String

        @Option(help: "Vertices to keep: none (every boundary pixel) or simple (run ends), like CHAIN_APPROX_NONE/SIMPLE.")
        var approx: ContourApproximation = .simple

        @Flag(help: "Full nesting tree (RETR_TREE) instead of two levels (RETR_CCOMP).")
        var tree = false

        @Flag(help: "Treat every non-zero pixel as one foreground, even in a label mask.")
        var binary = false

        @OptionGroup var plane: PlaneOptions

        func run() throws {
            let retrieval: ContourRetrieval = tree ? .tree : .ccomp
            let raster: RasterImage
            do {
                raster = try ImageDecoder.decodeRaster(try FileInput.read(mask), selection: try plane.selection())
            } catch let error as SegCoreError {
                Terminal.warn("segctl: \(mask): \(error)")
                throw ExitCode(1)
            } catch {
                Terminal.warn("segctl: \(error)")
                throw ExitCode(1)
            }
            // A binary mask is a label mask with one label (traced on its bounding-box crop, which
            // gives the same contours), so only --binary needs the whole-image path.
            let contours =
                binary
                ? ContourTracer.trace(BinaryMask(anyChannelOf: raster), retrieval: retrieval, approximation: approx)
                : LabelTracing.trace(raster, retrieval: retrieval, approximation: approx)
            var out = "{\"width\": \(raster.width), \"height\": \(raster.height), \"contours\": ["
            out.reserveCapacity(64 + contours.reduce(0) { $0 + $1.points.count * 12 })
            for (i, c) in contours.enumerated() {
                if i > 0 { out += ", " }
                out += "{\"points\": ["
                for (j, p) in c.points.enumerated() {
                    if j > 0 { out += "," }
                    out += "[\(p.x),\(p.y)]"
                }
                out += "], \"parent\": \(c.parent.map(String.init) ?? "null"), \"hole\": \(c.isHole)}"
            }
            out += "]}\n"
            Terminal.output(out)
        }
    }
}

extension ContourApproximation: ExpressibleByArgument {}

/// Traces each label of a label mask on its own and concatenates the results.
enum LabelTracing {
    static func trace(_ raster: RasterImage, retrieval: ContourRetrieval, approximation: ContourApproximation) -> [Contour] {
        var result: [Contour] = []
        for (mask, offset) in PolygonExtractor.labelMasks(raster) {
            let base = result.count
            for var c in ContourTracer.trace(mask, retrieval: retrieval, approximation: approximation) {
                c.points = c.points.map { Point(x: $0.x + offset.x, y: $0.y + offset.y) }
                c.parent = c.parent.map { $0 + base }
                result.append(c)
            }
        }
        return result
    }
}
