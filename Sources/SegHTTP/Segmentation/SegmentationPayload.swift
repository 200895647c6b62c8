import Foundation
import SegCore

/// The payload of a `segment` job: which segmenter runs and with what, `{"segmenter": "unet", "parameters": {...}}`.
///
/// `parameters` are the built-in segmenter's (`SegmenterParameters`, every one spelled out) or a model's
/// (``ModelParameters``). A payload without `segmenter` (queued before segmenters could be chosen) is the built-in one.
struct SegmentationPayload: Codable, Sendable, Equatable {
    /// `builtin` or a model's name in the registry.
    var segmenter: String
    /// What the segmenter runs with.
    var parameters: Parameters

    enum Parameters: Sendable, Equatable {
        case builtin(SegmenterParameters)
        case model(ModelParameters)
    }

    static let builtinName = "builtin"

    init(builtin parameters: SegmenterParameters) {
        segmenter = Self.builtinName
        self.parameters = .builtin(parameters)
    }

    init(model name: String, parameters: ModelParameters) {
        segmenter = name
        self.parameters = .model(parameters)
    }

    private enum Keys: String, CodingKey {
        case segmenter, parameters
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        segmenter = try c.decodeIfPresent(String.self, forKey: .segmenter) ?? Self.builtinName
        if segmenter == Self.builtinName {
            parameters = .builtin(try c.decode(SegmenterParameters.self, forKey: .parameters))
        } else {
            parameters = .model(try c.decodeIfPresent(ModelParameters.self, forKey: .parameters) ?? ModelParameters())
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(segmenter, forKey: .segmenter)
        switch parameters {
        case .builtin(let parameters): try c.encode(parameters, forKey: .parameters)
        case .model(let parameters): try c.encode(parameters, forKey: .parameters)
        }
    }
}

/// What a request may set for a model: the registry's defaults apply to what it leaves out.
struct ModelParameters: Codable, Sendable, Equatable {
    /// Foreground above this probability, 0.05…0.95.
    var threshold: Double?
    /// Objects below this many px² are dropped.
    var minArea: Double?
    /// Whether objects keep their holes.
    var holes: Bool?
    /// µm per pixel for the metrics.
    var scale: Double?
    /// The plane of a multi-page or hyperstack image.
    var selection: ImageSelection?

    /// The request's values over the model's defaults.
    func options(over defaults: ProbabilityPolygons.Options) -> ProbabilityPolygons.Options {
        var options = defaults
        if let threshold { options.threshold = threshold }
        if let minArea { options.minArea = minArea }
        if let holes { options.holes = holes }
        if let scale { options.scale = scale }
        return options
    }

    /// The problems of values a request set, as field errors (`parameters.threshold`, …).
    func problems() -> [(field: String, detail: String)] {
        var found: [(String, String)] = []
        if let threshold, !(0.05...0.95).contains(threshold) { found.append(("parameters.threshold", "must be between 0.05 and 0.95")) }
        if let minArea, !(minArea.isFinite && minArea >= 0 && minArea <= 1e9) {
            found.append(("parameters.minArea", "must be between 0 and 1e9"))
        }
        if let scale, !(scale.isFinite && scale > 0) { found.append(("parameters.scale", "must be a positive number of µm per pixel")) }
        if let selection {
            do {
                try selection.validate()
            } catch {
                found.append(("parameters.selection", "\(error)"))
            }
        }
        return found
    }

    static let keys: Set<String> = ["threshold", "minArea", "holes", "scale", "selection"]
}
