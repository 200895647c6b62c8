/// A 32-bit floating-point single-channel image (float TIFFs, and integer TIFFs whose samples do
/// not fit 16 unsigned bits: signed or 32-bit ones).
public struct GrayImageFloat: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` samples, row by row (NaN and infinities are allowed).
    public var pixels: [Float]

    /// Wraps existing samples; `pixels.count` must be `width * height`.
    public init(width: Int, height: Int, pixels: [Float]) throws(SegCoreError) {
        guard width >= 0, height >= 0, pixels.count == width * height else {
            throw .invalidArgument("pixel buffer of \(pixels.count) samples does not match \(width)×\(height)")
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Wraps samples whose count the caller has already made `width * height`.
    init(unchecked width: Int, _ height: Int, _ pixels: [Float]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// A single-channel image at the precision it was stored with: what the segmenter works on.
///
/// Colour sources are already luma (ITU-R BT.601) at the source's precision. ``view8()`` gives the
/// 8-bit view for display and thumbnails.
public enum AnyGrayImage: Sendable, Equatable {
    /// 8-bit samples (JPEG, BMP, PNG and TIFF of up to 8 bits; 1–4-bit samples scaled to 0–255).
    case uint8(GrayImage)
    /// 16-bit unsigned samples, exactly as stored.
    case uint16(GrayImage16)
    /// Floating-point samples (float TIFFs; signed and 32-bit integer TIFFs).
    case float32(GrayImageFloat)

    /// Width in pixels.
    public var width: Int {
        switch self {
        case .uint8(let g): return g.width
        case .uint16(let g): return g.width
        case .float32(let g): return g.width
        }
    }

    /// Height in pixels.
    public var height: Int {
        switch self {
        case .uint8(let g): return g.height
        case .uint16(let g): return g.height
        case .float32(let g): return g.height
        }
    }

    /// Bits per sample: 8, 16 or 32.
    public var bitDepth: Int {
        switch self {
        case .uint8: return 8
        case .uint16: return 16
        case .float32: return 32
        }
    }

    /// The 8-bit view: 8-bit images as they are; deeper ones with their 0.1st–99.9th percentile
    /// mapped linearly to 0–255 (see ``DisplayStretch``).
    public func view8() -> GrayImage {
        switch self {
        case .uint8(let g): return g
        case .uint16(let g): return DisplayStretch(g).apply(g)
        case .float32(let g): return DisplayStretch(g).apply(g)
        }
    }
}

/// The linear map of deep samples to 8 bits that SegHub uses wherever an 8-bit view is needed
/// (display renditions, thumbnails, `ImageDecoder.decodeGray`): the 0.1st percentile becomes 0,
/// the 99.9th becomes 255, values outside are clipped.
///
/// Percentiles are nearest-rank: with the `n` finite samples sorted, `low` is the one at index
/// `round(0.001 · (n − 1))` and `high` the one at `round(0.999 · (n − 1))` (halves round away
/// from zero). A sample `v` becomes `round((v − low) · 255 / (high − low))` clipped to 0–255;
/// when `high == low`, samples above `low` become 255 and the rest 0. NaN becomes 0.
public struct DisplayStretch: Sendable, Equatable {
    /// The value that maps to 0.
    public let low: Double
    /// The value that maps to 255.
    public let high: Double

    /// The ranks of the two percentiles among `n` sorted samples.
    static func ranks(_ n: Int) -> (low: Int, high: Int) {
        let last = Double(max(0, n - 1))
        return (Int((0.001 * last).rounded(.toNearestOrAwayFromZero)), Int((0.999 * last).rounded(.toNearestOrAwayFromZero)))
    }

    /// Measures the percentiles of a 16-bit image (one histogram pass).
    public init(_ image: GrayImage16) {
        var histogram = [Int](repeating: 0, count: 65536)
        image.pixels.withUnsafeBufferPointer { src in
            histogram.withUnsafeMutableBufferPointer { h in
                for v in src { h[Int(v)] &+= 1 }
            }
        }
        self.init(histogram: histogram, count: image.pixels.count)
    }

    /// The percentiles of `count` 16-bit samples counted in `histogram` (65 536 bins, one per value).
    init(histogram: [Int], count: Int) {
        let (rl, rh) = Self.ranks(count)
        var seen = 0
        var low = 0
        var high = 0
        var foundLow = false
        for v in 0..<min(65536, histogram.count) where histogram[v] > 0 {
            seen += histogram[v]
            if !foundLow, seen > rl {
                low = v
                foundLow = true
            }
            if seen > rh {
                high = v
                break
            }
        }
        self.low = Double(low)
        self.high = Double(high)
    }

    /// Measures the percentiles of the finite samples of a float image (exact: a histogram finds
    /// the two bins, then their samples are sorted).
    public init(_ image: GrayImageFloat) {
        let finite = FiniteRange(image.pixels)
        guard finite.count > 0 else {
            self.low = 0
            self.high = 0
            return
        }
        let (rl, rh) = Self.ranks(finite.count)
        let bins = 65536
        var histogram = [Int](repeating: 0, count: bins)
        let scale = finite.max > finite.min ? Double(bins - 1) / (finite.max - finite.min) : 0
        func bin(_ v: Float) -> Int { Int((Double(v) - finite.min) * scale) }
        for v in image.pixels where v.isFinite { histogram[bin(v)] += 1 }
        var seen = 0
        var binLow = 0
        var binHigh = 0
        var belowLow = 0
        var belowHigh = 0
        var foundLow = false
        for b in 0..<bins where histogram[b] > 0 {
            if !foundLow, seen + histogram[b] > rl {
                binLow = b
                belowLow = seen
                foundLow = true
            }
            if seen + histogram[b] > rh {
                binHigh = b
                belowHigh = seen
                break
            }
            seen += histogram[b]
        }
        var inLow: [Float] = []
        var inHigh: [Float] = []
        for v in image.pixels where v.isFinite {
            let b = bin(v)
            if b == binLow { inLow.append(v) }
            if b == binHigh { inHigh.append(v) }
        }
        inLow.sort()
        inHigh.sort()
        self.low = Double(inLow[min(inLow.count - 1, rl - belowLow)])
        self.high = Double(inHigh[min(inHigh.count - 1, rh - belowHigh)])
    }

    /// Maps one sample.
    @inline(__always) func map(_ v: Double) -> UInt8 {
        if high > low {
            let x = ((v - low) * 255 / (high - low)).rounded(.toNearestOrAwayFromZero)
            return x.isNaN ? 0 : UInt8(min(255, max(0, x)))
        }
        return v > low ? 255 : 0
    }

    /// The 8-bit view of a 16-bit image, through a table of the values between the two percentiles
    /// (those outside map to 0 or 255); small images are mapped sample by sample instead.
    public func apply(_ image: GrayImage16) -> GrayImage {
        var out = GrayImage(width: image.width, height: image.height)
        let lo = Int(low)
        let span = Int(high) - lo
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                guard span > 0, span < src.count else {
                    for i in 0..<src.count { dst[i] = map(Double(src[i])) }
                    return
                }
                let table = (0...span).map { map(Double(lo + $0)) }
                table.withUnsafeBufferPointer { lut in
                    for i in 0..<src.count {
                        let k = Int(src[i]) &- lo
                        dst[i] = k <= 0 ? 0 : k >= span ? 255 : lut[k]
                    }
                }
            }
        }
        return out
    }

    /// The 8-bit view of a float image.
    public func apply(_ image: GrayImageFloat) -> GrayImage {
        var out = GrayImage(width: image.width, height: image.height)
        image.pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = map(Double(src[i])) }
            }
        }
        return out
    }
}

/// The smallest and largest finite value of float samples, and how many are finite.
struct FiniteRange {
    var min = Double.infinity
    var max = -Double.infinity
    var count = 0

    init(_ samples: [Float]) {
        var lo = Float.infinity
        var hi = -Float.infinity
        var n = 0
        for v in samples where v.isFinite {
            if v < lo { lo = v }
            if v > hi { hi = v }
            n += 1
        }
        if n > 0 {
            min = Double(lo)
            max = Double(hi)
        }
        count = n
    }
}
