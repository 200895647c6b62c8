/// SegHub's classical segmenter, which needs no model file (DESIGN.md section 2, "Built-in segmenter").
///
/// Stages, each written for a few ns per pixel:
/// 1. Gaussian smoothing (separable, 8.8 fixed point);
/// 2. background flattening: a robust low-order polynomial fitted to block means on a ~64 × 64
///    grid (see ``SegmenterParameters/background``), divided or subtracted out, so vignetting
///    and uneven illumination do not move the threshold;
/// 3. a global threshold on the flattened image (Otsu refined towards the steepest-edge level,
///    triangle or fixed) with the objects' polarity detected from which side departs more from
///    the background level;
/// 4. morphological opening then closing on a bit-packed mask;
/// 5. optional hole filling, then removal of objects under ``SegmenterParameters/minArea`` pixels
///    and, optionally, of objects touching the border, on run-length connected components;
/// 6. polygons and metrics through ``PolygonExtractor``.
///
/// ## Usage
/// ```swift
/// let segmenter = BuiltinSegmenter(parameters: SegmenterParameters(fillHoles: true, scale: 0.65))
/// let result = try segmenter.segment(image)
/// for polygon in result.polygons { print(polygon.id, polygon.area) }
/// ```
public struct BuiltinSegmenter: Segmenter {
    /// The settings every call uses.
    public var parameters: SegmenterParameters

    /// Creates a segmenter; the defaults suit brightfield spheroids and fluorescence alike.
    public init(parameters: SegmenterParameters = SegmenterParameters()) {
        self.parameters = parameters
    }

    /// Segments `image` and traces the objects into measured polygons.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a parameter is out of range.
    public func segment(_ image: GrayImage) throws(SegCoreError) -> SegmentationResult {
        var result = try segmentMask(image)
        // The mask already went through the minimum area (in pixels), so every component is kept.
        result.polygons = PolygonExtractor.polygons(from: result.mask, minArea: 0, scale: parameters.scale)
        return result
    }

    /// Segments `image` into a mask only (`polygons` is empty): the stages before tracing.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a parameter is out of range.
    public func segmentMask(_ image: GrayImage) throws(SegCoreError) -> SegmentationResult {
        try parameters.validate()
        let width = image.width
        let height = image.height
        let requested = parameters.polarity
        func empty(_ polarity: SegmenterParameters.Polarity) -> SegmentationResult {
            SegmentationResult(
                mask: BinaryMask(width: width, height: height), polygons: [], parameters: parameters, polarity: polarity, threshold: nil)
        }
        guard width > 0, height > 0 else { return empty(requested) }

        let smoothed = GaussianSmoother.smooth(image.pixels, width: width, height: height, sigma: parameters.sigma)
        let model = BackgroundModel.fit(smoothed, width: width, height: height)
        let map = FlatteningMap(model: model, correction: parameters.background, width: width, height: height)
        // The histograms are statistics: about a million samples are plenty, half a million for the edges.
        let rowStep = min(max(1, (width * height) / 1_000_000), max(1, height / 64))
        let gradientStep = max(1, (width * (height / rowStep)) / 500_000)
        let (histogram, gradientCounts, gradients) = map.histogram(of: smoothed, rowStep: rowStep, gradientStep: gradientStep)
        let level = Int(model.level.rounded())

        let polarity: SegmenterParameters.Polarity
        if requested == .auto {
            guard let detected = ThresholdSelector.detectPolarity(histogram, level: model.level, noise: model.noise) else {
                return empty(requested)
            }
            polarity = detected
        } else {
            polarity = requested
        }
        let dark = polarity == .dark
        let threshold: Int
        switch parameters.threshold {
        case .fixed(let value):
            threshold = Int(value)
        case .otsu:
            guard let t = ThresholdSelector.otsu(ThresholdSelector.folded(histogram, level: level, dark: dark)) else { return empty(polarity) }
            // Otsu splits the class means, which sit deeper than the edges when objects have a
            // darker core or a halo; move a third of the way to the steepest-edge level.
            if let edge = ThresholdSelector.edgeLevel(gradientCounts, gradients, level: level, dark: dark) {
                threshold = t + Int((Double(edge - t) / 3).rounded())
            } else {
                threshold = t
            }
        case .triangle:
            guard let t = ThresholdSelector.triangle(ThresholdSelector.folded(histogram, level: level, dark: dark), dark: dark) else {
                return empty(polarity)
            }
            threshold = t
        }

        var plane = map.threshold(smoothed, at: threshold, dark: dark)
        plane.open(radius: parameters.openingRadius)
        plane.close(radius: parameters.closingRadius)
        if parameters.fillHoles { plane.fillHoles() }
        plane.removeObjects(minArea: parameters.minArea, touchingBorder: parameters.removeBorderObjects)
        return SegmentationResult(
            mask: plane.binaryMask(), polygons: [], parameters: parameters, polarity: polarity, threshold: threshold)
    }
}
