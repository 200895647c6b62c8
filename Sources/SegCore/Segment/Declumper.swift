/// Splits touching objects of a thresholded mask (the `declump` step), one connected component at
/// a time, inside its bounding box:
///
/// 1. **Size.** The typical object radius `r` is the median, over all components, of the largest
///    inscribed radius (the maximum of a 3-4 chamfer distance transform). Everything below scales
///    with it, so the step needs no size parameter.
/// 2. **Intensity.** The component is flooded from its brightest pixels down (darkest for dark
///    objects), on the flattened image, with union-find. Where two flooded regions meet, they stay
///    apart when both already cover a quarter of a typical object (`0.25·π·r²`) and both rise at
///    least three noise standard deviations above the meeting level; otherwise the lower merges
///    into the higher. Touching nuclei separated by a dimmer seam come apart here.
/// 3. **Shape.** Inside each intensity region, a distance transform that treats the seams of step 2
///    as background is flooded from its maxima down the same way: two basins stay apart when both
///    maxima rise `max(0.5, 0.05·r)` px above the meeting level and lie at least `0.7·r` apart.
///    Touching convex shapes with a neck come apart here.
/// 4. **Cut.** Where two final regions touch, the pixels of one side are cleared, so the objects
///    are separate 8-connected components (and separate polygons).
///
/// This is marker-controlled watershed with markers chosen by area and dynamics, in the spirit of
/// CellProfiler's intensity-and-shape declumping; the constants were chosen on real fluorescence
/// images (docs/decisions.md) and hold for any object size because they scale with `r`.
struct Declumper {
    /// Minimum distance between the maxima of two split objects, as a fraction of `r`.
    static let separation = 0.7
    /// Minimum dynamic of a distance maximum, as a fraction of `r` (at least half a pixel).
    static let shapeDynamic = 0.05
    /// Minimum area of an intensity region before it may stay apart, as a fraction of `π·r²`.
    static let seedArea = 0.25
    /// Minimum dynamic of an intensity region, in standard deviations of the background's noise.
    static let intensityDynamic: Float = 3

    /// The pixels on the objects' side of the threshold start at `base`, in flattened working
    /// units with dark objects negated.
    let base: Float
    let dark: Bool
    /// The background's noise (a standard deviation of the smoothed, flattened image), in working units.
    let noise: Float

    private var scratch = Scratch()

    init(base: Float, dark: Bool, noise: Float) {
        self.base = base
        self.dark = dark
        self.noise = noise
    }

    /// Splits the objects of `plane` in place and returns how many objects were divided.
    mutating func split<S: FixedWidthInteger & UnsignedInteger>(_ plane: inout BitPlane, smoothed: [S], map: FlatteningMap) -> Int {
        let components = ComponentBoxes(plane)
        guard !components.boxes.isEmpty else { return 0 }
        // 1. the typical radius
        var radii: [Int] = []
        radii.reserveCapacity(components.boxes.count)
        for c in components.boxes.indices {
            scratch.load(components, c)
            radii.append(scratch.distances(barriers: false))
        }
        var sorted = radii
        sorted.sort()
        let r = Double(sorted[sorted.count / 2]) / 8  // distances are in eighths of a pixel
        guard r >= 1 else { return 0 }
        let seedArea = max(10, Self.seedArea * Double.pi * r * r)
        // Intensity levels are eighths of the dynamic the criterion asks for.
        let step = Self.intensityDynamic * noise / 8
        let shapeDynamic = Int32(max(4, 8 * Self.shapeDynamic * r).rounded())
        let separation = Self.separation * r
        var divided = 0
        smoothed.withUnsafeBufferPointer { src in
            guard let s = src.baseAddress else { return }
            for c in components.boxes.indices where radii[c] >= 16 && Double(components.boxes[c].area) >= 2 * seedArea {
                scratch.load(components, c)
                if step > 0 {
                    scratch.intensityLevels(s, map: map, base: base, step: step, dark: dark)
                    scratch.flood(.intensity(minArea: Int32(seedArea.rounded(.up)), dynamic: 8))
                } else {
                    scratch.singleRegion()
                }
                _ = scratch.distances(barriers: true)
                scratch.flood(.shape(dynamic: shapeDynamic, separation: separation))
                if scratch.cut(into: &plane) { divided += 1 }
            }
        }
        return divided
    }

    /// Bounding boxes and runs of the 8-connected components of a plane.
    struct ComponentBoxes {
        struct Box {
            var minX: Int
            var minY: Int
            var maxX: Int
            var maxY: Int
            var area: Int
            /// Where this component's runs start in `runOrder`.
            var firstRun: Int
            var runCount: Int
        }

