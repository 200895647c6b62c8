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

    /// Calls `body(y, gain, offset)` for every `rowStep`-th row with that row's interpolated
    /// correction, in increasing `y`.
    func forEachRow(step rowStep: Int = 1, _ body: (Int, UnsafeBufferPointer<Float>, UnsafeBufferPointer<Float>) -> Void) {
        let gh = model.gridHeight
        let b = model.blockSize
        var topGain = [Float](repeating: 0, count: width)
        var topOffset = topGain
        var bottomGain = topGain
        var bottomOffset = topGain
        var gain = topGain
        var offset = topGain
        var loaded = -1
        var i = 0  // the last block row whose centre is at or above y (or the first)
        var y = 0
        while y < height {
            while i + 1 < gh, BackgroundModel.centre(i + 1, b, height) <= Double(y) { i += 1 }
            if loaded != i {
                blockRow(i, gain: &topGain, offset: &topOffset)
                blockRow(min(i + 1, gh - 1), gain: &bottomGain, offset: &bottomOffset)
                loaded = i
            }
            let c0 = BackgroundModel.centre(i, b, height)
            let c1 = BackgroundModel.centre(min(i + 1, gh - 1), b, height)
            let t = c1 > c0 ? Float(min(1, max(0, (Double(y) - c0) / (c1 - c0)))) : 0
            topGain.withUnsafeBufferPointer { tg in
                bottomGain.withUnsafeBufferPointer { bg in
                    topOffset.withUnsafeBufferPointer { to in
                        bottomOffset.withUnsafeBufferPointer { bo in
                            gain.withUnsafeMutableBufferPointer { g in
                                offset.withUnsafeMutableBufferPointer { o in
                                    for x in 0..<width {
                                        g[x] = tg[x] + t * (bg[x] - tg[x])
                                        o[x] = to[x] + t * (bo[x] - to[x])
                                    }
                                    body(y, UnsafeBufferPointer(g), UnsafeBufferPointer(o))
                                }
                            }
                        }
                    }
                }
            }
            y += rowStep
        }
    }

    /// Histogram of the flattened values (clamped to 0–255) on every `rowStep`-th row and, on
    /// every `gradientStep`-th of those rows, a second histogram with each level's summed gradient
    /// magnitude (central differences, scaled by the gain): the edge strength
    /// ``ThresholdSelector/edgeLevel(_:_:level:dark:)`` uses.
    func histogram(
        of smoothed: [UInt8], rowStep: Int, gradientStep: Int
    ) -> (counts: [Int], gradientCounts: [Int], gradients: [Double]) {
        var histogram = [Int](repeating: 0, count: 256)
        var gradientCounts = [Int](repeating: 0, count: 256)
        var gradients = [Double](repeating: 0, count: 256)
        let w = width
        smoothed.withUnsafeBufferPointer { src in
            histogram.withUnsafeMutableBufferPointer { h in
                gradientCounts.withUnsafeMutableBufferPointer { gc in
                    gradients.withUnsafeMutableBufferPointer { gr in
                        guard let s = src.baseAddress, let hist = h.baseAddress, let gcount = gc.baseAddress, let grad = gr.baseAddress
                        else { return }
                        var sampled = 0
                        forEachRow(step: rowStep) { y, gain, offset in
                            let row = s + y * w
                            defer { sampled += 1 }
                            guard sampled % gradientStep == 0 else {
                                for x in 0..<w { hist[Int(min(255, max(0, Float(row[x]) * gain[x] + offset[x])))] &+= 1 }
                                return
                            }
                            let above = s + max(y - 1, 0) * w
                            let below = s + min(y + 1, height - 1) * w
                            for x in 0..<w {
                                let bin = Int(min(255, max(0, Float(row[x]) * gain[x] + offset[x])))
                                hist[bin] &+= 1
                                gcount[bin] &+= 1
                                let gx = Float(row[min(x + 1, w - 1)]) - Float(row[max(x - 1, 0)])
                                let gy = Float(below[x]) - Float(above[x])
                                grad[bin] += Double(gain[x] * (gx * gx + gy * gy).squareRoot())
                            }
                        }
                    }
                }
            }
        }
        return (histogram, gradientCounts, gradients)
    }

    /// The foreground of the flattened image: `flat ≤ threshold` for dark objects, `flat > threshold` for bright ones.
    func threshold(_ smoothed: [UInt8], at threshold: Int, dark: Bool) -> BitPlane {
        var plane = BitPlane(width: width, height: height)
        let n = plane.wordsPerRow
        // flat = ⌊v⌋ ≤ t ⟺ v < t + 1 (v ≥ 0 or not, the comparison is the same).
        let limit = Float(threshold + 1)
        var flags = [UInt8](repeating: 0, count: n * 64)
        smoothed.withUnsafeBufferPointer { src in
            plane.words.withUnsafeMutableBytes { dst in
                flags.withUnsafeMutableBufferPointer { f in
                    guard let s = src.baseAddress, let d = dst.baseAddress, let fl = f.baseAddress else { return }
                    forEachRow { y, gain, offset in
                        let row = s + y * width
                        if dark {
                            for x in 0..<width { fl[x] = Float(row[x]) * gain[x] + offset[x] < limit ? 1 : 0 }
                        } else {
                            for x in 0..<width { fl[x] = Float(row[x]) * gain[x] + offset[x] >= limit ? 1 : 0 }
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
