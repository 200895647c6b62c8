import Foundation
import Testing

@testable import SegCore

/// Test-side readers for the export tests, written independently of the exporters: fixture loading, run lists,
/// a COCO RLE decoder and a strict RFC 4180 reader. Each is checked here against data from Python.
enum ExportTestSupport {
    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `Fixtures/export/<name>` as JSON.
    static func fixture(_ name: String) throws -> Any {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let data = try Data(contentsOf: root.appendingPathComponent("export").appendingPathComponent(name))
        return try JSONSerialization.jsonObject(with: data)
    }

    /// Expands a row-major run list `[value, count, value, count, ...]`.
    static func expandRuns(_ runs: [Int]) -> [Int] {
        var out: [Int] = []
        var i = 0
        while i + 1 < runs.count {
            out += Array(repeating: runs[i], count: runs[i + 1])
            i += 2
        }
        return out
    }

    /// `[[x, y], ...]` from JSON numbers.
    static func points(_ any: Any?) throws -> [Point2D] {
        guard let list = any as? [[NSNumber]] else { throw FixtureError(description: "not a point list: \(String(describing: any))") }
        return list.map { Point2D(x: $0[0].doubleValue, y: $0[1].doubleValue) }
    }

    /// `[(x, y), ...]` as points.
    static func ring(_ xy: [(Double, Double)]) -> [Point2D] {
        xy.map { Point2D(x: $0.0, y: $0.1) }
    }

    /// The square with corner pixels (x0, y0) and (x0 + side − 1, y0 + side − 1), listed counter-clockwise on screen.
    static func square(_ x0: Double, _ y0: Double, side: Double) -> [Point2D] {
        let s = side - 1
        return ring([(x0, y0), (x0, y0 + s), (x0 + s, y0 + s), (x0 + s, y0)])
    }

    /// The 1-px hole at (x, y) as OpenCV traces it: the diamond through its four neighbours, clockwise on screen.
    static func diamond(_ x: Double, _ y: Double) -> [Point2D] {
        ring([(x - 1, y), (x, y - 1), (x + 1, y), (x, y + 1)])
    }

    /// Three images: holes (one and several), objects on every border, several classes, hostile and Unicode names,
    /// an image without objects, and degenerate polygons the polygon formats skip.
    static func sampleImages() -> [ExportImage] {
        let a = ExportImage(
            name: "plate 1, well \"A1\"\nscan.png", width: 24, height: 16,
            polygons: [
                Polygon(id: "polygon_1", exterior: square(0, 0, side: 9), holes: [diamond(4, 4)]),
                Polygon(id: "polygon_2", className: "cell", exterior: ring([(12, 3), (20, 2), (23, 15), (14, 12)])),
                Polygon(
                    id: "polygon_3", exterior: square(15, 0, side: 9).map { Point2D(x: $0.x, y: $0.y + 7) },
                    holes: [diamond(17, 9), diamond(20, 12), square(18, 9, side: 1)]),
            ])
        let b = ExportImage(
            name: "細胞 ünïcødé ../../etc/passwd\u{0}.tif", width: 10, height: 10,
            polygons: [
                Polygon(id: "p", className: "débris, \"big\"", exterior: ring([(0, 0), (9, 0), (9, 9), (0, 9)])),
                Polygon(id: "point", exterior: ring([(4, 4)])),
                Polygon(id: "line", exterior: ring([(1, 1), (5, 5)])),
                Polygon(id: "flat", exterior: ring([(1, 8), (3, 8), (6, 8)])),
                Polygon(id: "empty", exterior: []),
            ])
        let c = ExportImage(name: "", width: 5, height: 3, polygons: [])
        return [a, b, c]
    }

    /// Decodes COCO uncompressed RLE: alternating background/foreground run lengths, column-major, background first.
    static func decodeRLE(counts: [Int], width: Int, height: Int) throws -> [UInt8] {
        guard counts.reduce(0, +) == width * height, counts.allSatisfy({ $0 >= 0 }) else {
            throw FixtureError(description: "counts do not cover \(width)×\(height)")
        }
        var rowMajor = [UInt8](repeating: 0, count: width * height)
        var k = 0
        for (i, n) in counts.enumerated() {
            for _ in 0..<n {
                if i % 2 == 1 {
                    let x = k / height
                    let y = k % height
                    rowMajor[y * width + x] = 1
                }
                k += 1
            }
        }
        return rowMajor
    }

