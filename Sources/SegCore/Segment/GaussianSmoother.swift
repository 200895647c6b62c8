import Foundation

/// Separable Gaussian smoothing of 8- and 16-bit images in 8.8 fixed point, borders replicated.
///
/// Both passes are written as "accumulate a shifted row times a weight" loops over contiguous
/// memory so that the compiler vectorises them; nothing is allocated per pixel.
enum GaussianSmoother {
    /// Integer weights summing to exactly 256 for a kernel of radius ⌈3σ⌉ (at least 1).
    static func kernel(sigma: Double) -> [UInt16] {
        let radius = max(1, Int((3 * sigma).rounded(.up)))
        var real = [Double](repeating: 0, count: 2 * radius + 1)
        for i in -radius...radius { real[i + radius] = exp(-Double(i * i) / (2 * sigma * sigma)) }
        let total = real.reduce(0, +)
        var weights = real.map { UInt16(($0 / total * 256).rounded()) }
        let sum = weights.reduce(0) { $0 + Int($1) }
        weights[radius] = UInt16(Int(weights[radius]) + 256 - sum)  // exact unit gain
        // Drop tails of weight 0 or 1 (under 0.4 % each; their weight moves to the centre) so that
        // no tap is paid for that barely moves a sample.
        var cut = 0
        while cut < radius, weights[cut] <= 1 {
            weights[radius] += 2 * weights[cut]
            cut += 1
        }
        return Array(weights[cut..<(weights.count - cut)])
    }

