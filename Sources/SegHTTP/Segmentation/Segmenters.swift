import Foundation
import Logging
import NIOCore
import NIOPosix
import SegCore
import SegInference
import Synchronization

/// The segmenters this server offers: the built-in one, always, and every model of the registry
/// (`SEG_MODELS_FILE`), each behind its inference server.
///
/// Workers run a job's ``SegmentationBackend``, chosen by the name in its payload, through ``segment(_:payload:on:)``,
/// with every CPU stage (decoding, segmenting, a model's pre- and post-processing, encoding the result) on the workers'
/// own `NIOThreadPool`, never on the cooperative pool that serves requests nor on the shared one that hashes
/// passwords. The API lists the segmenters with their live readiness (``descriptions()``, cached for a few seconds so
/// a busy page does not flood the model servers).
final class Segmenters: Sendable {
    /// Every segmenter by the name jobs give: `builtin` and each model.
    let backends: [String: any SegmentationBackend]
    /// The models by name.
    let models: [String: ModelSegmenter]
    /// The registry's order, for listings.
    let order: [String]
    let metrics: AppMetrics
    private let readiness = Mutex<[String: (ready: Bool, detail: String?, at: ContinuousClock.Instant)]>([:])
    /// How long a readiness answer is reused.
    static let readinessLifetime: Duration = .seconds(5)

    init(registry: ModelRegistry, timeout: TimeAmount, metrics: AppMetrics, budget: DecodeBudget) {
        var models: [String: ModelSegmenter] = [:]
        for descriptor in registry.models {
            models[descriptor.name] = ModelSegmenter(model: descriptor, client: InferenceClient(server: descriptor.server, timeout: timeout))
        }
        self.models = models
        self.order = registry.models.map(\.name)
        self.metrics = metrics
        var backends: [String: any SegmentationBackend] = [SegmentationPayload.builtinName: BuiltinBackend(budget: budget)]
        for (name, segmenter) in models { backends[name] = ModelBackend(segmenter: segmenter, metrics: metrics, budget: budget) }
        self.backends = backends
    }

    /// Whether `name` is a segmenter here.
    func knows(_ name: String) -> Bool {
        backends[name] != nil
    }

    // MARK: Running

    /// What a segmenter made of one image, encoded as it is stored.
    struct Outcome: Sendable {
        /// The polygons as JSON.
        var polygons: [UInt8]
        /// How many there are.
        var count: Int
        /// The parameters as stored with the segmentation (what the segmenter chose included).
        var storedParameters: [UInt8]

        init(_ polygons: [Polygon], parameters: some Encodable) throws {
            self.polygons = Array(try Segmenters.encoder.encode(polygons))
            count = polygons.count
            storedParameters = Array(try Segmenters.encoder.encode(parameters))
        }
    }

    /// Why a job cannot succeed however often it is tried (an undecodable image, a model's malformed answer).
    struct Permanent: Error, CustomStringConvertible {
        var description: String
    }

    /// Segments the image `bytes` with the backend `payload` names, its CPU stages on `threads`.
    /// - Throws: `Permanent` for what another attempt cannot fix; anything else (an unreachable model server) is
    ///   worth retrying.
    func segment(_ bytes: [UInt8], payload: SegmentationPayload, on threads: NIOThreadPool) async throws -> Outcome {
        guard let backend = backends[payload.segmenter] else {
            throw Permanent(description: "the segmenter \"\(payload.segmenter)\" is not configured on this server")
        }
        return try await backend.segment(bytes, parameters: payload.parameters, on: threads)
    }

    /// Runs blocking work on `threads`; an image SegCore cannot read is a `Permanent` failure.
    static func offloaded<T: Sendable>(on threads: NIOThreadPool, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await threads.runIfActive(work)
        } catch let error as SegCoreError {
            throw Permanent(description: error.description)
        }
    }

    /// Runs `body` within `bytes` of the decode budget; an image that needs more than the whole budget fails for good.
    static func reserving<T: Sendable>(_ bytes: Int, from budget: DecodeBudget, _ body: () async throws -> T) async throws -> T {
        do {
            return try await budget.withReservation(bytes, body)
        } catch let error as DecodeBudget.Exceeded {
            throw Permanent(description: error.description)
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }()

    // MARK: Listing

    /// One segmenter as `GET /api/v1/segmenters` and `/api/health` show it.
    struct Description: Encodable, Sendable {
        var name: String
        var kind: String
        var description: String
        /// The parameters a request may set.
        var parameters: [String]
        /// `true` for the built-in segmenter; the model server's answer for a model.
        var ready: Bool
        /// Why a model is not ready.
        var detail: String?
        var model: String?
        var version: String?
    }

    /// Every segmenter, the built-in one first; models with their readiness (asked of their servers at most every few
    /// seconds, all at once).
    func descriptions() async -> [Description] {
        let builtin = Description(
            name: SegmentationPayload.builtinName, kind: "builtin",
            description: "SegHub's classical segmenter: background flattening, automatic threshold, declumping; needs no model server",
            parameters: SegmenterParameters.jsonKeys.sorted(), ready: true, detail: nil, model: nil, version: nil)
        let states = await readinessOfModels()
        let listed = order.compactMap { name -> Description? in
            guard let segmenter = self.models[name] else { return nil }
            let state = states[name]
            return Description(
                name: name, kind: "model", description: segmenter.model.description, parameters: ModelParameters.keys.sorted(),
                ready: state?.ready ?? false, detail: state?.detail, model: segmenter.model.model, version: segmenter.model.version)
        }
        return [builtin] + listed
    }

    /// Each model's readiness, from the cache or asked again.
    func readinessOfModels() async -> [String: (ready: Bool, detail: String?)] {
        let now = ContinuousClock.now
        let cached = readiness.withLock { $0 }
        let stale = order.filter { name in cached[name].map { now - $0.at >= Self.readinessLifetime } ?? true }
        if !stale.isEmpty {
            let fresh = await withTaskGroup(of: (String, Bool, String?).self) { group in
                for name in stale {
                    guard let segmenter = models[name] else { continue }
                    group.addTask {
                        let client = InferenceClient(server: segmenter.model.server, timeout: .seconds(3))
                        do throws(InferenceError) {
                            let ready = try await client.isModelReady(segmenter.model.model, version: segmenter.model.version)
                            return (name, ready, ready ? nil : "the server does not have the model ready")
                        } catch {
                            return (name, false, error.description)
                        }
                    }
                }
                var answers: [(String, Bool, String?)] = []
                for await answer in group { answers.append(answer) }
                return answers
            }
            readiness.withLock { cache in
                for (name, ready, detail) in fresh { cache[name] = (ready, detail, ContinuousClock.now) }
            }
        }
        return readiness.withLock { cache in cache.mapValues { ($0.ready, $0.detail) } }
    }
}
