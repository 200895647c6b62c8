/// SegHub's classical segmenter, which needs no model file (DESIGN.md section 2, "Built-in segmenter").
///
/// It works at the image's own precision: 8-bit images on 8 bits, 16-bit images on 16 bits, float
/// images quantised to 16 bits over their range. Stages, each written for a few ns per pixel:
/// 1. Gaussian smoothing (separable, 8.8 fixed point);
/// 2. background flattening: a robust low-order polynomial fitted to block means on a ~64 × 64
///    grid (see ``SegmenterParameters/background``), divided or subtracted out, so vignetting
///    and uneven illumination do not move the threshold;
/// 3. the objects' polarity, detected from which side of the background's histogram peak departs
///    (see ``SegmenterParameters/Polarity``), and a global threshold on the flattened image (Otsu
///    refined towards the steepest-edge level, Li, triangle or fixed);
/// 4. morphological opening then closing on a bit-packed mask;
/// 5. optional hole filling, removal of objects under ``SegmenterParameters/minArea`` pixels,
///    optional declumping (``Declumper``) and, optionally, removal of objects touching the border;
/// 6. polygons and metrics through ``PolygonExtractor``.
///
/// ## Usage
/// ```swift
/// let segmenter = BuiltinSegmenter(parameters: SegmenterParameters(preset: .nuclei))
/// let result = try segmenter.segment(try ImageDecoder.decode(bytes))
/// for polygon in result.polygons { print(polygon.id, polygon.area) }
/// ```
public struct BuiltinSegmenter: Segmenter {
    /// The settings every call uses.
    public var parameters: SegmenterParameters

    /// Creates a segmenter; the defaults (the `spheroid` preset) suit brightfield spheroids, phase
    /// contrast and fluorescence alike.
    public init(parameters: SegmenterParameters = SegmenterParameters()) {
        self.parameters = parameters
    }

    /// Segments `image` and traces the objects into measured polygons.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a parameter is out of range.
    public func segment(_ image: AnyGrayImage) throws(SegCoreError) -> SegmentationResult {
        var result = try segmentMask(image)
        // The mask already went through the minimum area (in pixels), so every component is kept.
        result.polygons = PolygonExtractor.polygons(from: result.mask, minArea: 0, scale: parameters.scale)
        return result
    }

    /// Segments an 8-bit image into a mask only (`polygons` is empty): the stages before tracing.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a parameter is out of range.
    public func segmentMask(_ image: GrayImage) throws(SegCoreError) -> SegmentationResult {
        try segmentMask(.uint8(image))
    }

    /// Segments `image` into a mask only (`polygons` is empty): the stages before tracing.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` when a parameter is out of range.
    public func segmentMask(_ image: AnyGrayImage) throws(SegCoreError) -> SegmentationResult {
        try parameters.validate()
        switch WorkingImage(image) {
        case .uint8(let g):
            let smoothed = GaussianSmoother.smooth(g.pixels, width: g.width, height: g.height, sigma: parameters.sigma)
            return run(smoothed, width: g.width, height: g.height, sampleMap: .identity, range: nil)
        case .uint16(let g, let map):
            let smoothed = GaussianSmoother.smooth(g.pixels, width: g.width, height: g.height, sigma: parameters.sigma)
            let (low, high) = Self.range(smoothed)
            return run(smoothed, width: g.width, height: g.height, sampleMap: map, range: (min(low, high), high))
        }
    }

