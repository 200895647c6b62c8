/// A smooth estimate of the illumination, fitted on a downscaled copy of the image.
///
/// The image is reduced to block means on a grid of about 64 × 64; a 2-D polynomial (up to
/// degree 4) is fitted to the blocks by least squares while blocks that deviate from the current
/// fit by more than 2.5 robust standard deviations are left out, in both directions, so that
/// neither dark nor bright objects pull the estimate. The degree grows over the iterations
/// (0 = the median, then 1, 2, 3, 4): a low-degree start is robust to objects that cover a large
/// part of the image, the later ones follow vignetting and uneven illumination.
struct BackgroundModel {
    /// Side of a block in px.
    let blockSize: Int
    /// Blocks per row.
    let gridWidth: Int
    /// Blocks per column.
    let gridHeight: Int
    /// Fitted background at every block centre, row by row.
    let values: [Double]
    /// Mean of `values`: the level the flattened background is brought to.
    let level: Double
    /// Robust standard deviation of the background blocks around the fit.
    let noise: Double

    static let targetGrid = 64
    static let degreeSchedule = [0, 1, 2, 2, 3, 4, 4, 4]

    /// Fits the background of `pixels` (`width * height`, both > 0).
    ///
    /// The blocks' noise has a floor of half a level, and for 8-bit images of 1 % of the typical
    /// level; deeper images often carry a large camera offset (a HeLa series sits at 33 000 of
    /// 65 535 with a noise of 7), against which a relative floor would accept every block.
    static func fit<S: FixedWidthInteger & UnsignedInteger>(_ pixels: [S], width: Int, height: Int) -> BackgroundModel {
        let relativeFloor = S.bitWidth <= 8 ? 0.01 : 0
        let b = max(1, (max(width, height) + targetGrid - 1) / targetGrid)
        let gw = (width + b - 1) / b
        let gh = (height + b - 1) / b
        let blocks = blockMeans(pixels, width: width, height: height, blockSize: b, gridWidth: gw, gridHeight: gh)
        // Block-centre coordinates normalised to [-1, 1].
        var us = [Double](repeating: 0, count: gw)
        var vs = [Double](repeating: 0, count: gh)
        for j in 0..<gw { us[j] = (centre(j, b, width) - Double(width - 1) / 2) / max(1, Double(width) / 2) }
        for i in 0..<gh { vs[i] = (centre(i, b, height) - Double(height - 1) / 2) / max(1, Double(height) / 2) }
        let maxDegree = min(4, max(0, min(gw, gh) - 2))
        let n = blocks.count
        var included = [Bool](repeating: true, count: n)
        var fitted = [Double](repeating: 0, count: n)
        var noise = 0.5
        var coefficients: [Double] = []
        var degree = 0
        for scheduled in degreeSchedule {
            let wanted = min(scheduled, maxDegree)
            if wanted == 0 {
                coefficients = [median(of: blocks, where: included)]
                degree = 0
            } else if let c = leastSquares(blocks, included, us, vs, gw, degree: wanted) {
                coefficients = c
                degree = wanted
            }
            evaluate(coefficients, degree: degree, us, vs, gw, into: &fitted)
            var residuals = [Double]()
            residuals.reserveCapacity(n)
            for k in 0..<n where included[k] { residuals.append(abs(blocks[k] - fitted[k])) }
            let typical = median(of: blocks, where: included)
            noise = max(1.4826 * median(residuals), relativeFloor * typical, 0.5)
            var kept = 0
            for k in 0..<n {
                included[k] = abs(blocks[k] - fitted[k]) <= 2.5 * noise
                if included[k] { kept += 1 }
            }
            if kept == 0 { included = [Bool](repeating: true, count: n) }
        }
        let level = fitted.reduce(0, +) / Double(max(1, n))
        return BackgroundModel(blockSize: b, gridWidth: gw, gridHeight: gh, values: fitted, level: level, noise: noise)
    }

    /// Centre (in px) of block `j` along an axis of `length` px: the middle of its covered pixels.
    static func centre(_ j: Int, _ b: Int, _ length: Int) -> Double {
        Double(j * b + min((j + 1) * b, length) - 1) / 2
    }

    static func blockMeans<S: FixedWidthInteger & UnsignedInteger>(
        _ pixels: [S], width: Int, height: Int, blockSize b: Int, gridWidth gw: Int, gridHeight gh: Int
    ) -> [Double] {
        var sums = [Int](repeating: 0, count: gw * gh)
        // Column sums over each block row (a contiguous add per row that vectorises), then the
        // columns of each block added up once per block row.
        var columns = [UInt32](repeating: 0, count: width)
        pixels.withUnsafeBufferPointer { src in
            sums.withUnsafeMutableBufferPointer { sum in
                columns.withUnsafeMutableBufferPointer { col in
                    guard let base = src.baseAddress, let c = col.baseAddress else { return }
                    for i in 0..<gh {
                        for x in 0..<width { c[x] = 0 }
                        // a block is at most 625 rows (40 000 / 64) of at most 65 535: 32 bits are enough
                        for y in (i * b)..<min((i + 1) * b, height) {
                            let row = base + y * width
                            for x in 0..<width { c[x] &+= UInt32(truncatingIfNeeded: row[x]) }
                        }
                        for j in 0..<gw {
                            var total = 0
                            for x in (j * b)..<min((j + 1) * b, width) { total &+= Int(c[x]) }
                            sum[i * gw + j] = total
                        }
                    }
                }
            }
        }
        var means = [Double](repeating: 0, count: gw * gh)
        for i in 0..<gh {
            let rows = min((i + 1) * b, height) - i * b
            for j in 0..<gw {
                let cols = min((j + 1) * b, width) - j * b
                means[i * gw + j] = Double(sums[i * gw + j]) / Double(rows * cols)
            }
        }
        return means
    }

