import Foundation

/// Least-squares ellipse fit with the result of OpenCV's `fitEllipse` (full axis lengths).
///
/// Like OpenCV: five points use the direct (Fitzgibbon) fit, more points the general-conic
/// least-squares fit with a re-fit about the centre (Weiss). Coordinates go through float32 as
/// in OpenCV. Where OpenCV meets a singular system it nudges the points by a random amount; we
/// nudge them by a fixed pattern of the same size, so those (rare, near-degenerate) fits are
/// deterministic but not bit-for-bit OpenCV's.
enum EllipseFit {
    /// The two full axis lengths (major ≥ minor), or (0, 0) under 5 points or when no finite
    /// ellipse results.
    static func axes(_ points: UnsafeBufferPointer<Point2D>) -> (major: Double, minor: Double) {
        let n = points.count
        guard n >= 5 else { return (0, 0) }
        let size = n == 5 ? direct(points) ?? general(points) : general(points)
        let w = Double(size.0)
        let h = Double(size.1)
        guard w.isFinite, h.isFinite else { return (0, 0) }
        return (max(w, h), min(w, h))
    }

    /// Offsets of fixed pattern (±eps, ±eps) used instead of OpenCV's random nudge.
    @inline(__always) private static func offset(_ i: Int, _ eps: Float) -> (Float, Float) {
        (Float((i & 1) * 2 - 1) * eps, Float((i & 2) - 1) * eps)
    }

    // MARK: general conic (OpenCV fitEllipseNoDirect)

    private static func general(_ points: UnsafeBufferPointer<Point2D>) -> (Float, Float) {
        let n = points.count
        var pts = [(Float, Float)](repeating: (0, 0), count: n)
        var cx: Float = 0
        var cy: Float = 0
        for i in 0..<n {
            let p = (Float(points[i].x), Float(points[i].y))
            pts[i] = p
            cx += p.0
            cy += p.1
        }
        cx /= Float(n)
        cy /= Float(n)
        var s = 0.0
        for p in pts {
            s += Double(abs(p.0 - cx)) + Double(abs(p.1 - cy))
        }
        let fltEpsilon = Double(Float.ulpOfOne)
        let scale = 100.0 / (s > fltEpsilon ? s : fltEpsilon)

        var a = [Double](repeating: 0, count: n * 5)  // column-major n×5
        var b = [Double](repeating: 10000, count: n)
        func fill() {
            for i in 0..<n {
                let px = Double(pts[i].0 - cx) * scale
                let py = Double(pts[i].1 - cy) * scale
                a[i] = -px * px
                a[n + i] = -py * py
                a[2 * n + i] = -px * py
                a[3 * n + i] = px
                a[4 * n + i] = py
            }
        }
        fill()
        var gfp = LeastSquares.solve(&a, rows: n, cols: 5, rhs: b)
        if gfp.singular[0] * fltEpsilon > gfp.singular[4] {
            let eps = Float(s / Double(n * 2) * 1e-3)
            for i in 0..<n {
                let o = offset(i, eps)
                pts[i] = (pts[i].0 + o.0, pts[i].1 + o.1)
            }
            fill()
            gfp = LeastSquares.solve(&a, rows: n, cols: 5, rhs: b)
        }
        let g = gfp.x

        // centre: the gradient of the conic vanishes
        var m2 = [2 * g[0], g[2], g[2], 2 * g[1]]  // column-major, symmetric
        let centre = LeastSquares.solve(&m2, rows: 2, cols: 2, rhs: [g[3], g[4]]).x
        let r0 = centre[0]
        let r1 = centre[1]

        // re-fit A–C about that centre
        var a3 = [Double](repeating: 0, count: n * 3)
        for i in 0..<n {
            let px = Double(pts[i].0 - cx) * scale - r0
            let py = Double(pts[i].1 - cy) * scale - r1
            a3[i] = px * px
            a3[n + i] = py * py
            a3[2 * n + i] = px * py
            b[i] = 1
        }
        let q = LeastSquares.solve(&a3, rows: n, cols: 3, rhs: b).x

        let minEps = 1e-8
        let angle = -0.5 * atan2(q[2], q[1] - q[0])
        let t = abs(q[2]) > minEps ? q[2] / sin(-2.0 * angle) : q[1] - q[0]
        var rx = abs(q[0] + q[1] - t)
        if rx > minEps { rx = (2.0 / rx).squareRoot() }
        var ry = abs(q[0] + q[1] + t)
        if ry > minEps { ry = (2.0 / ry).squareRoot() }
        return (Float(rx * 2 / scale), Float(ry * 2 / scale))
    }

    // MARK: direct fit (OpenCV fitEllipseDirect), used for exactly five points

