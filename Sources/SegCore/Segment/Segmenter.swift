/// Anything that turns a gray image into a mask and polygons: the built-in classical pipeline
/// today, deep-learning inference servers later.
///
/// ## Usage
/// ```swift
/// let segmenter: any Segmenter = BuiltinSegmenter(parameters: .init(minArea: 100))
/// let result = try segmenter.segment(image)
/// print(result.polygons.count)
/// ```
public protocol Segmenter: Sendable {
    /// Segments `image` into foreground objects.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when the segmenter's parameters cannot be used.
    func segment(_ image: GrayImage) throws(SegCoreError) -> SegmentationResult
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
    /// The threshold applied to the smoothed, flattened image (0–255), or `nil` when the image
    /// held no objects to threshold (empty or uniform).
    public var threshold: Int?

    /// Creates a result.
    public init(
        mask: BinaryMask, polygons: [Polygon], parameters: SegmenterParameters, polarity: SegmenterParameters.Polarity,
        threshold: Int?
    ) {
        self.mask = mask
        self.polygons = polygons
        self.parameters = parameters
        self.polarity = polarity
        self.threshold = threshold
    }
}
