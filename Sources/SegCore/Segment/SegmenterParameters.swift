/// Settings of the ``BuiltinSegmenter``. Every property has a default; the defaults are the
/// ``Preset/spheroid`` preset, which works on brightfield spheroids (dark on a lighter, unevenly
/// lit background), on phase contrast (dark cells in bright halos) and on fluorescence (bright on
/// dark). ``Preset/nuclei`` suits fluorescent nuclei that touch.
///
/// JSON (a missing key takes the preset's value, the preset defaults to `spheroid`; invalid values
/// fail to decode with a message):
/// ```json
/// {"preset": "nuclei", "threshold": "li", "polarity": "auto", "sigma": 1, "background": "subtract",
///  "openingRadius": 1, "closingRadius": 1, "minArea": 50, "fillHoles": true,
///  "removeBorderObjects": false, "declump": true, "scale": 0.65, "page": 2}
/// ```
/// `threshold` is `"otsu"`, `"triangle"`, `"li"` or a number in the image's own sample units;
/// `scale` is omitted when unset; `page`, `channel`, `z` and `t` choose the plane of a multi-page
/// TIFF (see ``ImageSelection``) and are omitted when unset.
public struct SegmenterParameters: Sendable, Equatable {
    /// How the global threshold is chosen.
    public enum Threshold: Sendable, Equatable {
        /// Otsu's method on the flattened image's histogram, moved a third of the way towards the
        /// level where the edges are steepest (the `spheroid` default): Otsu alone cuts too deep
        /// into objects with a darker core or a bright halo.
        case otsu
        /// The triangle method (better when objects cover only a small part of the image).
        case triangle
        /// Li's minimum cross-entropy method (the `nuclei` default): unlike Otsu it is not pulled
        /// up by a few very bright objects.
        case li
        /// A fixed level in the image's own sample units, compared with the smoothed, flattened
        /// image (whose background sits at the image's mean background level): objects are the
        /// pixels at or below it (dark) or above it (bright).
        case fixed(Double)
    }

    /// Whether objects are darker or brighter than the background.
    public enum Polarity: String, Sendable, Equatable, Codable, CaseIterable {
        /// Detected from the image (the default).
        case auto
        /// Objects darker than the background (brightfield, phase contrast): pixels at or below the threshold.
        case dark
        /// Objects brighter than the background (fluorescence): pixels above the threshold.
        case bright
    }

    /// How the large-scale illumination estimate is removed before thresholding.
    public enum BackgroundCorrection: String, Sendable, Equatable, Codable, CaseIterable {
        /// Divide by the estimate (multiplicative shading such as vignetting; the `spheroid` default).
        case divide
        /// Subtract the estimate (additive offsets and glow; the `nuclei` default).
        case subtract
        /// No flattening.
        case none
    }

    /// Named bundles of parameters; explicit parameters override the preset's.
    public enum Preset: String, Sendable, Equatable, Codable, CaseIterable {
        /// One object per spheroid or cell, no declumping (the default).
        case spheroid
        /// Fluorescent nuclei: Li's threshold, light smoothing, holes filled, touching nuclei split.
        case nuclei

        /// The preset's parameters.
        public var parameters: SegmenterParameters {
            switch self {
            case .spheroid:
                return SegmenterParameters()
            case .nuclei:
                return SegmenterParameters(
                    preset: .nuclei, threshold: .li, sigma: 1, background: .subtract, openingRadius: 1, closingRadius: 1,
                    fillHoles: true, declump: true)
            }
        }
    }

    /// The preset these parameters started from; default ``Preset/spheroid``.
    public var preset: Preset
    /// Threshold method; default ``Threshold/otsu``.
    public var threshold: Threshold
    /// Object polarity; default ``Polarity/auto``.
    public var polarity: Polarity
    /// Standard deviation of the Gaussian smoothing in px, 0 (none) to 16; default 2.
    public var sigma: Double
    /// Background flattening; default ``BackgroundCorrection/divide``.
    public var background: BackgroundCorrection
    /// Radius in px of the morphological opening (removes specks and thin spurs), 0 to 32; default 2.
    public var openingRadius: Int
    /// Radius in px of the morphological closing (bridges small gaps and notches), 0 to 32; default 2.
    public var closingRadius: Int
    /// Objects with fewer pixels than this are removed from the mask (and so from the polygons); default 50.
    public var minArea: Double
    /// Whether holes (background enclosed by an object) become foreground; default `false`.
    public var fillHoles: Bool
    /// Whether objects touching the image border are removed; default `false`.
    public var removeBorderObjects: Bool
    /// Whether touching objects are split (marker-controlled watershed; see ``Declumper``); default `false`.
    public var declump: Bool
    /// µm per pixel for the polygon metrics, or `nil` for pixel units; default `nil`.
    public var scale: Double?
    /// The plane of a multi-page file the caller decodes (the segmenter itself gets the image);
    /// default: the first.
    public var selection: ImageSelection

    /// Creates parameters; every argument defaults to the `spheroid` preset's value.
    public init(
        preset: Preset = .spheroid, threshold: Threshold = .otsu, polarity: Polarity = .auto, sigma: Double = 2,
        background: BackgroundCorrection = .divide, openingRadius: Int = 2, closingRadius: Int = 2, minArea: Double = 50,
        fillHoles: Bool = false, removeBorderObjects: Bool = false, declump: Bool = false, scale: Double? = nil,
        selection: ImageSelection = .first
    ) {
        self.preset = preset
        self.threshold = threshold
        self.polarity = polarity
        self.sigma = sigma
        self.background = background
        self.openingRadius = openingRadius
        self.closingRadius = closingRadius
        self.minArea = minArea
        self.fillHoles = fillHoles
        self.removeBorderObjects = removeBorderObjects
        self.declump = declump
        self.scale = scale
        self.selection = selection
    }

    /// The parameters of `preset`.
    public init(preset: Preset) {
        self = preset.parameters
    }

    /// Largest accepted ``sigma``.
    public static let maxSigma = 16.0
    /// Largest accepted opening or closing radius.
    public static let maxRadius = 32

    /// Checks every value's range.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` naming the first bad value.
    public func validate() throws(SegCoreError) {
        if let problem { throw .invalidArgument(problem.message) }
    }

    /// The first out-of-range value: its key and a description, or `nil` when all are usable.
    var problem: (key: String, message: String)? {
        if !(sigma.isFinite && sigma >= 0 && sigma <= Self.maxSigma) {
            return ("sigma", "sigma must be between 0 and \(Self.maxSigma), got \(sigma)")
        }
        if !(0...Self.maxRadius).contains(openingRadius) {
            return ("openingRadius", "openingRadius must be between 0 and \(Self.maxRadius), got \(openingRadius)")
        }
        if !(0...Self.maxRadius).contains(closingRadius) {
            return ("closingRadius", "closingRadius must be between 0 and \(Self.maxRadius), got \(closingRadius)")
        }
        if !(minArea.isFinite && minArea >= 0) { return ("minArea", "minArea must be a finite number ≥ 0, got \(minArea)") }
        if let scale, !(scale.isFinite && scale > 0) { return ("scale", "scale must be a finite number > 0, got \(scale)") }
        if case .fixed(let value) = threshold, !value.isFinite { return ("threshold", "a fixed threshold must be a finite number") }
        do {
            try selection.validate()
        } catch {
            if case .invalidArgument(let message) = error { return ("page", message) }
        }
        return nil
    }
}
