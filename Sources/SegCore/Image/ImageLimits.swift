/// Upper bounds on decoded image size, checked from the header before any pixel buffer exists.
public struct ImageLimits: Sendable, Equatable, Hashable {
    /// Largest accepted width × height.
    public var maxPixels: Int
    /// Largest accepted width or height.
    public var maxDimension: Int

    /// Creates limits; the defaults are SegHub's (100 MP, 40 000 px per side).
    public init(maxPixels: Int = 100_000_000, maxDimension: Int = 40_000) {
        self.maxPixels = maxPixels
        self.maxDimension = maxDimension
    }

    /// SegHub's defaults: 100 000 000 pixels, 40 000 pixels per side.
    public static let `default` = ImageLimits()

    /// Throws ``SegCoreError/imageTooLarge(width:height:limits:)`` when a `width`×`height` image breaks these limits.
    public func check(width: Int, height: Int) throws(SegCoreError) {
        guard width > 0, height > 0 else { throw .corruptImage("image has a zero dimension (\(width)×\(height))") }
        if width > maxDimension || height > maxDimension || width.multipliedReportingOverflow(by: height).overflow
            || width * height > maxPixels
        {
            throw .imageTooLarge(width: width, height: height, limits: self)
        }
    }
}
