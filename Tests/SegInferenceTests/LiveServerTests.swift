import Foundation
import NIOCore
import SegCore
import Testing

@testable import SegInference

/// Against a real inference server: KServe's ModelServer with onnxruntime serving `models/seghub-unet.onnx`
/// (`scripts/dev/inference.sh`, which `scripts/test.sh` starts and names in `SEG_TEST_INFERENCE_URL`). Without the
/// variable these tests fail; they never skip.
@Suite(.timeLimit(.minutes(5))) struct LiveServerTests {
    static let model = "seghub-unet"

    static func server() throws -> URL {
        let text = ProcessInfo.processInfo.environment["SEG_TEST_INFERENCE_URL"] ?? ""
        return try #require(URL(string: text), "SEG_TEST_INFERENCE_URL is not set: scripts/test.sh starts the inference server")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    @Test func theServerAndTheModelAreReadyAndDescribed() async throws {
        let client = InferenceClient(server: try Self.server(), timeout: .seconds(30))
        #expect(try await client.isServerReady())
        #expect(try await client.isModelReady(Self.model))
        #expect(try await client.isModelReady("no-such-model") == false)
        let metadata = try await client.metadata(of: Self.model)
        #expect(metadata.name == Self.model)
        let input = try #require(metadata.inputs.first)
        #expect(input.name == "input" && input.datatype == "FP32" && input.shape.count == 4)
        #expect(metadata.outputs.map(\.name) == ["logits"])
        await #expect(throws: InferenceError.self) { try await client.metadata(of: "no-such-model") }
    }

    @Test func jsonAndBinaryTensorsGiveTheSameOutput() async throws {
        let client = InferenceClient(server: try Self.server(), timeout: .seconds(30))
        var generator = SystemRandomNumberGenerator()
        let values = (0..<(64 * 48)).map { _ in Float.random(in: -2...2, using: &generator) }
        let input = InferenceTensor(name: "input", shape: [1, 1, 48, 64], values: values)
        let binary = try await client.infer(model: Self.model, inputs: [input], outputs: ["logits"], binary: true)
        let json = try await client.infer(model: Self.model, inputs: [input], outputs: ["logits"], binary: false)
        let a = try #require(binary["logits"])
        let b = try #require(json["logits"])
        #expect(a.shape == [1, 1, 48, 64] && b.shape == a.shape)
        let largest = zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest <= 1e-4, "JSON and binary outputs differ by \(largest)")
    }

    @Test func whatTheServerRefusesIsNotRetried() async throws {
        let client = InferenceClient(server: try Self.server(), timeout: .seconds(30))
        let input = InferenceTensor(name: "input", shape: [1, 1, 16, 16], values: [Float](repeating: 0, count: 256))
        let unknown = await #expect(throws: InferenceError.self) {
            try await client.infer(model: "no-such-model", inputs: [input], outputs: ["logits"])
        }
        #expect(unknown?.isTransient == false)
    }

    @Test func aServerThatIsNotThereIsUnavailable() async throws {
        // Port 9 (discard) on loopback: nothing listens in the test environment.
        let client = InferenceClient(server: try #require(URL(string: "http://127.0.0.1:9")), timeout: .seconds(5))
        let error = await #expect(throws: InferenceError.self) { try await client.isServerReady() }
        #expect(error?.isTransient == true)
    }

    @Test func theBundledModelFindsTheSpheroidsOfSyntheticImages() async throws {
        let registry = try ModelRegistry(contentsOf: Self.repositoryRoot.appendingPathComponent("models/registry.json"))
        var descriptor = try #require(registry.models.first)
        descriptor.server = try Self.server()
        let segmenter = ModelSegmenter(model: descriptor, client: InferenceClient(server: descriptor.server, timeout: .seconds(60)))
        let fixtures = Self.repositoryRoot.appendingPathComponent("Tests/SegCoreTests/Fixtures/segment")
        for name in ["brightfield_0", "fluorescence_0"] {
            let image = try ImageDecoder.decode([UInt8](Data(contentsOf: fixtures.appendingPathComponent("\(name).png"))))
            let truth = BinaryMask(
                nonZeroOf: try ImageDecoder.decodeGray([UInt8](Data(contentsOf: fixtures.appendingPathComponent("\(name)_gt.png")))))
            let result = try await segmenter.segment(image)
            #expect(result.mask.width == image.width && result.mask.height == image.height)
            var both = 0
            var either = 0
            for (a, b) in zip(result.mask.pixels, truth.pixels) {
                if a != 0 && b != 0 { both += 1 }
                if a != 0 || b != 0 { either += 1 }
            }
            let iou = Double(both) / Double(max(either, 1))
            #expect(iou >= 0.8, "\(name): foreground IoU \(iou)")
            #expect(!result.polygons.isEmpty)
        }
    }
}