    /// A strict RFC 4180 reader: CRLF record ends, quoted fields with doubled quotes, no stray quotes.
    static func readCSV(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var chars = Array(text.unicodeScalars)[...]
        var quoted = false
        var fieldStarted = false
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" {
                        chars.removeFirst()
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        guard chars.first == "," || chars.first == "\r" || chars.first == nil else {
                            throw FixtureError(description: "text after a closing quote")
                        }
                    }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                guard !fieldStarted, field.isEmpty else { throw FixtureError(description: "quote inside an unquoted field") }
                quoted = true
                fieldStarted = true
            case ",":
                row.append(field)
                field = ""
                fieldStarted = false
            case "\r":
                guard chars.popFirst() == "\n" else { throw FixtureError(description: "CR without LF") }
                row.append(field)
                rows.append(row)
                row = []
                field = ""
                fieldStarted = false
            case "\n":
                throw FixtureError(description: "bare LF outside quotes")
            default:
                field.unicodeScalars.append(c)
                fieldStarted = true
            }
        }
        guard !quoted else { throw FixtureError(description: "unterminated quoted field") }
        guard row.isEmpty, field.isEmpty, !fieldStarted else { throw FixtureError(description: "last record without CRLF") }
        return rows
    }
}

@Suite struct ExportSupportTests {
    @Test func rleDecoderMatchesPycocotools() throws {
        // setup: masks and their column-major counts, checked by pycocotools when the fixture was written
        let root = try #require(try ExportTestSupport.fixture("coco_rle.json") as? [String: Any])
        let cases = try #require(root["cases"] as? [[String: Any]])
        #expect(cases.count >= 20)
        for c in cases {
            let width = try #require(c["width"] as? Int)
            let height = try #require(c["height"] as? Int)
            let mask = ExportTestSupport.expandRuns(try #require(c["mask"] as? [Int])).map(UInt8.init)
            let counts = try #require(c["counts"] as? [Int])
            // MUT + validate
            #expect(try ExportTestSupport.decodeRLE(counts: counts, width: width, height: height) == mask)
        }
    }

    @Test func csvReaderReadsWhatPythonWrote() throws {
        let root = try #require(try ExportTestSupport.fixture("csv_quoting.json") as? [String: Any])
        let names = try #require(root["names"] as? [String])
        let text = try #require(root["csv"] as? String)
        let rows = try ExportTestSupport.readCSV(text)
        #expect(rows == names.map { [$0, "x"] })
    }

    /// Every format of the sample images is produced; with `SEGHUB_EXPORT_DUMP=<dir>` they are also written there for
    /// `scripts/fixtures/reference/export_check.py verify <dir>` (pycocotools, shapely, Python csv, Pillow).
    @Test func sampleExportsForExternalCheck() throws {
        let images = ExportTestSupport.sampleImages()
        var files: [(String, [UInt8])] = [("coco.json", try COCOExport.json(images))]
        files.append(("compressed.coco.json", try COCOExport.json(images, compressedRLE: true)))
        files.append(("metrics.csv", Array(try MetricsCSVExport.csv(images, scale: 0.65).utf8)))
        for (i, image) in images.enumerated() {
            files.append(("image\(i).geojson", try GeoJSONExport.featureCollection(image)))
            files.append(("image\(i).png", try LabelMaskExport.png(image)))
            files.append(("image\(i).spheroseg.json", try SpherosegExport.json(image)))
        }
        let dots = (0..<300).map { i in
            Polygon(id: "\(i)", exterior: ExportTestSupport.square(Double(i % 20) * 2, Double(i / 20) * 2, side: 1))
        }
        files.append(("many.png", try LabelMaskExport.png(ExportImage(name: "many", width: 40, height: 30, polygons: dots))))
        #expect(files.allSatisfy { !$0.1.isEmpty })
        guard let dir = ProcessInfo.processInfo.environment["SEGHUB_EXPORT_DUMP"] else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, bytes) in files {
            try Data(bytes).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
        }
    }

    @Test(arguments: ["a,\"b\"c\r\n", "a\n", "\"a\r\n", "a,b"])
    func csvReaderRejectsMalformedText(_ text: String) {
        #expect(throws: ExportTestSupport.FixtureError.self) { try ExportTestSupport.readCSV(text) }
    }
}