        let runs: RunComponents
        var boxes: [Box] = []
        /// Run indices grouped by component.
        var runOrder: [Int32] = []

        init(_ plane: BitPlane) {
            runs = RunComponents(plane, background: false)
            var index = [Int32](repeating: -1, count: runs.labels.count)
            for i in runs.labels.indices {
                let root = Int(runs.labels[i])
                let x0 = Int(runs.starts[i])
                let x1 = Int(runs.ends[i]) - 1
                let y = Int(runs.rows[i])
                if index[root] < 0 {
                    index[root] = Int32(boxes.count)
                    boxes.append(Box(minX: x0, minY: y, maxX: x1, maxY: y, area: 0, firstRun: 0, runCount: 0))
                }
                let b = Int(index[root])
                boxes[b].minX = min(boxes[b].minX, x0)
                boxes[b].maxX = max(boxes[b].maxX, x1)
                boxes[b].maxY = max(boxes[b].maxY, y)
                boxes[b].area += x1 - x0 + 1
                boxes[b].runCount += 1
            }
            var next = 0
            for b in boxes.indices {
                boxes[b].firstRun = next
                next += boxes[b].runCount
            }
            var fill = boxes.map(\.firstRun)
            runOrder = [Int32](repeating: 0, count: runs.labels.count)
            for i in runs.labels.indices {
                let b = Int(index[Int(runs.labels[i])])
                runOrder[fill[b]] = Int32(i)
                fill[b] += 1
            }
        }
    }

    /// What decides whether two flooded regions that meet stay apart.
    enum Criterion {
        /// Both cover `minArea` pixels and rise `dynamic` levels above the meeting level.
        case intensity(minArea: Int32, dynamic: Int32)
        /// Both maxima rise `dynamic` above the meeting level and lie `separation` px apart.
        case shape(dynamic: Int32, separation: Double)
    }

    /// Per-component buffers, sized to the component's bounding box plus a one-pixel margin and
    /// reused from one component to the next.
    struct Scratch {
        var width = 0
        var height = 0
        var originX = 0
        var originY = 0
        /// Region of each pixel: -1 outside the component, else the id of its intensity region.
        var region: [Int32] = []
        /// Flood level of each pixel (intensity levels, then chamfer distances).
        var level: [Int32] = []
        var distance: [Int32] = []
        var parent: [Int32] = []
        var area: [Int32] = []
        var peak: [Int32] = []
        var peakAt: [Int32] = []
        var significant: [Bool] = []
        var values: [Float] = []
        var order: [Int32] = []
        var counts: [Int32] = []
        var column: [Int] = []
        var envelope: [Int] = []
        var bounds: [Double] = []

        mutating func resize(_ n: Int) {
            if region.count < n {
                region = [Int32](repeating: -1, count: n)
                level = [Int32](repeating: 0, count: n)
                distance = [Int32](repeating: 0, count: n)
                parent = [Int32](repeating: -1, count: n)
                area = [Int32](repeating: 0, count: n)
                peak = [Int32](repeating: 0, count: n)
                peakAt = [Int32](repeating: 0, count: n)
                significant = [Bool](repeating: false, count: n)
                values = [Float](repeating: 0, count: n)
                order = [Int32](repeating: 0, count: n)
            }
        }

        /// Loads component `c`: its pixels become region 0, everything else -1.
        mutating func load(_ components: ComponentBoxes, _ c: Int) {
            let box = components.boxes[c]
            width = box.maxX - box.minX + 3
            height = box.maxY - box.minY + 3
            originX = box.minX - 1
            originY = box.minY - 1
            let n = width * height
            resize(n)
            for i in 0..<n { region[i] = -1 }
            let runs = components.runs
            for k in box.firstRun..<(box.firstRun + box.runCount) {
                let i = Int(components.runOrder[k])
                let y = Int(runs.rows[i]) - originY
                let start = y * width + Int(runs.starts[i]) - originX
                let end = y * width + Int(runs.ends[i]) - originX
                for p in start..<end { region[p] = 0 }
            }
        }

        /// One region for the whole component (when intensities cannot split it).
        mutating func singleRegion() {
            for i in 0..<(width * height) where region[i] >= 0 { region[i] = 0 }
        }

