/// The per-pixel correction `flat = smoothed · gain + offset` derived from a ``BackgroundModel``,
/// bilinearly interpolated between block centres one row at a time (nothing per pixel but a
/// multiply-add).
struct FlatteningMap {
    let width: Int
    let height: Int
    let model: BackgroundModel
    /// Gain and offset at every block centre.
    private var gains: [Float]
    private var offsets: [Float]
    /// For each column: the block column to its left (or its own at the edges) and the weight of the next one.
    private var columnBlock: [Int]
    private var columnWeight: [Float]

    init(model: BackgroundModel, correction: SegmenterParameters.BackgroundCorrection, width: Int, height: Int) {
        self.width = width
        self.height = height
        self.model = model
        let level = model.level
        // A floor keeps dark, near-zero backgrounds (fluorescence) from exploding when divided.
        let floor = max(1, 0.05 * level)
        gains = model.values.map { bg in
            switch correction {
            case .divide: Float(level / max(bg, floor))
            case .subtract, .none: 1
            }
        }
        offsets = model.values.map { bg in
            switch correction {
            case .subtract: Float(level - bg) + 0.5
            case .divide, .none: 0.5  // rounds to nearest when truncated
            }
        }
        let gw = model.gridWidth
        columnBlock = [Int](repeating: 0, count: width)
        columnWeight = [Float](repeating: 0, count: width)
        var j = 0
        for x in 0..<width {
            while j + 1 < gw, BackgroundModel.centre(j + 1, model.blockSize, width) <= Double(x) { j += 1 }
            let c0 = BackgroundModel.centre(j, model.blockSize, width)
            if j + 1 < gw, Double(x) > c0 {
                let c1 = BackgroundModel.centre(j + 1, model.blockSize, width)
                columnBlock[x] = j
                columnWeight[x] = Float((Double(x) - c0) / (c1 - c0))
            } else {
                columnBlock[x] = min(j, gw - 1)
                columnWeight[x] = 0
            }
        }
    }

    /// The range the flattened values of samples in `low...high` can take (interpolation stays
    /// within the block centres' gains and offsets).
    func flattenedRange(low: Int, high: Int) -> (low: Int, high: Int) {
        let g0 = Double(gains.min() ?? 1)
        let g1 = Double(gains.max() ?? 1)
        let o0 = Double(offsets.min() ?? 0)
        let o1 = Double(offsets.max() ?? 0)
        let candidates = [Double(low) * g0, Double(low) * g1, Double(high) * g0, Double(high) * g1]
        let lo = (candidates.min() ?? 0) + o0
        let hi = (candidates.max() ?? 0) + o1
        return (Int(lo.rounded(.down)), Int(hi.rounded(.up)))
    }

    /// Gain and offset along block row `i`, interpolated to every column.
    private func blockRow(_ i: Int, gain: inout [Float], offset: inout [Float]) {
        let gw = model.gridWidth
        for x in 0..<width {
            let j = columnBlock[x]
            let t = columnWeight[x]
            let k = i * gw + j
            let k1 = j + 1 < gw ? k + 1 : k
            gain[x] = gains[k] + t * (gains[k1] - gains[k])
            offset[x] = offsets[k] + t * (offsets[k1] - offsets[k])
        }
    }

    /// The corrections along the block row above one image row, their steps to the block row
    /// below, and the weight `t` of the one below: `gain = top + t · step`, likewise the offset.
    struct RowCorrection {
        let t: Float
        let topGain: UnsafePointer<Float>
        let gainStep: UnsafePointer<Float>
        let topOffset: UnsafePointer<Float>
        let offsetStep: UnsafePointer<Float>
    }