    /// The smallest and largest sample (sixteen lanes at a time).
    static func range(_ samples: [UInt16]) -> (low: Int, high: Int) {
        samples.withUnsafeBufferPointer { s -> (low: Int, high: Int) in
            guard let base = s.baseAddress else { return (Int(UInt16.max), 0) }
            var low = SIMD16<UInt16>(repeating: .max)
            var high = SIMD16<UInt16>(repeating: 0)
            var i = 0
            while i + 16 <= s.count {
                let v = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<UInt16>.self)
                low = pointwiseMin(low, v)
                high = pointwiseMax(high, v)
                i += 16
            }
            var lo = Int(low.min())
            var hi = Int(high.max())
            while i < s.count {
                lo = min(lo, Int(s[i]))
                hi = max(hi, Int(s[i]))
                i += 1
            }
            return (lo, hi)
        }
    }

    /// The stages after smoothing, on 8- or 16-bit working samples; `range` is the smoothed
    /// samples' range (16-bit), which the histogram covers once flattened (8-bit: 0–255).
    private func run<S: FixedWidthInteger & UnsignedInteger>(
        _ smoothed: [S], width: Int, height: Int, sampleMap: WorkingImage.SampleMap, range: (low: Int, high: Int)?
    ) -> SegmentationResult {
        let requested = parameters.polarity
        func empty(_ polarity: SegmenterParameters.Polarity) -> SegmentationResult {
            SegmentationResult(
                mask: BinaryMask(width: width, height: height), polygons: [], parameters: parameters, polarity: polarity, threshold: nil)
        }
        guard width > 0, height > 0 else { return empty(requested) }

        let model = BackgroundModel.fit(smoothed, width: width, height: height)
        let map = FlatteningMap(model: model, correction: parameters.background, width: width, height: height)
        let scale =
            range.map { r in
                let flat = map.flattenedRange(low: r.low, high: r.high)
                return HistogramScale.covering(low: flat.low, high: flat.high)
            } ?? .eightBit
        // The histograms are statistics: half a million samples are plenty, a quarter of a million for the edges.
        let rowStep = min(max(1, (width * height) / 500_000), max(1, height / 64))
        let gradientStep = max(1, (width * (height / rowStep)) / 250_000)
        let (histogram, gradientCounts, gradients) = map.histogram(
            of: smoothed, scale: scale, rowStep: rowStep, gradientStep: gradientStep)
        let level = scale.bin(ofLevel: model.level)

        let background = ThresholdSelector.background(histogram)
        let departures = ThresholdSelector.departures(histogram, background: background)
        let polarity: SegmenterParameters.Polarity
        if requested == .auto {
            guard let detected = departures?.polarity else { return empty(requested) }
            if departures?.twoSided == true, let background,
                let enclosed = Self.enclosedSide(smoothed, map: map, scale: scale, background: background)
            {
                polarity = enclosed
            } else {
                polarity = detected
            }
        } else {
            polarity = requested
        }
        let dark = polarity == .dark
        // The background's noise in working units (a standard deviation of the smoothed, flattened image).
        let noise = Float((background?.sigma ?? 0.5) * Double(1 << scale.shift))
        let bin: Int
        switch parameters.threshold {
        case .fixed(let value):
            // A level in sample units; working levels are whole numbers (`⌊flat⌋ ≤ T` is dark).
            let working = sampleMap.working(value).rounded(.down)
            guard working.isFinite else { return empty(polarity) }
            let t = Int(max(-1, min(Double(Int32.max), working)))
            return finish(smoothed, map: map, threshold: t, dark: dark, polarity: polarity, sampleMap: sampleMap, noise: noise)
        case .otsu:
            guard let t = ThresholdSelector.otsu(ThresholdSelector.folded(histogram, level: level, dark: dark)) else { return empty(polarity) }
            // Otsu splits the class means, which sit deeper than the edges when objects have a
            // darker core; move a third of the way to the steepest-edge level. Not when both sides
            // of the background depart (phase contrast): there the steepest edges are the halo's.
            if departures?.twoSided != true, let edge = ThresholdSelector.edgeLevel(gradientCounts, gradients, level: level, dark: dark) {
                bin = t + Int((Double(edge - t) / 3).rounded())
            } else {
                bin = t
            }
        case .li:
            // Not folded: Li measures values from the darkest pixel (its logarithms need the true offset).
            guard let t = ThresholdSelector.li(histogram, dark: dark) else {
                return empty(polarity)
            }
            bin = t
        case .triangle:
            guard let t = ThresholdSelector.triangle(ThresholdSelector.folded(histogram, level: level, dark: dark), dark: dark) else {
                return empty(polarity)
            }
            bin = t
        }
        return finish(
            smoothed, map: map, threshold: scale.level(ofBin: bin), dark: dark, polarity: polarity, sampleMap: sampleMap, noise: noise)
    }

    /// In a two-sided image (objects with halos), the side whose pixels lie inside the holes of the
    /// other side's regions: a halo encloses its object, never the reverse. Both masks take the
    /// pixels ``ThresholdSelector/enclosureReach`` standard deviations beyond the background; `nil`
    /// when neither side encloses the other more.
    static func enclosedSide<S: FixedWidthInteger & UnsignedInteger>(
        _ smoothed: [S], map: FlatteningMap, scale: HistogramScale, background: ThresholdSelector.Background
    ) -> SegmenterParameters.Polarity? {
        let reach = ThresholdSelector.enclosureReach * background.sigma
        let darkBin = Int((Double(background.mode) - reach).rounded(.down))
        let brightBin = Int((Double(background.mode) + reach).rounded(.up))
        guard darkBin >= 0, brightBin < scale.bins else { return nil }
        let dark = map.threshold(smoothed, at: scale.level(ofBin: darkBin), dark: true)
        let bright = map.threshold(smoothed, at: scale.level(ofBin: brightBin - 1), dark: false)
        /// The share of `inner`'s pixels that lie in the holes of `outer`.
        func enclosed(_ inner: BitPlane, by outer: BitPlane) -> Double {
            var filled = outer
            filled.fillHoles()
            var inside = 0
            var total = 0
            for i in inner.words.indices {
                inside += (inner.words[i] & filled.words[i] & ~outer.words[i]).nonzeroBitCount
                total += inner.words[i].nonzeroBitCount
            }
            return total > 0 ? Double(inside) / Double(total) : 0
        }
        let darkInside = enclosed(dark, by: bright)
        let brightInside = enclosed(bright, by: dark)
        if abs(darkInside - brightInside) < 0.1 { return nil }
        return darkInside > brightInside ? .dark : .bright
    }

    /// Thresholds at working level `threshold` (`⌊flat⌋ ≤ threshold` dark, `>` bright) and cleans the mask up.
    private func finish<S: FixedWidthInteger & UnsignedInteger>(
        _ smoothed: [S], map: FlatteningMap, threshold: Int, dark: Bool, polarity: SegmenterParameters.Polarity,
        sampleMap: WorkingImage.SampleMap, noise: Float
    ) -> SegmentationResult {
        var plane = map.threshold(smoothed, at: threshold, dark: dark)
        plane.open(radius: parameters.openingRadius)
        plane.close(radius: parameters.closingRadius)
        if parameters.fillHoles { plane.fillHoles() }
        var split = 0
        if parameters.declump {
            plane.removeObjects(minArea: parameters.minArea, touchingBorder: false)
            // Objects are `flat ≥ threshold + 1` (bright) or `flat < threshold + 1` (dark): in the
            // declumper's units (dark negated) they start at `base`.
            let base = dark ? -Float(threshold + 1) : Float(threshold + 1)
            let declumper = Declumper(base: base, dark: dark, noise: noise)
            split = declumper.split(&plane, smoothed: smoothed, map: map)
        }
        plane.removeObjects(minArea: parameters.minArea, touchingBorder: parameters.removeBorderObjects)
        return SegmentationResult(
            mask: plane.binaryMask(), polygons: [], parameters: parameters, polarity: polarity,
            threshold: sampleMap.value(Double(threshold)), objectsSplit: split)
    }
}
