/// Settings of the ``BuiltinSegmenter``. Every property has a default that works on brightfield
/// spheroids (dark on a lighter, unevenly lit background) and on fluorescence (bright on dark).
///
/// JSON (missing keys take their defaults; invalid values fail to decode with a message):
/// ```json
/// {"threshold": "otsu", "polarity": "auto", "sigma": 2, "background": "divide",
///  "openingRadius": 2, "closingRadius": 2, "minArea": 50, "fillHoles": false,
///  "removeBorderObjects": false, "scale": 0.65}
/// ```
/// `threshold` is `"otsu"`, `"triangle"` or an integer 0–255; `scale` is omitted when unset.
public struct SegmenterParameters: Sendable, Equatable {
    /// How the global threshold is chosen.
    public enum Threshold: Sendable, Equatable {
        /// Otsu's method on the flattened image's histogram, moved a third of the way towards the
        /// level where the edges are steepest (the default): Otsu alone cuts too deep into objects
        /// with a darker core or a bright halo.
        case otsu
        /// The triangle method (better when objects cover only a small part of the image).
        case triangle
        /// A fixed grey level of the smoothed, flattened image (whose background sits near the
        /// image's mean background level).
        case fixed(UInt8)
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
        /// Divide by the estimate (multiplicative shading such as vignetting; the default).
        case divide
        /// Subtract the estimate (additive offsets).
        case subtract
        /// No flattening.
        case none
    }

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
    /// µm per pixel for the polygon metrics, or `nil` for pixel units; default `nil`.
    public var scale: Double?

    /// Creates parameters; every argument defaults to the documented default.
    public init(
        threshold: Threshold = .otsu, polarity: Polarity = .auto, sigma: Double = 2, background: BackgroundCorrection = .divide,
        openingRadius: Int = 2, closingRadius: Int = 2, minArea: Double = 50, fillHoles: Bool = false,
        removeBorderObjects: Bool = false, scale: Double? = nil
    ) {
        self.threshold = threshold
        self.polarity = polarity
        self.sigma = sigma
        self.background = background
        self.openingRadius = openingRadius
        self.closingRadius = closingRadius
        self.minArea = minArea
        self.fillHoles = fillHoles
        self.removeBorderObjects = removeBorderObjects
        self.scale = scale
    }

    /// Largest accepted ``sigma``.
    public static let maxSigma = 16.0
    /// Largest accepted opening or closing radius.
    public static let maxRadius = 32

    /// Checks every value's range.
    /// - Throws: ``SegCoreError/invalidArgument(_:)`` naming the first bad value.
    public func validate() throws(SegCoreError) {
        if let message = problem { throw .invalidArgument(message) }
    }

    /// A description of the first out-of-range value, or `nil` when all are usable.
    var problem: String? {
        if !(sigma.isFinite && sigma >= 0 && sigma <= Self.maxSigma) { return "sigma must be between 0 and \(Self.maxSigma), got \(sigma)" }
        if !(0...Self.maxRadius).contains(openingRadius) { return "openingRadius must be between 0 and \(Self.maxRadius), got \(openingRadius)" }
        if !(0...Self.maxRadius).contains(closingRadius) { return "closingRadius must be between 0 and \(Self.maxRadius), got \(closingRadius)" }
        if !(minArea.isFinite && minArea >= 0) { return "minArea must be a finite number ≥ 0, got \(minArea)" }
        if let scale, !(scale.isFinite && scale > 0) { return "scale must be a finite number > 0, got \(scale)" }
        return nil
    }
}