    /// Calls `body(y, correction)` for every `rowStep`-th row, in increasing `y`, without
    /// interpolating between the block rows (the body does, fused with its own work).
    func forEachRowCorrection(step rowStep: Int = 1, _ body: (Int, RowCorrection) -> Void) {
        let gh = model.gridHeight
        let b = model.blockSize
        var topGain = [Float](repeating: 0, count: width)
        var topOffset = topGain
        var bottomGain = topGain
        var bottomOffset = topGain
        var gainStep = topGain
        var offsetStep = topGain
        var loaded = -1
        var i = 0  // the last block row whose centre is at or above y (or the first)
        var y = 0
        while y < height {
            while i + 1 < gh, BackgroundModel.centre(i + 1, b, height) <= Double(y) { i += 1 }
            if loaded != i {
                if loaded >= 0, min(loaded + 1, gh - 1) == i {
                    // the block row below becomes the one above
                    swap(&topGain, &bottomGain)
                    swap(&topOffset, &bottomOffset)
                } else {
                    blockRow(i, gain: &topGain, offset: &topOffset)
                }
                blockRow(min(i + 1, gh - 1), gain: &bottomGain, offset: &bottomOffset)
                for x in 0..<width {
                    gainStep[x] = bottomGain[x] - topGain[x]
                    offsetStep[x] = bottomOffset[x] - topOffset[x]
                }
                loaded = i
            }
            let c0 = BackgroundModel.centre(i, b, height)
            let c1 = BackgroundModel.centre(min(i + 1, gh - 1), b, height)
            let t = c1 > c0 ? Float(min(1, max(0, (Double(y) - c0) / (c1 - c0)))) : 0
            topGain.withUnsafeBufferPointer { tg in
                gainStep.withUnsafeBufferPointer { gs in
                    topOffset.withUnsafeBufferPointer { to in
                        offsetStep.withUnsafeBufferPointer { os in
                            guard let tg = tg.baseAddress, let gs = gs.baseAddress, let to = to.baseAddress, let os = os.baseAddress
                            else { return }
                            body(y, RowCorrection(t: t, topGain: tg, gainStep: gs, topOffset: to, offsetStep: os))
                        }
                    }
                }
            }
            y += rowStep
        }
    }