    private static func direct(_ points: UnsafeBufferPointer<Point2D>) -> (Float, Float)? {
        let n = points.count
        var cx = 0.0
        var cy = 0.0
        for p in points {
            cx += Double(Float(p.x))
            cy += Double(Float(p.y))
        }
        cx /= Double(n)
        cy /= Double(n)
        var s = 0.0
        for p in points {
            s += abs(Double(Float(p.x)) - cx) + abs(Double(Float(p.y)) - cy)
        }
        let fltEpsilon = Double(Float.ulpOfOne)
        let scale = 100.0 / (s > fltEpsilon ? s : fltEpsilon)

        var eps: Float = 0
        for _ in 0..<2 {
            // scatter matrix of the design rows (x², xy, y², x, y, 1), divided by n
            var dm = [Double](repeating: 0, count: 36)
            for i in 0..<n {
                let o = offset(i, eps)
                let px = (Double(Float(points[i].x) + o.0) - cx) * scale
                let py = (Double(Float(points[i].y) + o.1) - cy) * scale
                let row = (px * px, px * py, py * py, px, py, 1.0)
                withUnsafeBytes(of: row) { raw in
                    let v = raw.bindMemory(to: Double.self)
                    for r in 0..<6 {
                        for c in 0..<6 { dm[r * 6 + c] += v[r] * v[c] }
                    }
                }
            }
            for k in 0..<36 { dm[k] /= Double(n) }
            // Five points always lie on one conic, so the reduced matrix is singular up to
            // rounding and OpenCV's |det| > 1e-10 test passes or fails on rounding noise alone;
            // OpenCV's results are those of the unperturbed points, so we try them first whatever
            // the determinant, and fall back as OpenCV does only when that gives no ellipse.
            if let size = directSolve(dm, scale: scale, checkDeterminant: eps != 0), size.0.isFinite, size.1.isFinite {
                return size
            }
            eps = Float(s / Double(n * 2) * 1e-2)
        }
        return nil
    }

    /// Fitzgibbon's reduced 3×3 eigenproblem (Halíř–Flusser form), with OpenCV's choice of the
    /// eigenvector and of its sign; nil when the reduced matrix is singular.
    private static func directSolve(_ dm: [Double], scale: Double, checkDeterminant: Bool) -> (Float, Float)? {
        @inline(__always) func d(_ r: Int, _ c: Int) -> Double { dm[r * 6 + c] }
        // S3 = DM[3..5, 3..5]; TM = adj(S3)·(−S2ᵀ) arranged as OpenCV does, Ts = det(S3)
        var tm = [Double](repeating: 0, count: 9)
        for j in 0..<3 {
            tm[0 * 3 + j] =
                d(j, 5) * d(3, 5) * d(4, 4) - d(j, 5) * d(3, 4) * d(4, 5) - d(j, 4) * d(3, 5) * d(5, 4)
                + d(j, 3) * d(4, 5) * d(5, 4) + d(j, 4) * d(3, 4) * d(5, 5) - d(j, 3) * d(4, 4) * d(5, 5)
            tm[1 * 3 + j] =
                d(j, 5) * d(3, 3) * d(4, 5) - d(j, 5) * d(3, 5) * d(4, 3) + d(j, 4) * d(3, 5) * d(5, 3)
                - d(j, 3) * d(4, 5) * d(5, 3) - d(j, 4) * d(3, 3) * d(5, 5) + d(j, 3) * d(4, 3) * d(5, 5)
            tm[2 * 3 + j] =
                d(j, 5) * d(3, 4) * d(4, 3) - d(j, 5) * d(3, 3) * d(4, 4) - d(j, 4) * d(3, 4) * d(5, 3)
                + d(j, 3) * d(4, 4) * d(5, 3) + d(j, 4) * d(3, 3) * d(5, 4) - d(j, 3) * d(4, 3) * d(5, 4)
        }
        let ts =
            -(d(3, 5) * d(4, 4) * d(5, 3)) + d(3, 4) * d(4, 5) * d(5, 3) + d(3, 5) * d(4, 3) * d(5, 4)
            - d(3, 3) * d(4, 5) * d(5, 4) - d(3, 4) * d(4, 3) * d(5, 5) + d(3, 3) * d(4, 4) * d(5, 5)
        var m = [Double](repeating: 0, count: 9)
        for j in 0..<3 {
            let t0 = tm[0 * 3 + j]
            let t1 = tm[1 * 3 + j]
            let t2 = tm[2 * 3 + j]
            m[0 * 3 + j] = (d(2, j) + (d(2, 3) * t0 + d(2, 4) * t1 + d(2, 5) * t2) / ts) / 2
            m[1 * 3 + j] = -d(1, j) - (d(1, 3) * t0 + d(1, 4) * t1 + d(1, 5) * t2) / ts
            m[2 * 3 + j] = (d(0, j) + (d(0, 3) * t0 + d(0, 4) * t1 + d(0, 5) * t2) / ts) / 2
        }
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
        guard ts != 0, det.isFinite, !checkDeterminant || abs(det) > 1e-10 else { return nil }

        // eigenvector with the largest 4ac − b² (the elliptical one)
        var best: (Double, Double, Double)? = nil
        var bestCond = -Double.infinity
        for lambda in realEigenvalues3(m) {
            guard let v = nullVector3(m, lambda) else { continue }
            let cond = 4 * v.0 * v.2 - v.1 * v.1
            if cond > bestCond {
                bestCond = cond
                best = v
            }
        }
        guard let e = best else { return nil }
        var norm = (e.0 * e.0 + e.1 * e.1 + e.2 * e.2).squareRoot()
        let signs = (e.0 < 0 ? -1.0 : 1.0) * (e.1 < 0 ? -1.0 : 1.0) * (e.2 < 0 ? -1.0 : 1.0)
        if signs <= 0 { norm = -norm }
        let p0 = e.0 / norm
        let p1 = e.1 / norm
        let p2 = e.2 / norm
        let q0 = (tm[0] * p0 + tm[1] * p1 + tm[2] * p2) / ts
        let q1 = (tm[3] * p0 + tm[4] * p1 + tm[5] * p2) / ts
        let q2 = (tm[6] * p0 + tm[7] * p1 + tm[8] * p2) / ts
        let u1 = p2 * q0 * q0 - p1 * q0 * q1 + p0 * q1 * q1 + p1 * p1 * q2
        let u2 = p0 * p2 * q2
        let l1 = (p1 * p1 + (p0 - p2) * (p0 - p2)).squareRoot()
        let l2 = p0 + p2
        let l3 = p1 * p1 - 4 * p0 * p2
        let a = 2.0.squareRoot() * ((u1 - 4 * u2) / ((l1 - l2) * l3)).squareRoot() / scale
        let b = 2.0.squareRoot() * (-((u1 - 4 * u2) / ((l1 + l2) * l3))).squareRoot() / scale
        return (Float(2 * a), Float(2 * b))
    }

