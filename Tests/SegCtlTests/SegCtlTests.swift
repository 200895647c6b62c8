import Foundation
import Testing

@Suite struct SegCtlTests {
    // Expected contours below follow OpenCV's documented behaviour (DESIGN.md section 2): an outer
    // contour starts at the component's first pixel in raster order and runs counter-clockwise on
    // screen; a 1-px hole is a diamond starting at the pixel left of it, running clockwise.
    @Test func traceSquareWithOnePixelHole() throws {
        // setup
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mask = dir.appendingPathComponent("mask.png")
        try SegCtlRunner.writeMask(["......", ".#####", ".##.##", ".#####", "......"], to: mask)

        // MUT
        let out = try SegCtlRunner.run(["trace", mask.path])

        // validate
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        #expect(json["width"] as? Int == 6)
        #expect(json["height"] as? Int == 5)
        let contours = try #require(json["contours"] as? [[String: Any]])
        #expect(contours.count == 2)
        #expect((contours[0]["points"] as? [[Int]]) == [[1, 1], [1, 3], [5, 3], [5, 1]])
        #expect(contours[0]["hole"] as? Bool == false)
        #expect(contours[0]["parent"] is NSNull)
        #expect((contours[1]["points"] as? [[Int]]) == [[2, 2], [3, 1], [4, 2], [3, 3]])
        #expect(contours[1]["hole"] as? Bool == true)
        #expect(contours[1]["parent"] as? Int == 0)
    }

    @Test func traceApproxNoneListsEveryBoundaryPixel() throws {
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mask = dir.appendingPathComponent("line.png")
        // A 1-px line of 4 pixels is an out-and-back path of 2·(4−1) = 6 vertices.
        try SegCtlRunner.writeMask(["....", "####"], to: mask)
        let out = try SegCtlRunner.run(["trace", mask.path, "--approx", "none"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        let contours = try #require(json["contours"] as? [[String: Any]])
        #expect((contours.first?["points"] as? [[Int]]) == [[0, 1], [1, 1], [2, 1], [3, 1], [2, 1], [1, 1]])
    }

    @Test func measureLabelMaskGivesOneObjectPerValue() throws {
        // setup: two touching 3×3 squares with labels 1 and 2 (each has area (3−1)² = 4)
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var pixels = [UInt8](repeating: 0, count: 8 * 5)
        for y in 1...3 {
            for x in 1...3 { pixels[y * 8 + x] = 1 }
            for x in 4...6 { pixels[y * 8 + x] = 2 }
        }
        let url = dir.appendingPathComponent("labels.png")
        try Data(PNGEncoderBridge.encodeGray(pixels, width: 8, height: 5)).write(to: url)

        // MUT
        let out = try SegCtlRunner.run(["measure", url.path])

        // validate
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        let polygons = try #require(json["polygons"] as? [[String: Any]])
        #expect(polygons.count == 2)
        #expect(polygons.map { $0["area"] as? Double } == [4, 4])
        #expect((polygons[1]["exterior"] as? [[Int]]) == [[4, 1], [4, 3], [6, 3], [6, 1]])
        let image = try #require(json["image"] as? [String: Any])
        #expect(image["name"] as? String == "labels.png")
        #expect(image["width"] as? Int == 8)
    }

    @Test func badFileIsNamedAndOthersStillProcessed() throws {
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.png")
        try SegCtlRunner.writeMask(["....", ".##.", ".##.", "...."], to: good)
        let bad = dir.appendingPathComponent("bad.png")
        try Data("<html>not an image</html>".utf8).write(to: bad)
        let missing = dir.appendingPathComponent("missing.png")

        let out = try SegCtlRunner.run(["measure", good.path, bad.path, missing.path])

        #expect(out.status == 1)
        #expect(out.stderr.contains("bad.png: unsupported image format"))
        #expect(out.stderr.contains("missing.png: no such file"))
        let lines = out.stdoutText.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.contains("\"good.png\"") == true)
    }

    @Test(arguments: [
        ["trace"],
        ["measure"],
        ["measure", "x.png", "--jobs", "0"],
        ["measure", "x.png", "--scale", "-1"],
        ["measure", "a.png", "b.png", "--format", "geojson"],
        ["bench", "resize", "x.png"],
        ["no-such-command"],
    ])
    func badUsageExits64(arguments: [String]) throws {
        let out = try SegCtlRunner.run(arguments)
        #expect(out.status == 64, "stderr: \(out.stderr)")
        #expect(!out.stderr.isEmpty)
    }

    @Test func benchPrintsItsJSONShape() throws {
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mask = dir.appendingPathComponent("m.png")
        try SegCtlRunner.writeMask(["#..#", ".##.", "#..#"], to: mask)
        let out = try SegCtlRunner.run(["bench", "trace", mask.path, "--repeat", "3"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        #expect(json["operation"] as? String == "trace")
        #expect(json["width"] as? Int == 4)
        #expect(json["height"] as? Int == 3)
        #expect(json["repeat"] as? Int == 3)
        #expect((json["medianSeconds"] as? Double).map { $0 >= 0 } == true)
        #expect(json["megapixelsPerSecond"] is Double)
    }
}
