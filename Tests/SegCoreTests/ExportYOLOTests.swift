import Foundation
import Testing

@testable import SegCore

@Suite struct ExportYOLOTests {
    typealias Support = ExportTestSupport

    /// Hand-computed lines: coordinates over width 200 and height 100, six decimals, clamped to [0, 1].
    @Test func handComputedLines() throws {
        let image = ExportImage(
            name: "a", width: 200, height: 100,
            polygons: [
                Polygon(id: "1", className: "cell", exterior: Support.ring([(0, 0), (100, 0), (100, 50)])),
                Polygon(id: "2", exterior: Support.ring([(-5, 20), (250, 33.3333333), (199, 150)])),
                Polygon(id: "3", className: "cell", exterior: Support.ring([(1, 1), (2, 2)])),
            ])
        let out = try YOLOExport.labels([image])
        #expect(out.classes == ["cell", "spheroid"])
        #expect(
            out.files == [
                "0 0.000000 0.000000 0.500000 0.000000 0.500000 0.500000\n"
                    + "1 0.000000 0.200000 1.000000 0.333333 0.995000 1.000000\n"
            ])
    }

    /// Lines read back (split on spaces, scaled by the image size) give the exterior vertices; holes are not written.
    @Test func linesReadBackToExteriors() throws {
        let images = Support.sampleImages()
        let out = try YOLOExport.labels(images, classes: ["spheroid", "cell", "débris, \"big\""])
        #expect(out.files.count == images.count)
        #expect(out.files[2] == "")
        for (image, text) in zip(images, out.files) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.last == "")
            let written = image.polygons.filter { ["polygon_1", "polygon_2", "polygon_3", "p"].contains($0.id) }
            try #require(lines.count - 1 == written.count)
            for (line, polygon) in zip(lines, written) {
                let fields = line.split(separator: " ").map(String.init)
                #expect(Int(fields[0]) == ["spheroid", "cell", "débris, \"big\""].firstIndex(of: polygon.className))
                let numbers = fields.dropFirst().compactMap(Double.init)
                #expect(numbers.count == 2 * polygon.exterior.count)
                for (i, p) in polygon.exterior.enumerated() {
                    #expect(abs(numbers[2 * i] * Double(image.width) - p.x) < 1e-4)
                    #expect(abs(numbers[2 * i + 1] * Double(image.height) - p.y) < 1e-4)
                }
            }
        }
    }

    static let decimals: [(Double, String)] = [
        (0.0, "0.000000"), (1.0 / 3, "0.333333"), (2.0 / 3, "0.666667"), (0.9999996, "1.000000"), (1e-7, "0.000000"),
        (0.1234564, "0.123456"), (0.1234566, "0.123457"), (-3, "0.000000"), (7, "1.000000"),
    ]

    @Test(arguments: decimals)
    func sixDecimals(value: Double, text: String) {
        #expect(YOLOExport.fixed6(value) == text)
    }

    @Test func unknownClassAndZeroSizedImagesThrow() {
        let image = ExportImage(name: "a", width: 0, height: 0, polygons: [Polygon(id: "1", exterior: Support.square(0, 0, side: 3))])
        #expect(throws: SegCoreError.self) { try YOLOExport.labels([image]) }
        #expect(throws: SegCoreError.self) { try YOLOExport.labels(Support.sampleImages(), classes: ["cell"]) }
        #expect((try? YOLOExport.labels([]))?.files == [])
    }
}
