import Foundation
import HTTPTypes
import HummingbirdTesting
import SegCore
import SegHTTP
import SegInference
import SegStorage
import SegTestSupport
import Testing

/// Segmenters chosen per request: the built-in one and registry models on a real inference server (KServe with
/// onnxruntime, `SEG_TEST_INFERENCE_URL`, started by scripts/test.sh), and a model whose server is down.
@Suite(.timeLimit(.minutes(5))) struct SegmentersTests {
    struct Listing: Decodable {
        struct Item: Decodable {
            var name: String
            var kind: String
            var ready: Bool
            var detail: String?
            var parameters: [String]
        }

        var items: [Item]
    }

    struct Segmentation: Decodable {
        var version: Int
        var polygons: [Polygon]
        var segmenter: String
        var parameters: [String: JSONScalar]
    }

    /// The values of a stored parameters object this test looks at.
    enum JSONScalar: Decodable, Equatable {
        case number(Double)
        case text(String)
        case flag(Bool)
        case other

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let v = try? c.decode(Bool.self) {
                self = .flag(v)
            } else if let v = try? c.decode(Double.self) {
                self = .number(v)
            } else if let v = try? c.decode(String.self) {
                self = .text(v)
            } else {
                self = .other
            }
        }
    }

    static func json(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func liveServer() throws -> String {
        let url = ProcessInfo.processInfo.environment["SEG_TEST_INFERENCE_URL"] ?? ""
        try #require(!url.isEmpty, "SEG_TEST_INFERENCE_URL is not set: scripts/test.sh starts the inference server")
        return url
    }

    /// A registry file with the bundled model as `unet` at `server` and the same model as `offline` on a port where
    /// nothing listens.
    static func registryFile(server: String) throws -> String {
        let bundled = try ModelRegistry(contentsOf: repositoryRoot.appendingPathComponent("models/registry.json"))
        var unet = try #require(bundled.models.first)
        unet.name = "unet"
        unet.server = try #require(URL(string: server))
        var offline = unet
        offline.name = "offline"
        offline.server = try #require(URL(string: "http://127.0.0.1:9"))
        struct File: Encodable { var models: [ModelDescriptor] }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("models-\(UUID().uuidString).json")
        try JSONEncoder().encode(File(models: [unet, offline])).write(to: path)
        return path.path
    }

    @Test func theListNamesEverySegmenterWithItsReadiness() async throws {
        let file = try Self.registryFile(server: try Self.liveServer())
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withTestApp(environment: ["SEG_MODELS_FILE": file]) { app in
            let user = try await app.register()
            let response = try await app.request(.get, "/api/v1/segmenters", as: user)
            #expect(response.status == .ok)
            let items = try response.decode(Listing.self).items
            #expect(items.map(\.name) == ["builtin", "unet", "offline"])
            #expect(items[0].kind == "builtin" && items[0].ready && items[0].parameters.contains("polarity"))
            #expect(items[1].kind == "model" && items[1].ready && items[1].parameters.contains("threshold"))
            #expect(items[2].kind == "model" && !items[2].ready && items[2].detail?.isEmpty == false)
            let anonymous = try await app.request(.get, "/api/v1/segmenters")
            #expect(anonymous.status == .unauthorized)

            // A model server that is down: reported and degraded, but still ready (the built-in segmenter works).
            let health = try await app.request(.get, "/api/health")
            #expect(health.status == .ok)
            let text = String(decoding: health.body.readableBytesView, as: UTF8.self)
            #expect(text.contains("\"degraded\"") && text.contains("model:offline") && text.contains("model:unet"))
        }
    }

    @Test func anUnknownSegmenterOrBadModelParametersAre400AndNothingIsQueued() async throws {
        let file = try Self.registryFile(server: "http://127.0.0.1:9")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withTestApp(environment: ["SEG_MODELS_FILE": file]) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 3))
            let cases: [(String, String)] = [
                (#"{"segmenter": "nope"}"#, "segmenter"),
                (#"{"segmenter": "unet", "parameters": {"threshold": 0.99}}"#, "parameters.threshold"),
                (#"{"segmenter": "unet", "parameters": {"sigma": 2}}"#, "parameters.sigma"),
                (#"{"segmenter": "unet", "parameters": {"holes": "yes"}}"#, "parameters.holes"),
                (#"{"segmenter": "builtin", "parameters": {"threshold": 0.5, "holes": true}}"#, "parameters.holes"),
            ]
            for (body, field) in cases {
                let response = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner, jsonText: body)
                #expect(response.status == .badRequest, "\(body)")
                let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                #expect(text.contains("\"\(field)\""), "\(body): \(text)")
            }
            #expect(try await app.jobs(of: image).isEmpty)
            #expect(try await app.status(of: image) == "new")
        }
    }

    @Test func aProjectsDefaultSegmenterIsUsedWhenARequestNamesNone() async throws {
        let file = try Self.registryFile(server: "http://127.0.0.1:9")
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withTestApp(environment: ["SEG_MODELS_FILE": file]) { app in
            struct ProjectBody: Decodable { var defaultSegmenter: String }
            struct Payload: Decodable {
                struct Parameters: Decodable { var threshold: Double? }
                var segmenter: String
                var parameters: Parameters
            }
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let first = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 5))
            #expect(try await app.request(.get, "/api/v1/projects/\(project)", as: owner).decode(ProjectBody.self).defaultSegmenter == "builtin")

            // MUT: set the default, queue without naming a segmenter
            let set = try await app.request(.patch, "/api/v1/projects/\(project)", as: owner, jsonText: #"{"defaultSegmenter": "unet"}"#)
            #expect(set.status == .ok)
            #expect(try set.decode(ProjectBody.self).defaultSegmenter == "unet")
            let queued = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner, jsonText: #"{"parameters": {"threshold": 0.7}}"#)
            #expect(queued.status == .accepted)

            // validate: the job runs the project's default with the model's parameters
            let job = try #require(try await app.jobs(of: first).first)
            let payload = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
            #expect(payload.segmenter == "unet" && payload.parameters.threshold == 0.7)

            // An unknown default is refused; null and "builtin" both reset it.
            let unknown = try await app.request(.patch, "/api/v1/projects/\(project)", as: owner, jsonText: #"{"defaultSegmenter": "nope"}"#)
            #expect(unknown.status == .badRequest)
            #expect(String(decoding: unknown.body.readableBytesView, as: UTF8.self).contains("UNKNOWN_SEGMENTER"))
            for reset in [#"{"defaultSegmenter": null}"#, #"{"defaultSegmenter": "builtin"}"#] {
                _ = try await app.request(.patch, "/api/v1/projects/\(project)", as: owner, jsonText: #"{"defaultSegmenter": "unet"}"#)
                let response = try await app.request(.patch, "/api/v1/projects/\(project)", as: owner, jsonText: reset)
                #expect(try response.decode(ProjectBody.self).defaultSegmenter == "builtin", "\(reset)")
            }
        }
    }

    @Test func aModelSegmentsThroughTheWorkersAsTheLibraryDoes() async throws {
        let server = try Self.liveServer()
        let file = try Self.registryFile(server: server)
        defer { try? FileManager.default.removeItem(atPath: file) }
        try await withTestApp(environment: ["SEG_MODELS_FILE": file, "SEG_WORKERS": "1"], role: .all) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let bytes = try SpheroidImage.png(seed: 21)
            let image = try await app.addImage(to: project, bytes: bytes)

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner,
                jsonText: try Self.json(["segmenter": "unet", "parameters": ["threshold": 0.4, "minArea": 20]]))
            #expect(response.status == .accepted)
            try await app.waitForStatus("segmented", of: image)

            // validate: what the worker stored is what SegInference gives for the same image and options
            let stored = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner).decode(Segmentation.self)
            #expect(stored.segmenter == "unet")
            #expect(stored.parameters["threshold"] == .number(0.4) && stored.parameters["minArea"] == .number(20))
            #expect(stored.parameters["model"] == .text("seghub-unet"))
            let registry = try ModelRegistry(contentsOf: URL(fileURLWithPath: file))
            let segmenter = ModelSegmenter(model: try #require(registry.model(named: "unet")))
            var options = segmenter.defaultOptions
            options.threshold = 0.4
            options.minArea = 20
            let expected = try await segmenter.segment(try ImageDecoder.decode(bytes), options: options)
            #expect(!expected.polygons.isEmpty)
            #expect(stored.polygons.map(\.exterior) == expected.polygons.map(\.exterior))
            #expect(stored.polygons.map(\.holes) == expected.polygons.map(\.holes))
        }
    }

    @Test func aModelServerThatStaysDownFailsTheJobWithTheReason() async throws {
        let file = try Self.registryFile(server: "http://127.0.0.1:9")
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fast = JobQueueConfiguration(retryBaseDelay: .milliseconds(50))
        // The HTTP client keeps retrying a refused connection until the request's deadline: a short one keeps the test short.
        let environment = ["SEG_MODELS_FILE": file, "SEG_WORKERS": "1", "SEG_INFERENCE_TIMEOUT": "2"]
        try await withTestApp(environment: environment, role: .all, jobQueue: fast) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 22))

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner,
                jsonText: try Self.json(["segmenter": "unet"]))
            #expect(response.status == .accepted)
            try await app.waitForStatus("failed", of: image)

            // validate: retried to the last attempt, then failed with a readable reason; nothing stored
            let jobs = try await app.jobs(of: image)
            #expect(jobs.map(\.state) == ["failed"])
            let reason = try #require(jobs.first?.lastError)
            #expect(reason.contains("cannot be reached") || reason.contains("did not answer"), "\(reason)")
            let segmentation = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner)
            #expect(segmentation.status == .notFound)
            // The image says why.
            struct ImageBody: Decodable {
                var status: String
                var error: String?
            }
            let body = try await app.request(.get, "/api/v1/images/\(image)", as: owner).decode(ImageBody.self)
            #expect(body.status == "failed" && body.error == reason)
        }
    }
}
