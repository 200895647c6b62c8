import Foundation
import SegCore

/// Segments images with a model on an inference server: the image becomes the model's input tensor as the registry
/// describes, the server infers, and the output becomes polygons by the previous system's rules
/// (``ProbabilityPolygons``).
///
/// ``segment(_:options:)`` does it all. A server that must keep CPU work off its event loops runs the three stages
/// apart: ``request(for:)`` and ``polygons(from:for:options:)`` are synchronous CPU work (resizing and normalising
/// the image; resizing the output back, thresholding and tracing), ``infer(_:)`` only waits on the network.
///
/// ## Usage
/// ```swift
/// let segmenter = ModelSegmenter(model: unet, client: InferenceClient(server: unet.server, timeout: .seconds(60)))
/// let result = try await segmenter.segment(image, options: .init(threshold: 0.6))
/// ```
public struct ModelSegmenter: Sendable {
    /// The model's entry in the registry.
    public let model: ModelDescriptor
    /// The client of its server.
    public let client: InferenceClient

    /// A segmenter for `model`, reaching its server with `client` (by default one on the shared HTTP client).
    public init(model: ModelDescriptor, client: InferenceClient? = nil) {
        self.model = model
        self.client = client ?? InferenceClient(server: model.server)
    }

    /// What one image gave.
    public struct Result: Sendable, Equatable {
        /// The objects, measured, in OpenCV's order.
        public var polygons: [Polygon]
        /// Foreground at the image's size.
        public var mask: BinaryMask
        /// Objects dropped for being smaller than the minimum area.
        public var dropped: Int
    }

    /// One image as the model's input, and what is needed to bring the output back to the image.
    public struct Request: Sendable {
        /// The input tensor.
        public var tensor: InferenceTensor
        /// The image's width.
        public var imageWidth: Int
        /// The image's height.
        public var imageHeight: Int
        /// The tensor's spatial size.
        var size: (width: Int, height: Int)
        /// Columns and rows added at the right and bottom (`size: image` with `multipleOf`).
        var padding: (width: Int, height: Int)
    }

    /// Segments `image`: ``request(for:)``, ``infer(_:)`` and ``polygons(from:for:options:)`` in turn.
    /// - Parameter options: Threshold, minimum area and holes; `nil` takes the model's defaults from the registry.
    /// - Throws: `InferenceError` (`.unavailable` when another attempt may work; `.invalidResponse` when the output
    ///   does not match the registry).
    public func segment(_ image: AnyGrayImage, options: ProbabilityPolygons.Options? = nil) async throws(InferenceError) -> Result {
        let request = request(for: image)
        return polygons(from: try await infer(request), for: request, options: options)
    }

    /// The model's input tensor for `image` (CPU work; no server).
    public func request(for image: AnyGrayImage) -> Request {
        ModelInput.prepare(image, for: model.input)
    }

    /// Runs the model on `request`'s tensor and reads its output as a probability map on the image's grid (padding
    /// removed; not yet resized to the image).
    /// - Throws: `InferenceError`.
    public func infer(_ request: Request) async throws(InferenceError) -> ProbabilityMap {
        let outputs = try await client.infer(
            model: model.model, version: model.version, inputs: [request.tensor], outputs: [model.output.name], binary: model.binary)
        guard let output = outputs[model.output.name] else { throw .invalidResponse("no output \"\(model.output.name)\"") }
        let map = try ModelOutput.probabilities(output, model: model, expected: request.size)
        return request.padding == (0, 0) ? map : map.cropped(width: request.imageWidth, height: request.imageHeight)
    }

    /// The objects of `map` (from ``infer(_:)``) at the image's size (CPU work; no server).
    /// - Parameter options: `nil` takes the model's defaults from the registry.
    public func polygons(from map: ProbabilityMap, for request: Request, options: ProbabilityPolygons.Options? = nil) -> Result {
        let outcome = ProbabilityPolygons.extract(
            map, width: request.imageWidth, height: request.imageHeight, options: options ?? defaultOptions)
        return Result(polygons: outcome.polygons, mask: outcome.mask, dropped: outcome.dropped)
    }

    /// The registry's threshold, minimum area and holes.
    public var defaultOptions: ProbabilityPolygons.Options {
        ProbabilityPolygons.Options(threshold: model.threshold, minArea: model.minArea, holes: model.holes)
    }
}