    /// Calls `body(y, gain, offset)` for every `rowStep`-th row with that row's interpolated
    /// correction, in increasing `y`.
    func forEachRow(step rowStep: Int = 1, _ body: (Int, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Void) {
        var gain = [Float](repeating: 0, count: width)
        var offset = gain
        gain.withUnsafeMutableBufferPointer { g in
            offset.withUnsafeMutableBufferPointer { o in
                forEachRowCorrection(step: rowStep) { y, c in
                    for x in 0..<width {
                        g[x] = c.topGain[x] + c.t * c.gainStep[x]
                        o[x] = c.topOffset[x] + c.t * c.offsetStep[x]
                    }
                    body(y, UnsafeBufferPointer(g), UnsafeBufferPointer(o))
                }
            }
        }
    }

    /// The block row above image row `y` (or the first), the one below, and the weight of the one below.
    private func rowWeight(_ y: Int) -> (top: Int, bottom: Int, t: Float) {
        let gh = model.gridHeight
        let b = model.blockSize
        var i = 0
        while i + 1 < gh, BackgroundModel.centre(i + 1, b, height) <= Double(y) { i += 1 }
        let c0 = BackgroundModel.centre(i, b, height)
        let c1 = BackgroundModel.centre(min(i + 1, gh - 1), b, height)
        let t = c1 > c0 ? Float(min(1, max(0, (Double(y) - c0) / (c1 - c0)))) : 0
        return (i, min(i + 1, gh - 1), t)
    }

    /// The gain and offset at column `x` between block rows `top` and `bottom` (weight `t` of the
    /// one below): the bilinear correction, for single pixels.
    @inline(__always) private func correction(_ x: Int, _ top: Int, _ bottom: Int, _ t: Float) -> (gain: Float, offset: Float) {
        let gw = model.gridWidth
        let j = columnBlock[x]
        let tx = columnWeight[x]
        let j1 = j + 1 < gw ? j + 1 : j
        let g0 = gains[top * gw + j] + tx * (gains[top * gw + j1] - gains[top * gw + j])
        let g1 = gains[bottom * gw + j] + tx * (gains[bottom * gw + j1] - gains[bottom * gw + j])
        let o0 = offsets[top * gw + j] + tx * (offsets[top * gw + j1] - offsets[top * gw + j])
        let o1 = offsets[bottom * gw + j] + tx * (offsets[bottom * gw + j1] - offsets[bottom * gw + j])
        return (g0 + t * (g1 - g0), o0 + t * (o1 - o0))
    }

    /// Writes the flattened values of the `w`×`h` window at (`x0`, `y0`) to `out` (rows of `stride`
    /// floats): the same bilinear correction as the whole-image passes, for the declumping step.
    func flattened<S: FixedWidthInteger & UnsignedInteger>(
        _ smoothed: UnsafePointer<S>, x0: Int, y0: Int, w: Int, h: Int, into out: UnsafeMutablePointer<Float>, stride: Int
    ) {
        for r in 0..<h {
            let y = y0 + r
            let (top, bottom, t) = rowWeight(y)
            let row = smoothed + y * width
            let dst = out + r * stride
            for c in 0..<w {
                let (gain, offset) = correction(x0 + c, top, bottom, t)
                dst[c] = Float(row[x0 + c]) * gain + offset
            }
        }
    }

    /// The flattened values at the centres of `step`×`step` cells (`columns`×`rows` of them, the
    /// last ones clamped to the image), row by row: the reduced image the declumping step uses for
    /// large objects.
    func flattenedSamples<S: FixedWidthInteger & UnsignedInteger>(
        _ smoothed: UnsafePointer<S>, step: Int, columns: Int, rows: Int
    ) -> [Float] {
        var out = [Float](repeating: 0, count: columns * rows)
        for r in 0..<rows {
            let y = min(height - 1, r * step + step / 2)
            let (top, bottom, t) = rowWeight(y)
            let row = smoothed + y * width
            for c in 0..<columns {
                let x = min(width - 1, c * step + step / 2)
                let (gain, offset) = correction(x, top, bottom, t)
                out[r * columns + c] = Float(row[x]) * gain + offset
            }
        }
        return out
    }

    /// Histogram of the flattened values (clamped to the scale's range, binned by it) on every
    /// `rowStep`-th row and, on every `gradientStep`-th of those rows, a second histogram with each
    /// bin's summed gradient magnitude (central differences, scaled by the gain, in 1/256 working
    /// levels): the edge strength ``ThresholdSelector/edgeLevel(_:_:level:dark:)`` uses.
    ///
    /// Neighbouring pixels mostly share a bin, so four interleaved partial histograms (merged at
    /// the end; integer sums, so the order does not matter) keep each increment from waiting for
    /// the previous one.
    func histogram<S: FixedWidthInteger & UnsignedInteger>(
        of smoothed: [S], scale: HistogramScale, rowStep: Int, gradientStep: Int
    ) -> (counts: [Int], gradientCounts: [Int], gradients: [Int]) {
        if scale == .eightBit {
            return histogram(of: smoothed, binner: EightBitBins(), bins: 256, rowStep: rowStep, gradientStep: gradientStep)
        }
        return histogram(of: smoothed, binner: ScaledBins(scale), bins: scale.bins, rowStep: rowStep, gradientStep: gradientStep)
    }

    /// ``histogram(of:scale:rowStep:gradientStep:)`` with the binning specialised (8-bit images
    /// take the plain clamp, whose loop is a third faster).
    private func histogram<S: FixedWidthInteger & UnsignedInteger, B: HistogramBinner>(
        of smoothed: [S], binner: B, bins: Int, rowStep: Int, gradientStep: Int
    ) -> (counts: [Int], gradientCounts: [Int], gradients: [Int]) {
        var partial = [Int](repeating: 0, count: 4 * 3 * bins)
        let w = width
        smoothed.withUnsafeBufferPointer { src in
            partial.withUnsafeMutableBufferPointer { part in
                guard let s = src.baseAddress, let p = part.baseAddress else { return }
                let hist = p
                let gcount = p + 4 * bins
                let grad = p + 8 * bins
                var sampled = 0
                forEachRow(step: rowStep) { y, gain, offset in
                    let row = s + y * w
                    defer { sampled += 1 }
                    guard sampled % gradientStep == 0 else {
                        for x in 0..<w { hist[(x & 3) &* bins &+ binner.bin(Float(row[x]) * gain[x] + offset[x])] &+= 1 }
                        return
                    }
                    let above = s + max(y - 1, 0) * w
                    let below = s + min(y + 1, height - 1) * w
                    for x in 0..<w {
                        let bin = (x & 3) &* bins &+ binner.bin(Float(row[x]) * gain[x] + offset[x])
                        hist[bin] &+= 1
                        gcount[bin] &+= 1
                        let gx = Float(row[min(x + 1, w - 1)]) - Float(row[max(x - 1, 0)])
                        let gy = Float(below[x]) - Float(above[x])
                        grad[bin] &+= Int(256 * gain[x] * (gx * gx + gy * gy).squareRoot())
                    }
                }
            }
        }
        func merged(_ first: Int) -> [Int] {
            (0..<bins).map { v in
                partial[first + v] + partial[first + bins + v] + partial[first + 2 * bins + v] + partial[first + 3 * bins + v]
            }
        }
        return (merged(0), merged(4 * bins), merged(8 * bins))
    }

    /// The foreground of the flattened image: `⌊flat⌋ ≤ threshold` for dark objects, `⌊flat⌋ > threshold`
    /// for bright ones (threshold in working levels).
    func threshold<S: FixedWidthInteger & UnsignedInteger>(_ smoothed: [S], at threshold: Int, dark: Bool) -> BitPlane {
        // every word is written below (bits past the width from the zeroed flags' tail)
        var plane = BitPlane(uninitializedWidth: width, height: height)
        let n = plane.wordsPerRow
        // flat = ⌊v⌋ ≤ t ⟺ v < t + 1 (v ≥ 0 or not, the comparison is the same).
        let limit = Float(threshold + 1)
        var flags = [UInt8](repeating: 0, count: n * 64)
        smoothed.withUnsafeBufferPointer { src in
            plane.words.withUnsafeMutableBytes { dst in
                flags.withUnsafeMutableBufferPointer { f in
                    guard let s = src.baseAddress, let d = dst.baseAddress, let fl = f.baseAddress else { return }
                    forEachRowCorrection { y, c in
                        let row = s + y * width
                        let t = c.t
                        let tg = c.topGain
                        let gs = c.gainStep
                        let to = c.topOffset
                        let os = c.offsetStep
                        // The same arithmetic as forEachRow's interpolation, fused into one pass.
                        if dark {
                            for x in 0..<width {
                                let g = tg[x] + t * gs[x]
                                let o = to[x] + t * os[x]
                                fl[x] = Float(row[x]) * g + o < limit ? 1 : 0
                            }
                        } else {
                            for x in 0..<width {
                                let g = tg[x] + t * gs[x]
                                let o = to[x] + t * os[x]
                                fl[x] = Float(row[x]) * g + o >= limit ? 1 : 0
                            }
                        }
                        // Pack 8 flag bytes into 8 bits: the multiply gathers byte k's low bit into bit 56 + k.
                        let out = d + y * n * 8
                        let raw = UnsafeRawPointer(fl)
                        for k in 0..<(n * 8) {
                            let eight = raw.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self)
                            out.storeBytes(of: UInt8(truncatingIfNeeded: (eight &* 0x0102_0408_1020_4080) >> 56), toByteOffset: k, as: UInt8.self)
                        }
                    }
                }
            }
        }
        return plane
    }
}

