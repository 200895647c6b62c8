/// Anything that turns a gray image into a mask and polygons: the built-in classical pipeline
/// today, deep-learning inference servers later.
///
/// ## Usage
/// ```swift
/// let segmenter: any Segmenter = BuiltinSegmenter(parameters: .init(preset: .nuclei))
/// let result = try segmenter.segment(try ImageDecoder.decode(bytes))
/// print(result.polygons.count, result.threshold ?? .nan, result.objectsSplit)
/// ```
public protocol Segmenter: Sendable {
    /// Segments `image`, at the precision it was stored with, into foreground objects.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when the segmenter's parameters cannot be used.
    func segment(_ image: AnyGrayImage) throws(SegCoreError) -> SegmentationResult
}

extension Segmenter {
    /// Segments an 8-bit image.
    public func segment(_ image: GrayImage) throws(SegCoreError) -> SegmentationResult {
        try segment(.uint8(image))
    }
}

/// What a ``Segmenter`` found in one image.
public struct SegmentationResult: Sendable, Equatable {
    /// Foreground (255) and background (0), the same size as the input image.
    public var mask: BinaryMask
    /// The mask's objects as measured polygons with holes, in OpenCV's `findContours` order.
    public var polygons: [Polygon]
    /// The parameters the segmenter ran with.
    public var parameters: SegmenterParameters
    /// The polarity used: the requested one, or the one detected when `parameters.polarity` is `auto`.
    public var polarity: SegmenterParameters.Polarity
    /// The threshold applied to the smoothed, flattened image, in the image's own sample units
    /// (0–255 for 8-bit images, 0–65535 for 16-bit ones), or `nil` when the image held no objects
    /// to threshold (empty or uniform). Objects are at or below it (dark) or above it (bright).
    public var threshold: Double?
    /// How many objects the declumping step divided (0 when it is off).
    public var objectsSplit: Int

    /// Creates a result.
    public init(
        mask: BinaryMask, polygons: [Polygon], parameters: SegmenterParameters, polarity: SegmenterParameters.Polarity,
        threshold: Double?, objectsSplit: Int = 0
    ) {
        self.mask = mask
        self.polygons = polygons
        self.parameters = parameters
        self.polarity = polarity
        self.threshold = threshold
        self.objectsSplit = objectsSplit
    }
}

/// What the built-in segmenter chose for one image, as results report it (segctl's `segmenter.outcome`, the API's
/// `parameters.outcome`): `{"threshold": 36, "polarity": "bright", "preset": "nuclei", "objectsSplit": 21}`.
public struct SegmentationOutcome: Sendable, Equatable, Codable {
    /// The key results report it under.
    public static let key = "outcome"

    /// The threshold in the image's own sample units; `nil` when nothing was thresholded.
    public var threshold: Double?
    /// The polarity used (detected when the parameters said `auto`).
    public var polarity: SegmenterParameters.Polarity
    /// The preset the parameters started from.
    public var preset: SegmenterParameters.Preset
    /// How many objects the declumping step divided.
    public var objectsSplit: Int

    /// The outcome of `result`.
    public init(_ result: SegmentationResult) {
        threshold = result.threshold
        polarity = result.polarity
        preset = result.parameters.preset
        objectsSplit = result.objectsSplit
    }

    enum CodingKeys: String, CodingKey {
        case threshold, polarity, preset, objectsSplit
    }

    /// Encodes every key, `threshold` as `null` when there is none and whole thresholds without a fraction.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let threshold {
            if threshold == threshold.rounded(), abs(threshold) < 1e15 {
                try c.encode(Int64(threshold), forKey: .threshold)
            } else {
                try c.encode(threshold, forKey: .threshold)
            }
        } else {
            try c.encodeNil(forKey: .threshold)
        }
        try c.encode(polarity, forKey: .polarity)
        try c.encode(preset, forKey: .preset)
        try c.encode(objectsSplit, forKey: .objectsSplit)
    }
}

/// Parameters together with what they produced: the parameters' JSON with an `outcome` object added.
public struct ParametersWithOutcome: Sendable, Equatable, Encodable {
    /// The parameters the segmenter ran with.
    public var parameters: SegmenterParameters
    /// What it chose.
    public var outcome: SegmentationOutcome

    /// Pairs the result's parameters with its outcome.
    public init(_ result: SegmentationResult) {
        parameters = result.parameters
        outcome = SegmentationOutcome(result)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The parameters' keys plus `outcome`.
    public func encode(to encoder: any Encoder) throws {
        try parameters.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(outcome, forKey: Key(stringValue: SegmentationOutcome.key))
    }
}
