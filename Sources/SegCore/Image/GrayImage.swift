/// An 8-bit single-channel image, row-major, top row first, no padding between rows.
public struct GrayImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` samples, row by row.
    public var pixels: [UInt8]

    /// Wraps existing samples; `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(SegCoreError) {
        guard width >= 0, height >= 0, pixels.count == width * height else {
            throw .invalidArgument("pixel buffer of \(pixels.count) samples does not match \(width)×\(height)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Wraps samples whose count the caller has already made `width * height`.
    @usableFromInline init(unchecked width: Int, _ height: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image filled with `value`.
    public init(width: Int, height: Int, filledWith value: UInt8 = 0) {
        precondition(width >= 0 && height >= 0, "negative image size")
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: value, count: width * height)
    }

    /// The sample at column `x`, row `y` (no bounds check beyond Swift's array check).
    @inlinable public subscript(x: Int, y: Int) -> UInt8 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }
}

/// A 16-bit single-channel image (microscopy PNGs keep their full precision here).
public struct GrayImage16: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` samples, row by row.
    public var pixels: [UInt16]

    /// Wraps existing samples; `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [UInt16]) throws(SegCoreError) {
        guard width >= 0, height >= 0, pixels.count == width * height else {
            throw .invalidArgument("pixel buffer of \(pixels.count) samples does not match \(width)×\(height)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Wraps samples whose count the caller has already made `width * height`.
    @usableFromInline init(unchecked width: Int, _ height: Int, _ pixels: [UInt16]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The sample at column `x`, row `y`.
    @inlinable public subscript(x: Int, y: Int) -> UInt16 {
        get { pixels[y * width + x] }
        set { pixels[y * width + x] = newValue }
    }

    /// Scales to 8 bits by rounding `v * 255 / 65535`.
    public func to8Bit() -> GrayImage {
        var out = GrayImage(width: width, height: height)
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = UInt8((UInt32(src[i]) * 255 + 32767) / 65535) }
            }
        }
        return out
    }
}

/// A decoded image in its stored channel layout, without any conversion to luma.
///
/// Used where the colour values themselves matter: label masks, where each distinct value is an
/// object, and binary masks, where any non-zero channel is foreground.
public struct RasterImage: Sendable, Equatable {
    /// The stored sample type.
    public enum Samples: Sendable, Equatable {
        /// 8-bit samples (JPEG, and PNG of 1–8 bits per sample, expanded to 8).
        case uint8([UInt8])
        /// 16-bit samples (16-bit PNG and TIFF).
        case uint16([UInt16])
        /// 32-bit samples (32-bit integer TIFF label masks; signed and float TIFFs of whole numbers).
        case uint32([UInt32])
    }

    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// Channels per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA.
    public let channels: Int
    /// Interleaved samples, `width * height * channels` of them.
    public let samples: Samples

    /// Wraps interleaved samples.
    public init(width: Int, height: Int, channels: Int, samples: Samples) throws(SegCoreError) {
        let count: Int
        switch samples {
        case .uint8(let s): count = s.count
        case .uint16(let s): count = s.count
        case .uint32(let s): count = s.count
        }
        guard (1...4).contains(channels), width >= 0, height >= 0, count == width * height * channels else {
            throw .invalidArgument("sample buffer does not match \(width)×\(height)×\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    /// Wraps samples whose count the caller has already made `width * height * channels`.
    init(unchecked width: Int, _ height: Int, _ channels: Int, _ samples: Samples) {
        self.width = width
        self.height = height
        self.channels = channels
        self.samples = samples
    }

    /// Whether alpha is the last channel (gray+alpha, RGBA).
    public var hasAlpha: Bool { channels == 2 || channels == 4 }

    /// Colour channels, alpha excluded.
    public var colorChannels: Int { hasAlpha ? channels - 1 : channels }
}
