/// Small dense least-squares solves (n×k with k ≤ 5) through a one-sided Jacobi SVD, which is
/// accurate for ill-conditioned design matrices and gives the singular values the ellipse fit
/// needs to detect degenerate point sets. Solutions use the pseudo-inverse, as OpenCV's
/// `solve(…, DECOMP_SVD)` and `SVBackSubst` do.
enum LeastSquares {
    /// Minimises ‖A·x − rhs‖ for the column-major `rows`×`cols` matrix `a` (overwritten).
    /// Returns x and the singular values of A in descending order.
    static func solve(_ a: inout [Double], rows n: Int, cols k: Int, rhs: [Double]) -> (x: [Double], singular: [Double]) {
        var v = [Double](repeating: 0, count: k * k)  // column-major k×k
        for j in 0..<k { v[j * k + j] = 1 }
        a.withUnsafeMutableBufferPointer { a in
            v.withUnsafeMutableBufferPointer { v in
                for _ in 0..<60 {
                    var rotated = false
                    for p in 0..<(k - 1) {
                        for q in (p + 1)..<k {
                            var alpha = 0.0
                            var beta = 0.0
                            var gamma = 0.0
                            for i in 0..<n {
                                let x = a[p * n + i]
                                let y = a[q * n + i]
                                alpha += x * x
                                beta += y * y
                                gamma += x * y
                            }
                            if gamma == 0 || abs(gamma) <= 1e-15 * (alpha * beta).squareRoot() { continue }
                            rotated = true
                            let zeta = (beta - alpha) / (2 * gamma)
                            let t = (zeta < 0 ? -1.0 : 1.0) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
                            let c = 1 / (1 + t * t).squareRoot()
                            let s = c * t
                            for i in 0..<n {
                                let x = a[p * n + i]
                                let y = a[q * n + i]
                                a[p * n + i] = c * x - s * y
                                a[q * n + i] = s * x + c * y
                            }
                            for i in 0..<k {
                                let x = v[p * k + i]
                                let y = v[q * k + i]
                                v[p * k + i] = c * x - s * y
                                v[q * k + i] = s * x + c * y
                            }
                        }
                    }
                    if !rotated { break }
                }
            }
        }
        // A·V = U·Σ: column j of the rotated A is σⱼ·uⱼ
        var sigma = [Double](repeating: 0, count: k)
        var proj = [Double](repeating: 0, count: k)
        for j in 0..<k {
            var s2 = 0.0
            var d = 0.0
            for i in 0..<n {
                let x = a[j * n + i]
                s2 += x * x
                d += x * rhs[i]
            }
            sigma[j] = s2.squareRoot()
            proj[j] = d
        }
        let largest = sigma.max() ?? 0
        let threshold = largest * Double(max(n, k)) * Double.ulpOfOne
        var x = [Double](repeating: 0, count: k)
        for j in 0..<k where sigma[j] > threshold {
            let coefficient = proj[j] / (sigma[j] * sigma[j])
            for i in 0..<k { x[i] += v[j * k + i] * coefficient }
        }
        return (x, sigma.sorted(by: >))
    }
}
