import Foundation
import Testing

/// `segctl segment --model` against the reference inference server (`SEG_TEST_INFERENCE_URL`, which scripts/test.sh
/// starts; the tests fail without it).
@Suite struct SegmentModelCommandTests {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The bundled registry with its server replaced by the test server.
    static func registry(in dir: URL) throws -> URL {
        let server = ProcessInfo.processInfo.environment["SEG_TEST_INFERENCE_URL"] ?? ""
        try #require(!server.isEmpty, "SEG_TEST_INFERENCE_URL is not set: scripts/test.sh starts the inference server")
        let text = try String(contentsOf: root.appendingPathComponent("models/registry.json"), encoding: .utf8)
        let url = dir.appendingPathComponent("models.json")
        try text.replacingOccurrences(of: "http://127.0.0.1:8085", with: server).write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func aModelSegmentsImagesAndSaysWhichItWas() throws {
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = try Self.registry(in: dir)
        let image = Self.root.appendingPathComponent("Tests/SegCoreTests/Fixtures/segment/fluorescence_0.png")

        let out = try SegCtlRunner.run(["segment", "--models", registry.path, "--model", "unet", "--threshold", "0.6", image.path])

        #expect(out.status == 0, "stderr: \(out.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
        let segmenter = try #require(json["segmenter"] as? [String: Any])
        #expect(segmenter["name"] as? String == "unet" && segmenter["kind"] as? String == "model")
        #expect(segmenter["model"] as? String == "seghub-unet")
        #expect((segmenter["parameters"] as? [String: Any])?["threshold"] as? Double == 0.6)
        #expect(((json["polygons"] as? [Any])?.count ?? 0) > 0)
    }

    @Test func builtinOptionsAndUnknownModelsAreUsageErrors() throws {
        let dir = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let registry = try Self.registry(in: dir)
        let image = Self.root.appendingPathComponent("Tests/SegCoreTests/Fixtures/segment/fluorescence_0.png").path
        for (arguments, message) in [
            (["--model", "unet", "--sigma", "2"], "--sigma is an option of the built-in segmenter"),
            (["--model", "unet", "--threshold", "otsu"], "--threshold with --model is a probability"),
            (["--model", "nope"], "no model \"nope\""),
        ] {
            let out = try SegCtlRunner.run(["segment", "--models", registry.path] + arguments + [image])
            #expect(out.status == 64, "\(arguments): \(out.stderr)")
            #expect(out.stderr.contains(message), "\(arguments): \(out.stderr)")
        }
        let broken = dir.appendingPathComponent("broken.json")
        try Data(#"{"models": [{"name": "builtin"}]}"#.utf8).write(to: broken)
        let out = try SegCtlRunner.run(["segment", "--models", broken.path, "--model", "x", image])
        #expect(out.status == 64 && out.stderr.contains("broken.json"), "\(out.stderr)")
    }
}
