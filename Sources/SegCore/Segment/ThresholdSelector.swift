import Foundation

/// Polarity detection and global thresholds on a histogram of the flattened image (256 bins of
/// one level for 8-bit images, up to 4096 bins for deeper ones; see ``HistogramScale``).
enum ThresholdSelector {
    /// The background's peak in the histogram: its bin and its spread (a standard deviation, in bins).
    struct Background: Equatable {
        var mode: Int
        var sigma: Double
    }

    /// How far from the background a pixel must lie (in background standard deviations) to count
    /// as departing from it.
    static let departure = 6.0
    /// Share of the pixels that must depart on one side for that side to hold objects.
    static let minimumShare = 0.0005
    /// When both sides depart, bright objects win only with this many times the dark side's mass.
    static let brightDominance = 8.0
    /// Both sides count as departing together when the weaker side has this share of the stronger's mass.
    static let twoSidedShare = 0.05
    /// The enclosure test of two-sided images uses pixels this many standard deviations from the background.
    static let enclosureReach = 3.0

    /// The highest bin of the histogram (lightly smoothed) and the background's spread: on each
    /// side of that peak, the median distance from it of that side's pixels and half the peak
    /// bin's own, divided by 0.6745 (a normal distribution's MAD); the narrower side is taken,
    /// since objects widen the other one. Robust to histograms whose occupied levels form a comb
    /// (cameras that skip levels) and to noise-free images (the peak bin then holds the median).
    static func background(_ histogram: [Int]) -> Background? {
        let n = histogram.count
        guard n > 0 else { return nil }
        var smoothed = [Double](repeating: 0, count: n)
        for v in 0..<n {
            smoothed[v] = Double(2 * histogram[v] + histogram[max(0, v - 1)] + histogram[min(n - 1, v + 1)]) / 4
        }
        guard let mode = smoothed.indices.max(by: { smoothed[$0] < smoothed[$1] }), smoothed[mode] > 0 else { return nil }
        let total = histogram.reduce(0, +)
        let atMode = Double(histogram[mode]) / 2
        func medianDistance(_ bins: StrideTo<Int>) -> Double? {
            let count = atMode + Double(bins.reduce(0) { $0 + histogram[$1] })
            guard count * 100 >= Double(total) else { return nil }  // under 1 %: too few to measure
            var seen = atMode
            if 2 * seen >= count { return 0 }
            for v in bins {
                seen += Double(histogram[v])
                if 2 * seen >= count { return Double(abs(v - mode)) }
            }
            return nil
        }
        let left = medianDistance(stride(from: mode - 1, to: -1, by: -1))
        let right = medianDistance(stride(from: mode + 1, to: n, by: 1))
        let spread = [left, right].compactMap { $0 }.min() ?? 0
        return Background(mode: mode, sigma: max(0.5, spread / 0.6745))
    }

    /// Which sides of the background's peak hold pixels that depart from it.
    struct Departures: Equatable {
        /// More than ``minimumShare`` of the pixels lie ``departure`` standard deviations below the peak.
        var dark: Bool
        /// The same above the peak.
        var bright: Bool
        /// Distance-weighted masses of the departing pixels (in bins × pixels).
        var darkMass: Double
        var brightMass: Double

        /// Both sides depart, the weaker with at least ``twoSidedShare`` of the stronger's mass:
        /// phase contrast (dark cells in bright halos), or defocused brightfield (bright cells in
        /// dark rims, or the reverse).
        var twoSided: Bool {
            dark && bright && min(darkMass, brightMass) >= ThresholdSelector.twoSidedShare * max(darkMass, brightMass)
        }

        /// Objects dark or bright from the masses alone, or `nil` when nothing departs (an empty or
        /// uniform image). When both sides depart, objects are dark unless the bright side's mass is
        /// ``brightDominance`` times the dark side's; ``BuiltinSegmenter`` first asks which side
        /// encloses the other (``enclosure``).
        var polarity: SegmenterParameters.Polarity? {
            switch (dark, bright) {
            case (false, false): return nil
            case (true, false): return .dark
            case (false, true): return .bright
            case (true, true): return brightMass >= brightDominance * darkMass ? .bright : .dark
            }
        }
    }

