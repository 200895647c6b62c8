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
        case .uint8(let gray): self.init(unchecked: gray.width, gray.height, Self.scaled(gray.pixels, by: 255))
        case .uint16(let gray): self.init(unchecked: gray.width, gray.height, Self.stretched(gray.pixels.map(Float.init)))
        case .float32(let gray): self.init(unchecked: gray.width, gray.height, Self.stretched(gray.pixels))
        }
    }

    private static func stretched(_ samples: [Float]) -> [Float] {
        var low = Float.infinity
        var high = -Float.infinity
        for v in samples where v.isFinite {
            low = min(low, v)
            high = max(high, v)
        }
        let span = high > low ? high - low : 1
        let base = low.isFinite ? low : 0
        return samples.map { $0.isFinite ? ($0 - base) / span : 0 }
    }

    init(unchecked width: Int, _ height: Int, _ values: [Float]) {
        self.width = width
        self.height = height
        self.values = values
    }

    private static func scaled<Sample: BinaryInteger>(_ samples: [Sample], by maximum: Float) -> [Float] {
        let inverse = 1 / maximum
        return samples.withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: src.count) { out, count in
                for i in 0..<src.count { out[i] = Float(src[i]) * inverse }
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
        let xs = Self.taps(source: width, destination: newWidth)
        let ys = Self.taps(source: height, destination: newHeight)
        // Horizontal pass over every source row, then the vertical pass over those rows.
        var rows = [Float](repeating: 0, count: newWidth * height)
        var out = [Float](repeating: 0, count: newWidth * newHeight)
        values.withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { mid in
                xs.withBuffers { x0, x1, tx in
                    for y in 0..<height {
                        let s = y * width
                        let m = y * newWidth
                        for dx in 0..<newWidth {
                            let a = src[s + x0[dx]]
                            mid[m + dx] = a.addingProduct(src[s + x1[dx]] - a, tx[dx])
                        }
                    }
                }
            }
        }
        rows.withUnsafeBufferPointer { mid in
            out.withUnsafeMutableBufferPointer { dst in
                ys.withBuffers { y0, y1, ty in
                    for dy in 0..<newHeight {
                        let r0 = y0[dy] * newWidth
                        let r1 = y1[dy] * newWidth
                        let t = ty[dy]
                        let o = dy * newWidth
                        for dx in 0..<newWidth {
                            let a = mid[r0 + dx]
                            dst[o + dx] = a.addingProduct(mid[r1 + dx] - a, t)
                        }
                    }
                }
            }
        }
        return ProbabilityMap(unchecked: newWidth, newHeight, out)
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

        func withBuffers<R>(_ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Float>) -> R) -> R {
            first.withUnsafeBufferPointer { a in
                second.withUnsafeBufferPointer { b in fraction.withUnsafeBufferPointer { t in body(a, b, t) } }
            }
        }
    }

    static func taps(source: Int, destination: Int) -> Taps {
        let scale = Double(source) / Double(destination)
        var taps = Taps(first: [], second: [], fraction: [])
        taps.first.reserveCapacity(destination)
        taps.second.reserveCapacity(destination)
        taps.fraction.reserveCapacity(destination)
        for d in 0..<destination {
            let x = (Double(d) + 0.5) * scale - 0.5
            let x0 = x.rounded(.down)
            let i = Int(x0)
            taps.first.append(min(max(i, 0), source - 1))
            taps.second.append(min(max(i + 1, 0), source - 1))
            taps.fraction.append(Float(x - x0))
        }
        return taps
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
}