    /// Real eigenvalues of a 3×3 matrix (row-major): real roots of its characteristic cubic.
    private static func realEigenvalues3(_ m: [Double]) -> [Double] {
        let tr = m[0] + m[4] + m[8]
        let minors = (m[4] * m[8] - m[5] * m[7]) + (m[0] * m[8] - m[2] * m[6]) + (m[0] * m[4] - m[1] * m[3])
        let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
        // λ³ − tr·λ² + minors·λ − det = 0; substitute λ = t + tr/3
        let shift = tr / 3
        let p = minors - tr * tr / 3
        let q = -2 * tr * tr * tr / 27 + tr * minors / 3 - det
        // t³ + p t + q = 0
        let disc = q * q / 4 + p * p * p / 27
        if disc > 0 {
            let r = disc.squareRoot()
            let t = cbrt(-q / 2 + r) + cbrt(-q / 2 - r)
            return [t + shift]
        }
        if p == 0 { return [shift] }
        let rho = (-p / 3).squareRoot()
        let phi = acos(max(-1, min(1, -q / (2 * rho * rho * rho))))
        return (0..<3).map { k in 2 * rho * cos((phi - 2 * Double.pi * Double(k)) / 3) + shift }
    }

    /// A unit vector v with (M − λI)·v ≈ 0: the largest cross product of two rows of M − λI.
    private static func nullVector3(_ m: [Double], _ lambda: Double) -> (Double, Double, Double)? {
        let r = [
            (m[0] - lambda, m[1], m[2]),
            (m[3], m[4] - lambda, m[5]),
            (m[6], m[7], m[8] - lambda),
        ]
        var best = (0.0, 0.0, 0.0)
        var bestNorm = 0.0
        for (i, j) in [(0, 1), (0, 2), (1, 2)] {
            let a = r[i]
            let b = r[j]
            let c = (a.1 * b.2 - a.2 * b.1, a.2 * b.0 - a.0 * b.2, a.0 * b.1 - a.1 * b.0)
            let nrm = c.0 * c.0 + c.1 * c.1 + c.2 * c.2
            if nrm > bestNorm {
                bestNorm = nrm
                best = c
            }
        }
        guard bestNorm > 0, bestNorm.isFinite else { return nil }
        let s = 1 / bestNorm.squareRoot()
        return (best.0 * s, best.1 * s, best.2 * s)
    }
}
