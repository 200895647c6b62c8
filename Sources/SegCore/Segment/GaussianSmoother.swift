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
    static func smooth(_ source: [UInt8], width: Int, height: Int, sigma: Double) -> [UInt8] {
        guard sigma > 0, width > 0, height > 0 else { return source }
        let weights = kernel(sigma: sigma)
        let taps = weights.count
        let radius = taps / 2
        if taps == 1 { return source }
        // Every sample is written below, so the output skips the zero fill.
        var output = [UInt8](unsafeUninitializedCapacity: width * height) { _, count in count = width * height }
        // A vertically smoothed row, padded by `radius` replicated samples on each side.
        var padded = [UInt8](repeating: 0, count: width + 2 * radius)
        var acc = [UInt16](repeating: 0, count: width)
        source.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                padded.withUnsafeMutableBufferPointer { pad in
                    acc.withUnsafeMutableBufferPointer { acc in
                        weights.withUnsafeBufferPointer { k in
                            guard let s = src.baseAddress, let d = dst.baseAddress, let p = pad.baseAddress, let a = acc.baseAddress,
                                let kw = k.baseAddress
                            else { return }
                            for y in 0..<height {
                                // vertical pass into the padded row; the kernel is symmetric, so
                                // mirrored taps share one multiply (exact: the total stays ≤ 255·256)
                                let centre = s + min(max(y, 0), height - 1) * width
                                let wc = kw[radius]
                                for x in 0..<width { a[x] = wc &* UInt16(truncatingIfNeeded: centre[x]) }
                                for i in 0..<radius {
                                    let above = s + max(y + i - radius, 0) * width
                                    let below = s + min(y + radius - i, height - 1) * width
                                    foldedTap(a, above, below, weight: kw[i], count: width)
                                }
                                let mid = p + radius
                                for x in 0..<width { mid[x] = UInt8(truncatingIfNeeded: (a[x] &+ 128) >> 8) }
                                for i in 0..<radius {
                                    p[i] = mid[0]
                                    mid[width + i] = mid[width - 1]
                                }
                                // horizontal pass into the output row, mirrored taps folded the same way
                                for x in 0..<width { a[x] = wc &* UInt16(truncatingIfNeeded: mid[x]) }
                                for i in 0..<radius {
                                    foldedTap(a, p + i, p + taps - 1 - i, weight: kw[i], count: width)
                                }
                                let out = d + y * width
                                for x in 0..<width { out[x] = UInt8(truncatingIfNeeded: (a[x] &+ 128) >> 8) }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `acc[x] += weight · (first[x] + second[x])` for `count` samples, sixteen lanes at a time.
    @inline(__always)
    private static func foldedTap(
        _ acc: UnsafeMutablePointer<UInt16>, _ first: UnsafePointer<UInt8>, _ second: UnsafePointer<UInt8>, weight: UInt16,
        count: Int
    ) {
        let w = SIMD16<UInt16>(repeating: weight)
        var x = 0
        while x + 16 <= count {
            let f = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(first + x).loadUnaligned(as: SIMD16<UInt8>.self))
            let g = SIMD16<UInt16>(truncatingIfNeeded: UnsafeRawPointer(second + x).loadUnaligned(as: SIMD16<UInt8>.self))
            let raw = UnsafeMutableRawPointer(acc + x)
            let sum = raw.loadUnaligned(as: SIMD16<UInt16>.self) &+ w &* (f &+ g)
            raw.storeBytes(of: sum, as: SIMD16<UInt16>.self)
            x += 16
        }
        while x < count {
            acc[x] &+= weight &* (UInt16(truncatingIfNeeded: first[x]) &+ UInt16(truncatingIfNeeded: second[x]))
            x += 1
        }
    }
    /// Smooths 16-bit `source` the same way (weights summing to 256, 32-bit accumulators).
    static func smooth(_ source: [UInt16], width: Int, height: Int, sigma: Double) -> [UInt16] {
        guard sigma > 0, width > 0, height > 0 else { return source }
        let weights = kernel(sigma: sigma)
        let taps = weights.count
        let radius = taps / 2
        if taps == 1 { return source }
        var output = [UInt16](unsafeUninitializedCapacity: width * height) { _, count in count = width * height }
        var padded = [UInt16](repeating: 0, count: width + 2 * radius)
        var acc = [UInt32](repeating: 0, count: width)
        source.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                padded.withUnsafeMutableBufferPointer { pad in
                    acc.withUnsafeMutableBufferPointer { acc in
                        weights.withUnsafeBufferPointer { k in
                            guard let s = src.baseAddress, let d = dst.baseAddress, let p = pad.baseAddress, let a = acc.baseAddress,
                                let kw = k.baseAddress
                            else { return }
                            let wc = UInt32(kw[radius])
                            for y in 0..<height {
                                let centre = s + y * width
                                for x in 0..<width { a[x] = wc &* UInt32(centre[x]) }
                                for i in 0..<radius {
                                    let above = s + max(y + i - radius, 0) * width
                                    let below = s + min(y + radius - i, height - 1) * width
                                    foldedTap(a, above, below, weight: UInt32(kw[i]), count: width)
                                }
                                let mid = p + radius
                                for x in 0..<width { mid[x] = UInt16(truncatingIfNeeded: (a[x] &+ 128) >> 8) }
                                for i in 0..<radius {
                                    p[i] = mid[0]
                                    mid[width + i] = mid[width - 1]
                                }
                                for x in 0..<width { a[x] = wc &* UInt32(mid[x]) }
                                for i in 0..<radius {
                                    foldedTap(a, p + i, p + taps - 1 - i, weight: UInt32(kw[i]), count: width)
                                }
                                let out = d + y * width
                                for x in 0..<width { out[x] = UInt16(truncatingIfNeeded: (a[x] &+ 128) >> 8) }
                            }
                        }
                    }
                }
            }
        }
        return output
    }

    /// `acc[x] += weight · (first[x] + second[x])` for 16-bit samples, eight lanes at a time.
    @inline(__always)
    private static func foldedTap(
        _ acc: UnsafeMutablePointer<UInt32>, _ first: UnsafePointer<UInt16>, _ second: UnsafePointer<UInt16>, weight: UInt32,
        count: Int
    ) {
        let w = SIMD8<UInt32>(repeating: weight)
        var x = 0
        while x + 8 <= count {
            let f = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(first + x).loadUnaligned(as: SIMD8<UInt16>.self))
            let g = SIMD8<UInt32>(truncatingIfNeeded: UnsafeRawPointer(second + x).loadUnaligned(as: SIMD8<UInt16>.self))
            let raw = UnsafeMutableRawPointer(acc + x)
            let sum = raw.loadUnaligned(as: SIMD8<UInt32>.self) &+ w &* (f &+ g)
            raw.storeBytes(of: sum, as: SIMD8<UInt32>.self)
            x += 8
        }
        while x < count {
            acc[x] &+= weight &* (UInt32(first[x]) &+ UInt32(second[x]))
            x += 1
        }
    }
}
