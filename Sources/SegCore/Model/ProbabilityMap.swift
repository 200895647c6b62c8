/// A per-pixel foreground probability (or any float plane): a model's output, or the normalised input it is fed.
///
/// Values are `Float`, row by row. ``resized(width:height:)`` is OpenCV's `cv2.resize(…, INTER_LINEAR)` for float32
/// images, which is how the previous system scaled both the model's input and its output.
///
/// ## Usage
/// ```swift
/// let map = try ProbabilityMap(width: 256, height: 256, values: probabilities)
/// let full = map.resized(width: image.width, height: image.height)
/// let mask = full.mask(above: 0.5)
/// ```
public struct ProbabilityMap: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height` values, row by row.
    public var values: [Float]

    /// Wraps `values`; there must be `width * height` of them, and both sides must be positive.
    public init(width: Int, height: Int, values: [Float]) throws(SegCoreError) {
        guard width > 0, height > 0, values.count == width * height else {
            throw .invalidArgument("a map of \(values.count) values does not match \(width)×\(height)")
        }
        self.width = width
        self.height = height
        self.values = values
    }

    /// The image's samples scaled to 0…1: 8-bit samples divided by 255; 16-bit and float images stretched from their
    /// darkest to their brightest sample (non-finite float samples become 0).
    ///
    /// Microscopes store 10–14-bit data in 16-bit files, so dividing by 65535 would give a model a nearly black image
    /// (the bundled U-Net found nothing on the DSB nuclei image that way, and 0.83 IoU with the stretch).
    public init(normalizing image: AnyGrayImage) {
        switch image {
        case .uint8(let gray):
            self.init(unchecked: gray.width, gray.height, Self.converted(gray.pixels, Normalization.eightBit))
        case .uint16(let gray):
            self.init(unchecked: gray.width, gray.height, Self.converted(gray.pixels, Normalization.stretch(gray.pixels)))
        case .float32(let gray):
            self.init(unchecked: gray.width, gray.height, Self.converted(gray.pixels, Normalization.stretch(gray.pixels)))
        }
    }

    /// `ProbabilityMap(normalizing: image).resized(width:height:)`, the same values bit for bit, without the
    /// full-size float copy of the image: only the rows the interpolation reads are normalised (512 of a 2900-row
    /// image going to a 256×256 model input).
    public init(normalizing image: AnyGrayImage, resizedTo newWidth: Int, height newHeight: Int) {
        precondition(newWidth > 0 && newHeight > 0, "a map needs a positive size")
        let (width, height) = (image.width, image.height)
        guard Self.interpolates(from: (width, height), to: (newWidth, newHeight)) else {
            self = ProbabilityMap(normalizing: image).resized(width: newWidth, height: newHeight)
            return
        }
        let values: [Float]
        switch image {
        case .uint8(let gray):
            values = Self.interpolated(gray.pixels, width, height, to: newWidth, newHeight, Normalization.eightBit)
        case .uint16(let gray):
            values = Self.interpolated(gray.pixels, width, height, to: newWidth, newHeight, Normalization.stretch(gray.pixels))
        case .float32(let gray):
            values = Self.interpolated(gray.pixels, width, height, to: newWidth, newHeight, Normalization.stretch(gray.pixels))
        }
        self.init(unchecked: newWidth, newHeight, values)
    }

    /// How samples become 0…1 (one expression per kind, shared by the full and the resizing conversions so that
    /// both give the same floats).
    enum Normalization {
        /// 8-bit samples over 255.
        static func eightBit(_ sample: UInt8) -> Float { Float(sample) * (1 / Float(255)) }

        /// From the darkest to the brightest finite sample; non-finite samples become 0.
        static func stretch<Sample: NormalizableSample>(_ samples: [Sample]) -> (Sample) -> Float {
            var low = Float.infinity
            var high = -Float.infinity
            for sample in samples {
                let v = sample.floatValue
                guard v.isFinite else { continue }
                low = min(low, v)
                high = max(high, v)
            }
            let span = high > low ? high - low : 1
            let base = low.isFinite ? low : 0
            return { sample in
                let v = sample.floatValue
                return v.isFinite ? (v - base) / span : 0
            }
        }
    }

    init(unchecked width: Int, _ height: Int, _ values: [Float]) {
        self.width = width
        self.height = height
        self.values = values
    }

    private static func converted<Sample>(_ samples: [Sample], _ value: (Sample) -> Float) -> [Float] {
        samples.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: src.count) { out, count in
                for i in 0..<src.count { out[i] = value(src[i]) }
                count = src.count
            }
        }
    }

    // MARK: Resize

    /// The map resized with bilinear interpolation as `cv2.resize(…, INTER_LINEAR)` computes it for float32 in the
    /// OpenCV wheels the previous system used (whose Intel IPP code does float32 linear resizes), bit for bit.
    ///
    /// - The same size is a copy.
    /// - Exactly half the size both ways is the mean of each 2×2 block, `((a + b) + (c + d)) · 0.25` in float (OpenCV
    ///   takes its area path there).
    /// - Otherwise rows are interpolated first, then columns. An output column `d` samples the source coordinate
    ///   `x = (d + 0.5) · (w / W) − 0.5` (in double); its two neighbours `⌊x⌋` and `⌊x⌋ + 1` are clamped to the edge,
    ///   and the value is `a + (b − a) · t` with `t = x − ⌊x⌋` in float and one rounding for the product and sum
    ///   (a fused multiply-add). No antialiasing when shrinking.
    ///
    /// `scripts/fixtures/reference/postprocess.py` states how this was verified against OpenCV.
    public func resized(width newWidth: Int, height newHeight: Int) -> ProbabilityMap {
        precondition(newWidth > 0 && newHeight > 0, "a map needs a positive size")
        if newWidth == width && newHeight == height { return self }
        if width == 2 * newWidth && height == 2 * newHeight { return halved() }
        let out = Self.interpolated(values, width, height, to: newWidth, newHeight) { $0 }
        return ProbabilityMap(unchecked: newWidth, newHeight, out)
    }

    /// Whether a resize from `source` to `destination` takes the interpolation path (neither a copy nor a 2×2 mean).
    static func interpolates(from source: (Int, Int), to destination: (Int, Int)) -> Bool {
        source != destination && !(source.0 == 2 * destination.0 && source.1 == 2 * destination.1)
    }

    /// The interpolation path of ``resized(width:height:)`` over any samples (`value` turns one into a float).
    private static func interpolated<Sample>(
        _ samples: [Sample], _ width: Int, _ height: Int, to newWidth: Int, _ newHeight: Int, _ value: (Sample) -> Float
    ) -> [Float] {
        let rows = HorizontalPass(samples, width, height, to: newWidth, newHeight, value)
        return [Float](unsafeUninitializedCapacity: newWidth * newHeight) { dst, count in
            rows.vertical { dy, first, second, t in
                let o = dy * newWidth
                for dx in 0..<newWidth {
                    let a = first[dx]
                    dst[o + dx] = a.addingProduct(second[dx] - a, t)
                }
            }
            count = newWidth * newHeight
        }
    }

    /// The first pass of a resize: each source row the second pass reads, interpolated along x.
    struct HorizontalPass {
        let width: Int
        let ys: Taps
        /// The interpolated rows, `width` values each.
        var rows: [Float]
        /// For each source row, its place in `rows` (−1: not needed).
        var slot: [Int]

        init<Sample>(_ samples: [Sample], _ sourceWidth: Int, _ sourceHeight: Int, to width: Int, _ height: Int, _ value: (Sample) -> Float) {
            let xs = Taps(source: sourceWidth, destination: width)
            ys = Taps(source: sourceHeight, destination: height)
            self.width = width
            var slot = [Int](repeating: -1, count: sourceHeight)
            var needed = 0
            for y in ys.first + ys.second where slot[y] < 0 {
                slot[y] = 0
                needed += 1
            }
            var next = 0
            for y in 0..<sourceHeight where slot[y] == 0 {
                slot[y] = next
                next += 1
            }
            self.slot = slot
            rows = [Float](unsafeUninitializedCapacity: needed * width) { mid, count in
                samples.withUnsafeBufferPointer { src in
                    xs.withBuffers { x0, x1, tx in
                        for y in 0..<sourceHeight where slot[y] >= 0 {
                            let s = y * sourceWidth
                            let m = slot[y] * width
                            for dx in 0..<width {
                                let a = value(src[s + x0[dx]])
                                mid[m + dx] = a.addingProduct(value(src[s + x1[dx]]) - a, tx[dx])
                            }
                        }
                    }
                }
                count = needed * width
            }
        }

        /// Calls `body` for each destination row with the two interpolated rows it lies between and its fraction.
        func vertical(_ body: (_ row: Int, _ first: UnsafeBufferPointer<Float>, _ second: UnsafeBufferPointer<Float>, _ t: Float) -> Void) {
            rows.withUnsafeBufferPointer { mid in
                ys.withBuffers { y0, y1, ty in
                    for dy in 0..<y0.count {
                        let first = UnsafeBufferPointer(rebasing: mid[(slot[y0[dy]] * width)..<(slot[y0[dy]] * width + width)])
                        let second = UnsafeBufferPointer(rebasing: mid[(slot[y1[dy]] * width)..<(slot[y1[dy]] * width + width)])
                        body(dy, first, second, ty[dy])
                    }
                }
            }
        }
    }

    /// The mean of each 2×2 block, summed as OpenCV does.
    private func halved() -> ProbabilityMap {
        let w = width / 2
        let h = height / 2
        var out = [Float](repeating: 0, count: w * h)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    let top = 2 * y * width
                    let bottom = top + width
                    for x in 0..<w {
                        let (a, b) = (src[top + 2 * x], src[top + 2 * x + 1])
                        let (c, d) = (src[bottom + 2 * x], src[bottom + 2 * x + 1])
                        dst[y * w + x] = ((a + b) + (c + d)) * 0.25
                    }
                }
            }
        }
        return ProbabilityMap(unchecked: w, h, out)
    }

    /// For each destination coordinate: the two source neighbours (clamped) and the fraction between them.
    struct Taps {
        var first: [Int]
        var second: [Int]
        var fraction: [Float]

        /// The taps of a resize from `source` samples to `destination` samples.
        init(source: Int, destination: Int) {
            let scale = Double(source) / Double(destination)
            first = []
            second = []
            fraction = []
            first.reserveCapacity(destination)
            second.reserveCapacity(destination)
            fraction.reserveCapacity(destination)
            for d in 0..<destination {
                let x = (Double(d) + 0.5) * scale - 0.5
                let x0 = x.rounded(.down)
                let i = Int(x0)
                first.append(min(max(i, 0), source - 1))
                second.append(min(max(i + 1, 0), source - 1))
                fraction.append(Float(x - x0))
            }
        }

        func withBuffers<R>(_ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Float>) -> R) -> R {
            first.withUnsafeBufferPointer { a in
                second.withUnsafeBufferPointer { b in fraction.withUnsafeBufferPointer { t in body(a, b, t) } }
            }
        }
    }

    // MARK: Pad and crop

    /// The map extended at the right and bottom to `newWidth` × `newHeight` by repeating its last column and row (as
    /// OpenCV's `BORDER_REPLICATE`): a model that needs sides in multiples of 16 gets no artificial edge.
    public func padded(toWidth newWidth: Int, height newHeight: Int) -> ProbabilityMap {
        precondition(newWidth >= width && newHeight >= height, "padding cannot shrink a map")
        if newWidth == width && newHeight == height { return self }
        var out = [Float](repeating: 0, count: newWidth * newHeight)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    let s = min(y, height - 1) * width
                    let d = y * newWidth
                    for x in 0..<width { dst[d + x] = src[s + x] }
                    let last = src[s + width - 1]
                    for x in width..<newWidth { dst[d + x] = last }
                }
            }
        }
        return ProbabilityMap(unchecked: newWidth, newHeight, out)
    }

    /// The top-left `newWidth` × `newHeight` of the map (at most its own size): what undoes ``padded(toWidth:height:)``.
    public func cropped(width newWidth: Int, height newHeight: Int) -> ProbabilityMap {
        let w = max(1, min(newWidth, width))
        let h = max(1, min(newHeight, height))
        if w == width && h == height { return self }
        var out = [Float](repeating: 0, count: w * h)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w { dst[y * w + x] = src[y * width + x] }
                }
            }
        }
        return ProbabilityMap(unchecked: w, h, out)
    }

    // MARK: Threshold

    /// Foreground where the value is strictly greater than `threshold`, compared in float as NumPy's `map > 0.3` and
    /// `cv2.threshold` do (`Float(0.3)` is a little above 0.3, so a comparison in double would differ).
    public func mask(above threshold: Double) -> BinaryMask {
        var mask = BinaryMask(width: width, height: height)
        let limit = Float(threshold)
        values.withUnsafeBufferPointer { src in
            mask.pixels.withUnsafeMutableBufferPointer { out in
                for i in 0..<src.count where src[i] > limit { out[i] = 255 }
            }
        }
        return mask
    }

    /// `resized(width:height:).mask(above:)`, the same pixels, without the full-size float map: each interpolated
    /// value is compared as it is made.
    ///
    /// The fused multiply-add of the interpolation, `a + d · t` rounded once to float, is decided in double instead:
    /// `d · t` is exact there and the sum is rounded once, to `r`. The float result is above the float threshold `T`
    /// exactly when the exact sum is above the midpoint `m` between `T` and the next float, so `r > m` and `r < m`
    /// decide; only a row with some `r == m` (where float rounds ties to even) computes the float values themselves.
    public func mask(resizedTo newWidth: Int, height newHeight: Int, above threshold: Double) -> BinaryMask {
        precondition(newWidth > 0 && newHeight > 0, "a map needs a positive size")
        guard Self.interpolates(from: (width, height), to: (newWidth, newHeight)) else {
            return resized(width: newWidth, height: newHeight).mask(above: threshold)
        }
        let limit = Float(threshold)
        let midpoint = (Double(limit) + Double(limit.nextUp)) / 2
        let rows = HorizontalPass(values, width, height, to: newWidth, newHeight) { $0 }
        var mask = BinaryMask(width: newWidth, height: newHeight)
        mask.pixels.withUnsafeMutableBufferPointer { out in
            rows.vertical { dy, first, second, t in
                guard let row = out.baseAddress.map({ $0 + dy &* newWidth }), let a = first.baseAddress, let b = second.baseAddress
                else { return }
                let wide = Double(t)
                // No call and no branch per pixel (x86-64's baseline has no FMA instruction: the float form calls libm's
                // `fmaf`); a row with a tie is done again exactly.
                var ties: UInt8 = 0
                for dx in 0..<newWidth {
                    let r = Double(a[dx]) + Double(b[dx] - a[dx]) * wide
                    row[dx] = r > midpoint ? 255 : 0
                    ties |= r == midpoint ? 1 : 0
                }
                guard ties != 0 else { return }
                for dx in 0..<newWidth {
                    row[dx] = a[dx].addingProduct(b[dx] - a[dx], t) > limit ? 255 : 0
                }
            }
        }
        return mask
    }
}

/// Samples that are stretched to 0…1 by their range (16-bit and float images).
protocol NormalizableSample {
    var floatValue: Float { get }
}

extension UInt16: NormalizableSample {
    var floatValue: Float { Float(self) }
}

extension Float: NormalizableSample {
    var floatValue: Float { self }
}