    static func median(of values: [Double], where keep: [Bool]) -> Double {
        var chosen = [Double]()
        chosen.reserveCapacity(values.count)
        for k in values.indices where keep[k] { chosen.append(values[k]) }
        return median(chosen)
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        var v = values
        let m = v.count / 2
        return v.withUnsafeMutableBufferPointer { buffer in
            guard let a = buffer.baseAddress else { return 0 }
            select(a, count: buffer.count, k: m)
            // Everything before m is ≤ a[m]: the lower middle of an even count is their maximum.
            guard buffer.count % 2 == 0 else { return a[m] }
            var lower = a[0]
            for i in 1..<m where a[i] > lower { lower = a[i] }
            return (lower + a[m]) / 2
        }
    }

    /// Rearranges `a[0..<count]` so that `a[k]` holds the value a sort would put there, with no
    /// larger value before it and no smaller one after (quickselect, median-of-three pivots).
    static func select(_ a: UnsafeMutablePointer<Double>, count: Int, k: Int) {
        var lo = 0
        var hi = count - 1
        while hi > lo {
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { swap(&a[mid], &a[lo]) }
            if a[hi] < a[lo] { swap(&a[hi], &a[lo]) }
            if a[hi] < a[mid] { swap(&a[hi], &a[mid]) }
            let pivot = a[mid]
            var i = lo
            var j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while pivot < a[j] { j -= 1 }
                if i <= j {
                    swap(&a[i], &a[j])
                    i += 1
                    j -= 1
                }
            }
            if k <= j {
                hi = j
            } else if k >= i {
                lo = i
            } else {
                return
            }
        }
    }

    /// Monomials u^p·v^q with p + q ≤ degree, in a fixed order.
    static func terms(_ u: Double, _ v: Double, degree: Int, into out: inout [Double]) {
        out.removeAll(keepingCapacity: true)
        var up = 1.0
        for p in 0...degree {
            var vq = 1.0
            for _ in 0...(degree - p) {
                out.append(up * vq)
                vq *= v
            }
            up *= u
        }
    }

    static func evaluate(_ c: [Double], degree: Int, _ us: [Double], _ vs: [Double], _ gw: Int, into out: inout [Double]) {
        var t = [Double]()
        for k in out.indices {
            terms(us[k % gw], vs[k / gw], degree: degree, into: &t)
            var s = 0.0
            for m in 0..<min(t.count, c.count) { s += c[m] * t[m] }
            out[k] = s
        }
    }

    /// Solves the normal equations of the weighted fit; `nil` when they are singular.
    static func leastSquares(
        _ y: [Double], _ included: [Bool], _ us: [Double], _ vs: [Double], _ gw: Int, degree: Int
    ) -> [Double]? {
        let m = (degree + 1) * (degree + 2) / 2
        var a = [Double](repeating: 0, count: m * m)
        var rhs = [Double](repeating: 0, count: m)
        var t = [Double]()
        var count = 0
        for k in y.indices where included[k] {
            terms(us[k % gw], vs[k / gw], degree: degree, into: &t)
            for r in 0..<m {
                rhs[r] += t[r] * y[k]
                for c in r..<m { a[r * m + c] += t[r] * t[c] }
            }
            count += 1
        }
        guard count > m else { return nil }
        for r in 0..<m { for c in 0..<r { a[r * m + c] = a[c * m + r] } }
        // Gaussian elimination with partial pivoting.
        for col in 0..<m {
            var pivot = col
            for r in (col + 1)..<max(col + 1, m) where abs(a[r * m + col]) > abs(a[pivot * m + col]) { pivot = r }
            guard abs(a[pivot * m + col]) > 1e-9 * Double(count) else { return nil }
            if pivot != col {
                for c in 0..<m { a.swapAt(col * m + c, pivot * m + c) }
                rhs.swapAt(col, pivot)
            }
            let d = a[col * m + col]
            for r in (col + 1)..<max(col + 1, m) {
                let f = a[r * m + col] / d
                if f == 0 { continue }
                for c in col..<m { a[r * m + c] -= f * a[col * m + c] }
                rhs[r] -= f * rhs[col]
            }
        }
        var x = [Double](repeating: 0, count: m)
        for r in stride(from: m - 1, through: 0, by: -1) {
            var s = rhs[r]
            for c in (r + 1)..<max(r + 1, m) { s -= a[r * m + c] * x[c] }
            x[r] = s / a[r * m + r]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}
