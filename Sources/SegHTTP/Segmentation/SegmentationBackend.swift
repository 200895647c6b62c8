import NIOPosix
import SegCore
import SegInference

/// One way of turning an image into polygons, chosen by name for each job (the payload's `segmenter`): the built-in
/// segmenter, or a model of the registry behind its inference server. ``Segmenters`` holds one per name.
///
/// A backend runs its CPU stages on the thread pool it is given and only waits elsewhere (a model's inference request),
/// so that a worker's thread goes on with another job meanwhile. SegCore stays synchronous and pure; this is where it
/// meets the network.
protocol SegmentationBackend: Sendable {
    /// Segments the image `bytes` with `parameters`, its CPU stages on `threads`.
    /// - Throws: `Segmenters.Permanent` for what another attempt cannot fix (an undecodable image, a model's answer
    ///   that does not fit its registry entry, parameters of another kind of segmenter); anything else (an
    ///   unreachable or slow model server) is worth retrying.
    func segment(_ bytes: [UInt8], parameters: SegmentationPayload.Parameters, on threads: NIOThreadPool) async throws -> Segmenters.Outcome
}

/// SegHub's classical segmenter (`BuiltinSegmenter`): decoding, segmenting and encoding in one hop to the threads.
/// The decode and the segmenter's buffers are reserved from the ``DecodeBudget`` first.
struct BuiltinBackend: SegmentationBackend {
    let budget: DecodeBudget

    func segment(_ bytes: [UInt8], parameters: SegmentationPayload.Parameters, on threads: NIOThreadPool) async throws -> Segmenters.Outcome {
        guard case .builtin(let parameters) = parameters else {
            throw Segmenters.Permanent(description: "the built-in segmenter was given a model's parameters")
        }
        let peak = try await Segmenters.offloaded(on: threads) { try ImageDecoder.peakDecodeBytes(of: bytes, selection: parameters.selection) }
        return try await Segmenters.reserving(peak, from: budget) {
            try await Segmenters.offloaded(on: threads) {
                let image = try ImageDecoder.decode(bytes, selection: parameters.selection)
                let result = try BuiltinSegmenter(parameters: parameters).segment(image)
                return try Segmenters.Outcome(result.polygons, parameters: ParametersWithOutcome(result))
            }
        }
    }
}

/// A model of the registry: decoding and the input tensor on the threads, the inference request on its server (counted
/// in `seghub_inference_*`), the output's polygons on the threads again.
/// The decode is reserved from the ``DecodeBudget`` until the (small) input tensor is made.
struct ModelBackend: SegmentationBackend {
    let segmenter: ModelSegmenter
    let metrics: AppMetrics
    let budget: DecodeBudget

    private var name: String { segmenter.model.name }

    func segment(_ bytes: [UInt8], parameters: SegmentationPayload.Parameters, on threads: NIOThreadPool) async throws -> Segmenters.Outcome {
        guard case .model(let parameters) = parameters else {
            throw Segmenters.Permanent(description: "the model \(name) was given the built-in segmenter's parameters")
        }
        let segmenter = segmenter
        let selection = parameters.selection ?? .first
        let peak = try await Segmenters.offloaded(on: threads) { try ImageDecoder.peakDecodeBytes(of: bytes, selection: selection) }
        let request = try await Segmenters.reserving(peak, from: budget) {
            try await Segmenters.offloaded(on: threads) { segmenter.request(for: try ImageDecoder.decode(bytes, selection: selection)) }
        }
        let started = ContinuousClock.now
        let map: ProbabilityMap
        do {
            map = try await segmenter.infer(request)
        } catch {
            metrics.recordInference(model: name, result: error.isTransient ? "unavailable" : "error", duration: ContinuousClock.now - started)
            if error.isTransient { throw error }
            throw Segmenters.Permanent(description: "the model \(name) could not be used: \(error)")
        }
        metrics.recordInference(model: name, result: "ok", duration: ContinuousClock.now - started)
        let options = parameters.options(over: segmenter.defaultOptions)
        return try await Segmenters.offloaded(on: threads) {
            let result = segmenter.polygons(from: map, for: request, options: options)
            let stored = StoredModelParameters(
                threshold: options.threshold, minArea: options.minArea, holes: options.holes, scale: options.scale,
                selection: parameters.selection, model: segmenter.model.model, version: segmenter.model.version,
                outcome: .init(objects: result.polygons.count, dropped: result.dropped))
            return try Segmenters.Outcome(result.polygons, parameters: stored)
        }
    }

    /// A model's parameters as stored with its segmentation: what it ran with, on which model, and what came out.
    struct StoredModelParameters: Encodable {
        var threshold: Double
        var minArea: Double
        var holes: Bool
        var scale: Double?
        var selection: ImageSelection?
        var model: String
        var version: String?
        var outcome: Outcome

        struct Outcome: Encodable {
            var objects: Int
            var dropped: Int
        }
    }
}