        /// The Euclidean distance of every pixel of the component to the nearest pixel outside it
        /// (and, with `barriers`, to the nearest pixel on a seam between two regions), exact
        /// (Felzenszwalb and Huttenlocher's two passes over squared distances), in eighths of a
        /// pixel; returns the largest.
        mutating func distances(barriers: Bool) -> Int {
            let w = width
            let h = height
            let n = w * h
            if envelope.count < max(w, h) + 1 {
                envelope = [Int](repeating: 0, count: max(w, h) + 1)
                bounds = [Double](repeating: 0, count: max(w, h) + 2)
                column = [Int](repeating: 0, count: n)
            } else if column.count < n {
                column = [Int](repeating: 0, count: n)
            }
            var best: Int32 = 0
            region.withUnsafeBufferPointer { reg in
                distance.withUnsafeMutableBufferPointer { dist in
                    column.withUnsafeMutableBufferPointer { col in
                        envelope.withUnsafeMutableBufferPointer { env in
                            bounds.withUnsafeMutableBufferPointer { zb in
                                guard let g = reg.baseAddress, let d = dist.baseAddress, let f = col.baseAddress,
                                    let v = env.baseAddress, let z = zb.baseAddress
                                else { return }
                                // Features: outside the component, and seam pixels between regions.
                                @inline(__always) func feature(_ p: Int) -> Bool {
                                    let a = g[p]
                                    if a < 0 { return true }
                                    guard barriers else { return false }
                                    let x = p % w
                                    return (x > 0 && g[p - 1] >= 0 && g[p - 1] != a) || (x < w - 1 && g[p + 1] >= 0 && g[p + 1] != a)
                                        || (p >= w && g[p - w] >= 0 && g[p - w] != a) || (p + w < n && g[p + w] >= 0 && g[p + w] != a)
                                }
                                // Columns: distance to the nearest feature above or below (the margin rows are features).
                                for x in 0..<w {
                                    var last = -1
                                    for y in 0..<h {
                                        let p = y * w + x
                                        if feature(p) {
                                            f[p] = 0
                                            last = y
                                        } else {
                                            f[p] = last >= 0 ? y - last : h
                                        }
                                    }
                                    var next = -1
                                    for y in stride(from: h - 1, through: 0, by: -1) {
                                        let p = y * w + x
                                        if f[p] == 0 {
                                            next = y
                                        } else if next >= 0 {
                                            f[p] = min(f[p], next - y)
                                        }
                                    }
                                }
                                // Rows: the lower envelope of the parabolas (q − x)² + f(q)².
                                for y in 0..<h {
                                    let row = y * w
                                    var k = 0
                                    v[0] = 0
                                    z[0] = -.infinity
                                    z[1] = .infinity
                                    for q in 1..<w {
                                        let fq = f[row + q] * f[row + q] + q * q
                                        var r = v[k]
                                        var s = Double(fq - (f[row + r] * f[row + r] + r * r)) / Double(2 * (q - r))
                                        while s <= z[k] {  // z[0] is −∞, so this stops at k = 0
                                            k -= 1
                                            r = v[k]
                                            s = Double(fq - (f[row + r] * f[row + r] + r * r)) / Double(2 * (q - r))
                                        }
                                        k += 1
                                        v[k] = q
                                        z[k] = s
                                        z[k + 1] = .infinity
                                    }
                                    k = 0
                                    for q in 0..<w {
                                        while z[k + 1] < Double(q) { k += 1 }
                                        let p = row + q
                                        guard g[p] >= 0 else {
                                            d[p] = 0
                                            continue
                                        }
                                        let dx = q - v[k]
                                        let fr = f[row + v[k]]
                                        let level = Int32((Double(dx * dx + fr * fr).squareRoot() * 8).rounded())
                                        d[p] = level
                                        if level > best { best = level }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return Int(best)
        }

        /// Intensity levels of the component's pixels: `(f − base) / step`, f the flattened value
        /// (negated for dark objects), clamped to 0…4095.
        mutating func intensityLevels<S: FixedWidthInteger & UnsignedInteger>(
            _ smoothed: UnsafePointer<S>, map: FlatteningMap, base: Float, step: Float, dark: Bool
        ) {
            let w = width
            // The window without the margin (which may lie outside the image).
            let x0 = originX + 1
            let y0 = originY + 1
            let iw = w - 2
            let ih = height - 2
            values.withUnsafeMutableBufferPointer { v in
                guard let out = v.baseAddress else { return }
                map.flattened(smoothed, x0: x0, y0: y0, w: iw, h: ih, into: out + w + 1, stride: w)
            }
            let sign: Float = dark ? -1 : 1
            for y in 1..<(height - 1) {
                for x in 1..<(w - 1) {
                    let p = y * w + x
                    guard region[p] >= 0 else { continue }
                    level[p] = Int32(min(4095, max(0, (sign * values[p] - base) / step)))
                }
            }
        }

        private mutating func find(_ i: Int32) -> Int32 {
            var root = i
            while parent[Int(root)] != root { root = parent[Int(root)] }
            var j = i
            while parent[Int(j)] != root {
                let next = parent[Int(j)]
                parent[Int(j)] = root
                j = next
            }
            return root
        }

        /// Floods the component from its highest level down with union-find; regions that meet
        /// stay apart when `criterion` says so. Afterwards `region` holds each pixel's final region.
        mutating func flood(_ criterion: Criterion) {
            let w = width
            let n = w * height
            let levels: [Int32]
            if case .shape = criterion { levels = distance } else { levels = level }
            var maxLevel: Int32 = 0
            for p in 0..<n where region[p] >= 0 { maxLevel = max(maxLevel, levels[p]) }
            // bucket sort, highest level first
            counts = [Int32](repeating: 0, count: Int(maxLevel) + 2)
            for p in 0..<n where region[p] >= 0 { counts[Int(maxLevel - levels[p]) + 1] += 1 }
            for k in 1..<counts.count { counts[k] += counts[k - 1] }
            for p in 0..<n where region[p] >= 0 {
                let k = Int(maxLevel - levels[p])
                order[Int(counts[k])] = Int32(p)
                counts[k] += 1
            }
            let total = Int(counts[counts.count - 2])
            for p in 0..<n { parent[p] = -1 }
            let offsets = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1]
            var roots = [Int32](repeating: 0, count: 8)
            for k in 0..<total {
                let p = Int(order[k])
                let l = levels[p]
                var m = 0
                for o in offsets {
                    let q = p + o
                    guard parent[q] >= 0, region[q] == region[p] else { continue }
                    let root = find(Int32(q))
                    if !roots[0..<m].contains(root) {
                        roots[m] = root
                        m += 1
                    }
                }
                if m == 0 {
                    parent[p] = Int32(p)
                    area[p] = 1
                    peak[p] = l
                    peakAt[p] = Int32(p)
                    significant[p] = false
                    continue
                }
                // highest peak first
                for i in 1..<max(1, m) {
                    var j = i
                    while j > 0, peak[Int(roots[j])] > peak[Int(roots[j - 1])] {
                        roots.swapAt(j, j - 1)
                        j -= 1
                    }
                }
                var target = roots[0]
                switch criterion {
                case .intensity(let minArea, let dynamic):
                    for i in 0..<m {
                        let r = Int(roots[i])
                        if !significant[r], area[r] >= minArea, peak[r] - l >= dynamic { significant[r] = true }
                    }
                    if let first = roots[0..<m].first(where: { significant[Int($0)] }) { target = first }
                    for i in 0..<m where roots[i] != target {
                        let r = Int(roots[i])
                        if significant[r] && significant[Int(target)] { continue }
                        parent[r] = target
                        area[Int(target)] += area[r]
                    }
                case .shape(let dynamic, let separation):
                    let t = Int(target)
                    for i in 1..<m {
                        let r = Int(roots[i])
                        let a = Int(peakAt[t])
                        let b = Int(peakAt[r])
                        let dx = Double(a % w - b % w)
                        let dy = Double(a / w - b / w)
                        if peak[t] - l >= dynamic, peak[r] - l >= dynamic, dx * dx + dy * dy >= separation * separation { continue }
                        parent[r] = target
                        area[t] += area[r]
                    }
                }
                parent[p] = target
                area[Int(target)] += 1
            }
            for p in 0..<n where region[p] >= 0 { region[p] = find(Int32(p)) }
        }

        /// Clears, in `plane`, every pixel that touches a pixel of another region with a smaller id;
        /// returns whether the component had more than one region.
        mutating func cut(into plane: inout BitPlane) -> Bool {
            let w = width
            var first: Int32 = -1
            var several = false
            for p in 0..<(w * height) where region[p] >= 0 {
                if first < 0 { first = region[p] } else if region[p] != first { several = true }
            }
            guard several else { return false }
            let offsets = [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1]
            for y in 1..<(height - 1) {
                for x in 1..<(w - 1) {
                    let p = y * w + x
                    let a = region[p]
                    guard a >= 0 else { continue }
                    if offsets.contains(where: { region[p + $0] >= 0 && region[p + $0] < a }) {
                        plane.setRun(y: originY + y, start: originX + x, end: originX + x + 1, false)
                    }
                }
            }
            return true
        }
    }
}