/// Turns a flattened value into its histogram bin.
protocol HistogramBinner {
    func bin(_ flat: Float) -> Int
}

/// 8-bit images: one bin per level, values clamped to 0–255.
struct EightBitBins: HistogramBinner {
    @inline(__always) func bin(_ flat: Float) -> Int { Int(min(255, max(0, flat))) }
}

/// Deeper images: the bins of a ``HistogramScale``.
struct ScaledBins: HistogramBinner {
    let low: Float
    let high: Float
    let lowLevel: Int
    let shift: Int

    init(_ scale: HistogramScale) {
        low = Float(scale.low)
        high = Float(scale.high)
        lowLevel = scale.low
        shift = scale.shift
    }

    @inline(__always) func bin(_ flat: Float) -> Int { (Int(min(high, max(low, flat))) &- lowLevel) >> shift }
}

/// How working levels (integers) fall into histogram bins: `bins` bins of `2^shift` levels each,
/// the first starting at `low`. 8-bit images use 256 bins of one level; 16-bit ones at most 4096
/// bins over the range their smoothed samples actually span.
struct HistogramScale: Equatable {
    let low: Int
    let shift: Int
    let bins: Int

    /// The last level of the last bin.
    var high: Int { low + (bins << shift) - 1 }

    static let eightBit = HistogramScale(low: 0, shift: 0, bins: 256)

    /// At most `maxBins` bins of a power-of-two width covering `low...high`.
    static func covering(low: Int, high: Int, maxBins: Int = 4096) -> HistogramScale {
        let span = max(0, high - low) + 1
        var shift = 0
        while (span + (1 << shift) - 1) >> shift > maxBins { shift += 1 }
        return HistogramScale(low: low, shift: shift, bins: (span + (1 << shift) - 1) >> shift)
    }

    /// The last working level of bin `b`: objects of a threshold at bin `b` are `⌊flat⌋ ≤` it (dark) or `>` it (bright).
    func level(ofBin b: Int) -> Int { low + ((b + 1) << shift) - 1 }

    /// The bin of working level `v` (clamped).
    func bin(ofLevel v: Double) -> Int { min(bins - 1, max(0, (Int(v.rounded(.down)) - low) >> shift)) }
}
