/// Small dense least-squares solves (n×k with k ≤ 5) through Householder QR and a one-sided Jacobi SVD, which is
/// accurate for ill-conditioned design matrices and gives the singular values the ellipse fit
/// needs to detect degenerate point sets. Solutions use the pseudo-inverse, as OpenCV's
/// `solve(…, DECOMP_SVD)` and `SVBackSubst` do.
enum LeastSquares {
    /// Minimises ‖A·x − rhs‖ for the column-major `rows`×`cols` matrix `a` (overwritten).
    /// Returns x and the singular values of A in descending order.
    static func solve(_ a: inout [Double], rows n: Int, cols k: Int, rhs: [Double]) -> (x: [Double], singular: [Double]) {
        guard n > k else { return jacobi(&a, rows: n, cols: k, rhs: rhs) }
        // Householder QR first: A = Q·R keeps the singular values, and the Jacobi sweeps then run
        // on the k×k factor R with Qᵀ·rhs instead of on all n rows.
        var b = rhs
        a.withUnsafeMutableBufferPointer { a in
            b.withUnsafeMutableBufferPointer { b in
                for j in 0..<k {
                    var norm2 = 0.0
                    for i in j..<n { norm2 += a[j * n + i] * a[j * n + i] }
                    if norm2 == 0 { continue }
                    let x0 = a[j * n + j]
                    let alpha = x0 > 0 ? -norm2.squareRoot() : norm2.squareRoot()
                    // v = x − alpha·e₁, stored in place of column j; vᵀv = 2·(norm2 − alpha·x0)
                    a[j * n + j] = x0 - alpha
                    let vv = 2 * (norm2 - alpha * x0)
                    for c in (j + 1)..<k {
                        var dot = 0.0
                        for i in j..<n { dot += a[j * n + i] * a[c * n + i] }
                        let f = 2 * dot / vv
                        for i in j..<n { a[c * n + i] -= f * a[j * n + i] }
                    }
                    var dot = 0.0
                    for i in j..<n { dot += a[j * n + i] * b[i] }
                    let f = 2 * dot / vv
                    for i in j..<n { b[i] -= f * a[j * n + i] }
                    a[j * n + j] = alpha
                }
            }
        }
        var r = [Double](repeating: 0, count: k * k)
        for c in 0..<k {
            for i in 0...c { r[c * k + i] = a[c * n + i] }
        }
        return jacobi(&r, rows: k, cols: k, rhs: Array(b[0..<k]))
    }

    /// One-sided (Hestenes) Jacobi SVD of the column-major matrix, then the pseudo-inverse solve.
    private static func jacobi(_ a: inout [Double], rows n: Int, cols k: Int, rhs: [Double]) -> (x: [Double], singular: [Double]) {
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