    /// Measures which sides of the background's peak depart from it: a side does when more than
    /// ``minimumShare`` of the pixels lie ``departure`` standard deviations beyond the peak on it.
    static func departures(_ histogram: [Int], background bg: Background?) -> Departures? {
        guard let bg else { return nil }
        let reach = max(departure * bg.sigma, 2)
        let low = Double(bg.mode) - reach
        let high = Double(bg.mode) + reach
        var darkCount = 0
        var brightCount = 0
        var darkMass = 0.0
        var brightMass = 0.0
        var total = 0
        for v in histogram.indices where histogram[v] > 0 {
            total += histogram[v]
            let value = Double(v)
            if value < low {
                darkCount += histogram[v]
                darkMass += (low - value) * Double(histogram[v])
            }
            if value > high {
                brightCount += histogram[v]
                brightMass += (value - high) * Double(histogram[v])
            }
        }
        let needed = max(1, Int((minimumShare * Double(total)).rounded(.up)))
        return Departures(dark: darkCount >= needed, bright: brightCount >= needed, darkMass: darkMass, brightMass: brightMass)
    }

    /// Whether objects are darker or brighter than the background (see ``Departures/polarity``),
    /// or `nil` when nothing departs from it.
    static func detectPolarity(_ histogram: [Int]) -> SegmenterParameters.Polarity? {
        departures(histogram, background: background(histogram))?.polarity
    }

    /// The histogram with everything on the background's far side of `level` folded into
    /// `level`'s bin, so that a bright halo around dark objects (or dark specks around bright
    /// ones) cannot pull the threshold.
    static func folded(_ histogram: [Int], level: Int, dark: Bool) -> [Int] {
        var h = histogram
        let n = h.count
        let l = min(n - 1, max(0, level))
        if dark {
            for v in (l + 1)..<max(l + 1, n) {
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
        let n = histogram.count
        let total = Double(histogram.reduce(0, +))
        guard total > 0 else { return nil }
        var sumAll = 0.0
        for v in 0..<n { sumAll += Double(v) * Double(histogram[v]) }
        var weight0 = 0.0
        var sum0 = 0.0
        var best = 0.0
        var bestT: Int?
        for t in 0..<max(0, n - 1) {
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

    /// Li's minimum cross-entropy threshold (Li & Lee 1993, Li & Tam 1998, as scikit-image's
    /// `threshold_li` iterates it from the mean), on bin values measured from the lowest occupied
    /// bin so that an offset does not change it. Classes `≤ t` and `> t`; for dark objects the
    /// histogram is mirrored first, so the objects are always the class the formula favours.
    /// `nil` when the histogram has fewer than two occupied bins.
    static func li(_ histogram: [Int], dark: Bool) -> Int? {
        let h = dark ? Array(histogram.reversed()) : histogram
        guard let first = h.firstIndex(where: { $0 > 0 }), let last = h.lastIndex(where: { $0 > 0 }), last > first else { return nil }
        var total = 0.0
        var sum = 0.0
        for v in first...last {
            total += Double(h[v])
            sum += Double(v - first) * Double(h[v])
        }
        var t = sum / total  // the mean, in values from `first`
        var cut = -1
        for _ in 0..<256 {
            // classes: value ≤ t (background) and value > t (objects)
            let k = min(last - first - 1, max(0, Int(t.rounded(.down))))
            var n0 = 0.0
            var s0 = 0.0
            for v in first...(first + k) {
                n0 += Double(h[v])
                s0 += Double(v - first) * Double(h[v])
            }
            let n1 = total - n0
            guard n0 > 0, n1 > 0 else { break }
            let m0 = s0 / n0
            let m1 = (sum - s0) / n1
            guard m0 > 0, m1 > m0 else {
                cut = k
                break
            }
            let next = (m1 - m0) / (log(m1) - log(m0))
            cut = k
            if abs(next - t) < 0.5 {
                cut = min(last - first - 1, max(0, Int(next.rounded(.down))))
                break
            }
            t = next
        }
        guard cut >= 0 else { return nil }
        let bin = first + cut
        // Mirrored back: objects (`> bin` in the mirror) are `< n - 1 - bin`, i.e. `≤ n - 2 - bin`.
        return dark ? histogram.count - 2 - bin : bin
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
    /// (over a 5-bin window): where the smoothed edges are steepest, which is half-way across
    /// the objects' own edge contrast. `nil` when too few pixels lie on that side.
    static func edgeLevel(_ counts: [Int], _ gradients: [Int], level: Int, dark: Bool) -> Int? {
        let n = counts.count
        let total = counts.reduce(0, +)
        let minimum = max(20, total / 20_000)
        let l = min(n - 1, max(0, level))
        let range = dark ? 0..<l : min(n - 1, l + 1)..<n
        var best = -1.0
        var bestV: Int?
        for v in range {
            var c = 0
            var g = 0
            for u in max(0, v - 2)...min(n - 1, v + 2) {
                c += counts[u]
                g += gradients[u]
            }
            guard counts[v] > 0, c >= minimum else { continue }
            let mean = Double(g) / Double(c)
            if mean > best {
                best = mean
                bestV = v
            }
        }
        return bestV
    }
}