    /// Smooths `source` (`width * height` samples) with a Gaussian of standard deviation `sigma`;
    /// `sigma == 0` copies.
    ///
    /// Each source row is widened to 16 bits once, into a ring of the rows the vertical kernel
    /// spans; the vertical pass writes its rounded results as 16-bit samples into a padded row
    /// that the horizontal pass reads as they are. Both passes keep sixteen outputs in registers
    /// while they add up every tap; the kernel is symmetric, so mirrored taps share one multiply
    /// (exact: totals stay ≤ 255·256).
    static func smooth(_ source: [UInt8], width: Int, height: Int, sigma: Double) -> [UInt8] {
        guard sigma > 0, width > 0, height > 0 else { return source }
        let weights = kernel(sigma: sigma)
        let taps = weights.count
        let radius = taps / 2
        if taps == 1 { return source }
        // Every sample is written below, so the output skips the zero fill.
        var output: [UInt8] = LargeBuffer.uninitialized(count: width * height)
        // Source rows widened to 16 bits: slot k % taps holds row k once loaded.
        var ring = [UInt16](repeating: 0, count: taps * width)
        var slotRow = [Int](repeating: -1, count: taps)
        // The vertically smoothed row, padded by `radius` replicated samples on each side.
        var padded = [UInt16](repeating: 0, count: width + 2 * radius)
        // For each tap pair, the ring offsets of the rows above and below the current one.
        var above = [Int](repeating: 0, count: radius)
        var below = [Int](repeating: 0, count: radius)
        source.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                ring.withUnsafeMutableBufferPointer { ringBuffer in
                    padded.withUnsafeMutableBufferPointer { pad in
                        weights.withUnsafeBufferPointer { k in
                            guard let s = src.baseAddress, let d = dst.baseAddress, let r = ringBuffer.baseAddress, let p = pad.baseAddress,
                                let kw = k.baseAddress
                            else { return }
                            /// The ring offset of source row `row` (clamped to the image), widening it on first use.
                            func slot(_ row: Int) -> Int {
                                let clamped = min(max(row, 0), height - 1)
                                let index = clamped % taps
                                if slotRow[index] != clamped {
                                    let from = s + clamped * width
                                    let to = r + index * width
                                    for x in 0..<width { to[x] = UInt16(truncatingIfNeeded: from[x]) }
                                    slotRow[index] = clamped
                                }
                                return index * width
                            }
                            let wc = kw[radius]
                            let mid = p + radius
                            for y in 0..<height {
                                let centre = slot(y)
                                for i in 0..<radius {
                                    above[i] = slot(y + i - radius)
                                    below[i] = slot(y + radius - i)
                                }
                                above.withUnsafeBufferPointer { up in
                                    below.withUnsafeBufferPointer { down in
                                        guard let up = up.baseAddress, let down = down.baseAddress else { return }
                                        verticalRow(r, centre, up, down, kw, wc, radius: radius, width: width, into: mid)
                                    }
                                }
                                for i in 0..<radius {
                                    p[i] = mid[0]
                                    mid[width + i] = mid[width - 1]
                                }
                                horizontalRow(p, kw, wc, radius: radius, width: width, into: d + y * width)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// One row of the vertical pass over widened rows: `out[x] = round(Σ w·row[x] / 256)`.
    @inline(__always)
    private static func verticalRow(
        _ ring: UnsafePointer<UInt16>, _ centre: Int, _ above: UnsafePointer<Int>, _ below: UnsafePointer<Int>,
        _ kw: UnsafePointer<UInt16>, _ wc: UInt16, radius: Int, width: Int, into out: UnsafeMutablePointer<UInt16>
    ) {
        let half = SIMD16<UInt16>(repeating: 128)
        let centreWeight = SIMD16<UInt16>(repeating: wc)
        var x = 0
        while x + 16 <= width {
            var acc = centreWeight &* UnsafeRawPointer(ring + centre + x).loadUnaligned(as: SIMD16<UInt16>.self)
            for i in 0..<radius {
                let f = UnsafeRawPointer(ring + above[i] + x).loadUnaligned(as: SIMD16<UInt16>.self)
                let g = UnsafeRawPointer(ring + below[i] + x).loadUnaligned(as: SIMD16<UInt16>.self)
                acc &+= SIMD16<UInt16>(repeating: kw[i]) &* (f &+ g)
            }
            UnsafeMutableRawPointer(out + x).storeBytes(of: (acc &+ half) &>> 8, as: SIMD16<UInt16>.self)
            x += 16
        }
        while x < width {
            var acc = wc &* ring[centre + x]
            for i in 0..<radius { acc &+= kw[i] &* (ring[above[i] + x] &+ ring[below[i] + x]) }
            out[x] = (acc &+ 128) >> 8
            x += 1
        }
    }

    /// One row of the horizontal pass over a 16-bit row padded by `radius` replicated samples on each side.
    @inline(__always)
    private static func horizontalRow(
        _ p: UnsafePointer<UInt16>, _ kw: UnsafePointer<UInt16>, _ wc: UInt16, radius: Int, width: Int, into out: UnsafeMutablePointer<UInt8>
    ) {
        let half = SIMD16<UInt16>(repeating: 128)
        let centreWeight = SIMD16<UInt16>(repeating: wc)
        let taps = 2 * radius + 1
        var x = 0
        while x + 16 <= width {
            var acc = centreWeight &* UnsafeRawPointer(p + radius + x).loadUnaligned(as: SIMD16<UInt16>.self)
            for i in 0..<radius {
                let f = UnsafeRawPointer(p + i + x).loadUnaligned(as: SIMD16<UInt16>.self)
                let g = UnsafeRawPointer(p + taps - 1 - i + x).loadUnaligned(as: SIMD16<UInt16>.self)
                acc &+= SIMD16<UInt16>(repeating: kw[i]) &* (f &+ g)
            }
            UnsafeMutableRawPointer(out + x).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: (acc &+ half) &>> 8), as: SIMD16<UInt8>.self)
            x += 16
        }
        while x < width {
            var acc = wc &* p[radius + x]
            for i in 0..<radius { acc &+= kw[i] &* (p[i + x] &+ p[taps - 1 - i + x]) }
            out[x] = UInt8(truncatingIfNeeded: (acc &+ 128) >> 8)
            x += 1
        }
    }

    /// Smooths 16-bit `source` the same way (weights summing to 256): the vertical pass reads the
    /// source rows the kernel spans and writes a padded 16-bit row, the horizontal pass reads that;
    /// both keep sixteen sums in registers over every tap, split into the samples' high and low
    /// bytes so that 16-bit lanes hold them exactly (`verticalRow16`).
    static func smooth(_ source: [UInt16], width: Int, height: Int, sigma: Double) -> [UInt16] {
        guard sigma > 0, width > 0, height > 0 else { return source }
        let weights = kernel(sigma: sigma)
        let taps = weights.count
        let radius = taps / 2
        if taps == 1 { return source }
        var output: [UInt16] = LargeBuffer.uninitialized(count: width * height)
        // Padded by 16 samples beyond the right border as well, so the last block may read past the row.
        var padded = [UInt16](repeating: 0, count: width + 2 * radius + 16)
        var rowOffsets = [Int](repeating: 0, count: 2 * radius)
        source.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                padded.withUnsafeMutableBufferPointer { pad in
                    rowOffsets.withUnsafeMutableBufferPointer { offsets in
                        weights.withUnsafeBufferPointer { k in
                            guard let s = src.baseAddress, let d = dst.baseAddress, let p = pad.baseAddress, let rows = offsets.baseAddress,
                                let kw = k.baseAddress
                            else { return }
                            let wc = UInt32(kw[radius])
                            let above = rows
                            let below = rows + radius
                            let mid = p + radius
                            for y in 0..<height {
                                for i in 0..<radius {
                                    above[i] = max(y + i - radius, 0) * width
                                    below[i] = min(y + radius - i, height - 1) * width
                                }
                                verticalRow16(s, y * width, above, below, kw, wc, radius: radius, width: width, into: mid)
                                for i in 0..<radius {
                                    p[i] = mid[0]
                                    mid[width + i] = mid[width - 1]
                                }
                                horizontalRow16(p, kw, wc, radius: radius, width: width, into: d + y * width)
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// One row of the 16-bit vertical pass: `out[x] = round(Σ w·src[row + x] / 256)`.
    @inline(__always)
    private static func verticalRow16(
        _ src: UnsafePointer<UInt16>, _ centre: Int, _ above: UnsafePointer<Int>, _ below: UnsafePointer<Int>,
        _ kw: UnsafePointer<UInt16>, _ wc: UInt32, radius: Int, width: Int, into out: UnsafeMutablePointer<UInt16>
    ) {
        // Split bytes: Σ w·a = 256·Σ w·hi + Σ w·lo, each sum ≤ 255·256, so both fit 16-bit lanes
        // (16-bit multiplies; baseline x86-64 has no 32-bit vector multiply), and the rounded result
        // is Σ w·hi + (Σ w·lo + 128) / 256 exactly.
        let centreWeight = SIMD16<UInt16>(repeating: UInt16(truncatingIfNeeded: wc))
        let lowMask = SIMD16<UInt16>(repeating: 0xFF)
        let half = SIMD16<UInt16>(repeating: 128)
        @inline(__always) func load(_ at: Int) -> SIMD16<UInt16> {
            UnsafeRawPointer(src + at).loadUnaligned(as: SIMD16<UInt16>.self)
        }
        var x = 0
        while x + 16 <= width {
            let c = load(centre + x)
            var high = centreWeight &* (c &>> 8)
            var low = centreWeight &* (c & lowMask)
            for i in 0..<radius {
                let w = SIMD16<UInt16>(repeating: kw[i])
                let f = load(above[i] + x)
                let g = load(below[i] + x)
                high &+= w &* ((f &>> 8) &+ (g &>> 8))
                low &+= w &* ((f & lowMask) &+ (g & lowMask))
            }
            UnsafeMutableRawPointer(out + x).storeBytes(of: high &+ ((low &+ half) &>> 8), as: SIMD16<UInt16>.self)
            x += 16
        }
        while x < width {
            var acc = wc &* UInt32(src[centre + x])
            for i in 0..<radius { acc &+= UInt32(kw[i]) &* (UInt32(src[above[i] + x]) &+ UInt32(src[below[i] + x])) }
            out[x] = UInt16(truncatingIfNeeded: (acc &+ 128) >> 8)
            x += 1
        }
    }

    /// One row of the 16-bit horizontal pass over a row padded by `radius` replicated samples on
    /// each side (and 16 more on the right, so whole blocks may be computed).
    @inline(__always)
    private static func horizontalRow16(
        _ p: UnsafePointer<UInt16>, _ kw: UnsafePointer<UInt16>, _ wc: UInt32, radius: Int, width: Int,
        into out: UnsafeMutablePointer<UInt16>
    ) {
        // Split bytes, as in `verticalRow16`.
        let centreWeight = SIMD16<UInt16>(repeating: UInt16(truncatingIfNeeded: wc))
        let lowMask = SIMD16<UInt16>(repeating: 0xFF)
        let half = SIMD16<UInt16>(repeating: 128)
        let taps = 2 * radius + 1
        @inline(__always) func load(_ at: Int) -> SIMD16<UInt16> {
            UnsafeRawPointer(p + at).loadUnaligned(as: SIMD16<UInt16>.self)
        }
        var x = 0
        while x + 16 <= width {
            let c = load(radius + x)
            var high = centreWeight &* (c &>> 8)
            var low = centreWeight &* (c & lowMask)
            for i in 0..<radius {
                let w = SIMD16<UInt16>(repeating: kw[i])
                let f = load(i + x)
                let g = load(taps - 1 - i + x)
                high &+= w &* ((f &>> 8) &+ (g &>> 8))
                low &+= w &* ((f & lowMask) &+ (g & lowMask))
            }
            UnsafeMutableRawPointer(out + x).storeBytes(of: high &+ ((low &+ half) &>> 8), as: SIMD16<UInt16>.self)
            x += 16
        }
        while x < width {
            var acc = wc &* UInt32(p[radius + x])
            for i in 0..<radius { acc &+= UInt32(kw[i]) &* (UInt32(p[i + x]) &+ UInt32(p[taps - 1 - i + x])) }
            out[x] = UInt16(truncatingIfNeeded: (acc &+ 128) >> 8)
            x += 1
        }
    }
}
