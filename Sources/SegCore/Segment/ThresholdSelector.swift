/// Polarity detection and global thresholds on a 256-bin histogram of the flattened image.
enum ThresholdSelector {
    /// The side with more mass beyond `level ± 3·noise`, weighted by the distance: objects are
    /// what departs from the background, and the background sits at `level` after flattening.
    /// `nil` when nothing departs at all (an empty or uniform image).
    static func detectPolarity(_ histogram: [Int], level: Double, noise: Double) -> SegmenterParameters.Polarity? {
        let low = level - 3 * noise
        let high = level + 3 * noise
        var darkMass = 0.0
        var brightMass = 0.0
        for v in 0..<256 where histogram[v] > 0 {
            let value = Double(v)
            if value < low { darkMass += (low - value) * Double(histogram[v]) }
            if value > high { brightMass += (value - high) * Double(histogram[v]) }
        }
        if darkMass == 0, brightMass == 0 { return nil }
        return darkMass >= brightMass ? .dark : .bright
    }

    /// The histogram with everything on the background's far side of `level` folded into
    /// `level`'s bin, so that a bright halo around dark objects (or dark specks around bright
    /// ones) cannot pull the threshold.
    static func folded(_ histogram: [Int], level: Int, dark: Bool) -> [Int] {
        var h = histogram
        let l = min(255, max(0, level))
        if dark {
            for v in (l + 1)..<max(l + 1, 256) {
                h[l] += h[v]
                h[v] = 0
            }
        } else {
            for v in 0..<l {
                h[l] += h[v]
                h[v] = 0
            }
        }
        return h
    }

    /// Otsu's threshold `t` (classes `≤ t` and `> t`), or `nil` when the histogram has a single level.
    static func otsu(_ histogram: [Int]) -> Int? {
        let total = Double(histogram.reduce(0, +))
        guard total > 0 else { return nil }
        var sumAll = 0.0
        for v in 0..<256 { sumAll += Double(v) * Double(histogram[v]) }
        var weight0 = 0.0
        var sum0 = 0.0
        var best = 0.0
        var bestT: Int?
        for t in 0..<255 {
            weight0 += Double(histogram[t])
            sum0 += Double(t) * Double(histogram[t])
            let weight1 = total - weight0
            if weight0 == 0 || weight1 == 0 { continue }
            let mean0 = sum0 / weight0
            let mean1 = (sumAll - sum0) / weight1
            let between = weight0 * weight1 * (mean0 - mean1) * (mean0 - mean1)
            if between > best {
                best = between
                bestT = t
            }
        }
        return bestT
    }

    /// The triangle threshold: the level farthest from the line joining the histogram's peak to
    /// its far end on the objects' side. Classes `≤ t` and `> t` as for Otsu; `nil` when there
    /// is no tail on that side.
    static func triangle(_ histogram: [Int], dark: Bool) -> Int? {
        guard let peak = histogram.indices.max(by: { histogram[$0] < histogram[$1] }), histogram[peak] > 0 else { return nil }
        let end: Int?
        if dark { end = histogram.indices.first { histogram[$0] > 0 } } else { end = histogram.indices.last { histogram[$0] > 0 } }
        guard let end, end != peak else { return nil }
        // Distance (up to a constant factor) of (v, h[v]) from the line through (end, h[end]) and (peak, h[peak]).
        let dx = Double(peak - end)
        let dy = Double(histogram[peak] - histogram[end])
        var best = -1.0
        var bestV = end
        for v in min(end, peak)...max(end, peak) {
            let d = dy * Double(v - end) - dx * Double(histogram[v] - histogram[end])
            let distance = dark ? d : -d
            if distance > best {
                best = distance
                bestV = v
            }
        }
        // Objects are the tail beyond the chosen level: `≤ t` for dark, `> t` for bright.
        return dark ? bestV : max(0, bestV - 1)
    }

    /// The level on the objects' side of `level` whose pixels have the steepest mean gradient
    /// (over a 5-level window): where the smoothed edges are steepest, which is half-way across
    /// the objects' own edge contrast. `nil` when too few pixels lie on that side.
    static func edgeLevel(_ counts: [Int], _ gradients: [Int], level: Int, dark: Bool) -> Int? {
        let total = counts.reduce(0, +)
        let minimum = max(20, total / 20_000)
        let l = min(255, max(0, level))
        let range = dark ? 0..<l : min(255, l + 1)..<256
        var best = -1.0
        var bestV: Int?
        for v in range {
            var n = 0
            var g = 0
            for u in max(0, v - 2)...min(255, v + 2) {
                n += counts[u]
                g += gradients[u]
            }
            guard counts[v] > 0, n >= minimum else { continue }
            let mean = Double(g) / Double(n)
            if mean > best {
                best = mean
                bestV = v
            }
        }
        return bestV
    }
}