/// An image turned into a model's input tensor.
enum ModelInput {
    static func prepare(_ image: AnyGrayImage, for input: ModelDescriptor.Input) -> ModelSegmenter.Request {
        let map: ProbabilityMap
        var padding = (width: 0, height: 0)
        switch input.size {
        case .fixed(let width, let height):
            map = ProbabilityMap(normalizing: image, resizedTo: width, height: height)
        case .image:
            let multiple = max(1, input.multipleOf)
            let width = (image.width + multiple - 1) / multiple * multiple
            let height = (image.height + multiple - 1) / multiple * multiple
            padding = (width - image.width, height - image.height)
            map = ProbabilityMap(normalizing: image).padded(toWidth: width, height: height)
        }
        let channels = input.channels.count
        let plane = map.width * map.height
        var values = [Float](repeating: 0, count: plane * channels)
        map.values.withUnsafeBufferPointer { src in
            values.withUnsafeMutableBufferPointer { out in
                for c in 0..<channels {
                    let mean = Float(input.mean.count == 1 ? input.mean[0] : input.mean[c])
                    let inverseStd = Float(1 / (input.std.count == 1 ? input.std[0] : input.std[c]))
                    switch input.layout {
                    case .nchw:
                        let base = c * plane
                        for i in 0..<plane { out[base + i] = (src[i] - mean) * inverseStd }
                    case .nhwc:
                        for i in 0..<plane { out[i * channels + c] = (src[i] - mean) * inverseStd }
                    }
                }
            }
        }
        let shape = input.layout == .nchw ? [1, channels, map.height, map.width] : [1, map.height, map.width, channels]
        return ModelSegmenter.Request(
            tensor: InferenceTensor(name: input.name, shape: shape, values: values), imageWidth: image.width, imageHeight: image.height,
            size: (map.width, map.height), padding: padding)
    }
}

/// A model's output tensor turned into a probability map.
enum ModelOutput {
    static func probabilities(
        _ tensor: InferenceTensor, model: ModelDescriptor, expected: (width: Int, height: Int)
    ) throws(InferenceError) -> ProbabilityMap {
        let (width, height, channels, channelAxisFirst) = try geometry(of: tensor, layout: model.input.layout, name: model.output.name)
        if case .image = model.input.size, (width, height) != (expected.width, expected.height) {
            throw .invalidResponse(
                "output \"\(tensor.name)\" is \(width)×\(height), the input was \(expected.width)×\(expected.height)")
        }
        let plane = width * height
        var values = [Float](repeating: 0, count: plane)
        switch model.output.kind {
        case .probability, .logits:
            guard channels == 1 else {
                throw .invalidResponse("output \"\(tensor.name)\" has \(channels) channels; \(model.output.kind.rawValue) needs one")
            }
            let sigmoid = model.output.kind == .logits
            tensor.values.withUnsafeBufferPointer { src in
                for i in 0..<plane { values[i] = sigmoid ? 1 / (1 + exp(-src[i])) : src[i] }
            }
        case .classes:
            let foreground = model.output.foregroundClass ?? 1
            guard foreground < channels else {
                throw .invalidResponse("output \"\(tensor.name)\" has \(channels) classes; class \(foreground) is not one of them")
            }
            tensor.values.withUnsafeBufferPointer { src in
                for i in 0..<plane {
                    var best = 0
                    var bestScore = -Float.infinity
                    for c in 0..<channels {
                        let score = channelAxisFirst ? src[c * plane + i] : src[i * channels + c]
                        if score > bestScore {
                            bestScore = score
                            best = c
                        }
                    }
                    values[i] = best == foreground ? 1 : 0
                }
            }
        }
        do {
            return try ProbabilityMap(width: width, height: height, values: values)
        } catch {
            throw .invalidResponse("output \"\(tensor.name)\": \(error)")
        }
    }

    /// Width, height and channel count of an output: `[1, C, H, W]` / `[1, H, W, C]` as the input's layout, or
    /// `[1, H, W]`, `[H, W]` for one channel.
    static func geometry(
        of tensor: InferenceTensor, layout: ModelDescriptor.Layout, name: String
    ) throws(InferenceError) -> (width: Int, height: Int, channels: Int, channelAxisFirst: Bool) {
        let shape = tensor.shape
        let result: (Int, Int, Int, Bool)
        switch shape.count {
        case 4 where shape[0] == 1:
            result = layout == .nchw ? (shape[3], shape[2], shape[1], true) : (shape[2], shape[1], shape[3], false)
        case 3 where shape[0] == 1: result = (shape[2], shape[1], 1, true)
        case 2: result = (shape[1], shape[0], 1, true)
        default: throw .invalidResponse("output \"\(name)\" has the shape \(shape); SegHub reads [1, C, H, W], [1, H, W, C], [1, H, W] or [H, W]")
        }
        guard result.0 > 0, result.1 > 0, result.2 > 0, result.0 * result.1 * result.2 == tensor.values.count else {
            throw .invalidResponse("output \"\(name)\" has the shape \(shape) and \(tensor.values.count) values")
        }
        return result
    }
}
