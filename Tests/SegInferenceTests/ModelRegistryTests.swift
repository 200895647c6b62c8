import Foundation
import SegInference
import Testing

@Suite struct ModelRegistryTests {
    static let valid = """
        {"models": [{
          "name": "unet", "description": "a U-Net", "server": "http://127.0.0.1:8085", "model": "seghub-unet", "version": "1",
          "input": {"name": "input", "datatype": "FP32", "layout": "NCHW", "channels": "gray",
                    "size": {"width": 256, "height": 192}, "mean": [0.5], "std": [0.25]},
          "output": {"name": "logits", "kind": "logits"},
          "threshold": 0.4, "minArea": 30, "holes": false
        }, {
          "name": "hrnet", "server": "https://gpu.example.org:8000", "model": "hrnet",
          "input": {"name": "pixel_values", "layout": "NHWC", "channels": "rgb", "size": "image", "multipleOf": 32,
                    "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
          "output": {"name": "scores", "kind": "classes", "class": 1},
          "binary": false
        }]}
        """

    @Test func aValidFileGivesEveryFieldAndTheDefaults() throws {
        let registry = try ModelRegistry(json: Data(Self.valid.utf8))
        #expect(registry.models.map(\.name) == ["unet", "hrnet"])
        let unet = try #require(registry.model(named: "unet"))
        #expect(unet.server.absoluteString == "http://127.0.0.1:8085")
        #expect(unet.version == "1")
        #expect(unet.input.size == .fixed(width: 256, height: 192))
        #expect(unet.input.mean == [0.5] && unet.input.std == [0.25])
        #expect(unet.output.kind == .logits)
        #expect(unet.threshold == 0.4 && unet.minArea == 30 && !unet.holes && unet.binary)
        let hrnet = try #require(registry.model(named: "hrnet"))
        #expect(hrnet.input.size == .image && hrnet.input.multipleOf == 32)
        #expect(hrnet.input.layout == .nhwc && hrnet.input.channels == .rgb)
        #expect(hrnet.output.kind == .classes && hrnet.output.foregroundClass == 1)
        // Defaults: threshold 0.5, minimum area 50, holes kept; version left to the server.
        #expect(hrnet.threshold == 0.5 && hrnet.minArea == 50 && hrnet.holes && hrnet.version == nil && !hrnet.binary)
        #expect(registry.model(named: "builtin") == nil)
    }

    @Test func everyProblemIsListedAtOnce() {
        let bad = """
            {"models": [
              {"name": "builtin", "server": "ftp://x", "model": "",
               "input": {"name": "input", "datatype": "UINT8", "size": {"width": 0, "height": 256}, "std": [0]},
               "output": {"name": "out", "kind": "classes"}, "threshold": 0.99},
              {"name": "twice", "server": "http://a:1", "model": "m", "input": {"name": "i", "size": "image"},
               "output": {"name": "o", "kind": "logits"}},
              {"name": "twice", "server": "http://a:1", "model": "m", "input": {"name": "i", "size": "image"},
               "output": {"name": "o", "kind": "logits"}},
              {"name": "broken", "server": "http://a:1", "model": "m", "input": {"name": "i", "size": "huge"},
               "output": {"name": "o", "kind": "logits"}},
              {"name": "noinput", "server": "http://a:1", "model": "m", "output": {"name": "o", "kind": "softmax"}}
            ]}
            """
        let error = #expect(throws: ModelRegistryError.self) { try ModelRegistry(json: Data(bad.utf8)) }
        let problems = error?.problems ?? []
        let expected = [
            "\"builtin\" is the built-in segmenter's name", "server \"ftp://x\"", "the remote model name is empty",
            "input.datatype \"UINT8\"", "input.size 0×256", "input.std values must be finite and non-zero",
            "output.class", "threshold 0.99", "the name is used twice", "models[3]", "models[4]",
        ]
        for fragment in expected {
            #expect(problems.contains { $0.contains(fragment) }, "missing a problem about \(fragment): \(problems)")
        }
        #expect(problems.count >= expected.count)
    }

    @Test func aFileThatIsNotARegistrySaysSo() {
        for text in ["", "[]", "{\"models\": 3}", "{\"model\": []}"] {
            let error = #expect(throws: ModelRegistryError.self) { try ModelRegistry(json: Data(text.utf8)) }
            #expect(error?.problems.isEmpty == false, "\(text)")
        }
    }

    @Test func aMissingFileIsNamedInTheError() {
        let path = "/nonexistent/models-\(UUID().uuidString).json"
        let error = #expect(throws: ModelRegistryError.self) { try ModelRegistry(contentsOf: URL(fileURLWithPath: path)) }
        #expect(error?.description.contains(path) == true)
    }

    @Test func theBundledRegistryIsValid() throws {
        // models/registry.json at the repository's root: the file scripts/run.sh and the tests use.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let registry = try ModelRegistry(contentsOf: root.appendingPathComponent("models/registry.json"))
        #expect(!registry.models.isEmpty)
    }
}
