/// Splits touching objects of a thresholded mask (the `declump` step), one connected component at
/// a time, inside its bounding box:
///
/// 1. **Size.** The typical object radius `r` is the median, over the components (up to 256 of
///    them, evenly spread), of the largest inscribed radius (the maximum of an exact Euclidean
///    distance transform). Specks are left out: components under a hundredth of the area most
///    foreground belongs to (the area-weighted median area) or with an inscribed radius under
///    2 px. Everything below scales with `r`, so the step needs no size parameter.
/// 2. **Intensity.** The component is flooded from its brightest pixels down (darkest for dark
///    objects), on the flattened image, with union-find. Where two flooded regions meet, they stay
///    apart when both already cover a quarter of a typical object (`0.25·π·r²`) and both rise above
///    the meeting level by three noise standard deviations and by a twentieth of their own height
///    above the threshold; otherwise the lower merges into the higher. Touching nuclei separated by
///    a dimmer seam come apart here; texture and noise on a bright object do not.
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
///
/// Components that cannot hold two objects are left alone: too small for two seeds, or convex
/// and no larger than one typical object. Objects larger than 24 px across are declumped on a
/// copy of the mask and image reduced so that a typical object is about 24 px across (a
/// watershed needs no finer grid to find them); each pixel of the full-size mask then takes the
/// region its neighbourhood on the reduced grid votes for, bilinearly, so the cuts stay smooth.
struct Declumper {
    /// Minimum distance between the maxima of two split objects, as a fraction of `r`.
    static let separation = 0.7
    /// Minimum dynamic of a distance maximum, as a fraction of `r` (at least half a pixel).
    static let shapeDynamic = 0.05
    /// Minimum area of an intensity region before it may stay apart, as a fraction of `π·r²`.
    static let seedArea = 0.25
    /// Minimum dynamic of an intensity region, in standard deviations of the background's noise.
    static let intensityDynamic: Float = 3
    /// Minimum dynamic of an intensity region, as a fraction of its peak's height above the threshold.
    static let relativeDynamic: Int32 = 20
    /// Components at most this many times a typical object's area are skipped when convex.
    static let singleArea = 1.3
    /// Convex enough to be one object: area over the area of its row-extent hull.
    static let singleSolidity = 0.95
    /// The typical radius, in px, at and below which the mask is declumped at full size.
    static let fullSizeRadius = 12.0
    /// Components under the area-weighted median area divided by this are specks.
    static let speckRatio = 100
    /// How many components the typical radius is measured on.
    static let radiusSample = 256

    /// The pixels on the objects' side of the threshold start at `base`, in flattened working
    /// units with dark objects negated.
    let base: Float
    let dark: Bool
    /// The background's noise (a standard deviation of the smoothed, flattened image), in working units.
    let noise: Float

    init(base: Float, dark: Bool, noise: Float) {
        self.base = base
        self.dark = dark
        self.noise = noise
    }

    /// Splits the objects of `plane` in place and returns how many objects were divided.
    func split<S: FixedWidthInteger & UnsignedInteger>(_ plane: inout BitPlane, smoothed: [S], map: FlatteningMap) -> Int {
        let components = ComponentBoxes(plane)
        guard !components.boxes.isEmpty else { return 0 }
        let workspace = Workspace()
        // Specks do not size the objects: components under a hundredth of the area most foreground
        // belongs to (the area-weighted median), and under a disc of radius 2 px. A first guess of
        // the size from the others' areas decides the grid; the radius is then measured on it.
        let areas = components.boxes.map { Double($0.area) }
        let speck = max(4 * Double.pi, Self.weightedMedian(areas.map { ($0, Int($0)) }) / Double(Self.speckRatio))
        let areaRadius = (Self.median(areas.filter { $0 >= speck }) / Double.pi).squareRoot()
        let factor = max(1, Int(areaRadius / Self.fullSizeRadius))
        if factor == 1 {
            return smoothed.withUnsafeBufferPointer { src -> Int in
                guard let s = src.baseAddress else { return 0 }
                return splitComponents(components, workspace: workspace, scale: 1, speck: speck) { x0, y0, w, h, out, stride in
                    map.flattened(s, x0: x0, y0: y0, w: w, h: h, into: out, stride: stride)
                } apply: { box in
                    workspace.cut(into: &plane)
                    _ = box
                }
            }
        }
        // Reduced grid: a cell is foreground when most of its pixels are; its value is the
        // flattened image at the cell's centre.
        let reduced = plane.reduced(by: factor)
        let samples = smoothed.withUnsafeBufferPointer { src -> [Float] in
            guard let s = src.baseAddress else { return [] }
            return map.flattenedSamples(s, step: factor, columns: reduced.width, rows: reduced.height)
        }
        let labels = LabelGrid(width: reduced.width, height: reduced.height)
        var splitBoxes: [(minX: Int, minY: Int, maxX: Int, maxY: Int)] = []
        let divided = samples.withUnsafeBufferPointer { values -> Int in
            guard let v = values.baseAddress else { return 0 }
            return splitComponents(ComponentBoxes(reduced), workspace: workspace, scale: Double(factor), speck: speck / Double(factor * factor)) {
                x0, y0, w, h, out, stride in
                for r in 0..<h {
                    for c in 0..<w { out[r * stride + c] = v[(y0 + r) * reduced.width + x0 + c] }
                }
            } apply: { box in
                workspace.store(into: labels)
                splitBoxes.append((box.minX, box.minY, box.maxX, box.maxY))
            }
        }
        for box in splitBoxes { labels.cutFullSize(&plane, factor: factor, box: box) }
        return divided
    }

    /// Runs the intensity and shape stages on every component that may hold several objects;
    /// `apply` is called, with the workspace holding the regions, for each that split.
    private func splitComponents(
        _ components: ComponentBoxes, workspace: Workspace, scale: Double, speck: Double,
        values: (Int, Int, Int, Int, UnsafeMutablePointer<Float>, Int) -> Void, apply: (ComponentBoxes.Box) -> Void
    ) -> Int {
        // 1. the typical radius, on an even sample of the components
        let count = components.boxes.count
        let sized = components.boxes.indices.filter { Double(components.boxes[$0].area) >= speck }
        let stride = max(1, sized.count / Self.radiusSample)
        var radii: [Double] = []
        for k in Swift.stride(from: 0, to: sized.count, by: stride) {
            let c = sized[k]
            workspace.load(components, c)
            radii.append(Double(workspace.distances(barriers: false)) / 8)  // eighths of a pixel
        }
        // Specks (inscribed radius under 2 px) are not objects to size the rest by.
        let r = Self.median(radii.filter { $0 >= 2 })
        guard r >= 1 else { return 0 }
        let seedArea = max(10 / (scale * scale), Self.seedArea * Double.pi * r * r)
        // Intensity levels are eighths of the dynamic the criterion asks for.
        let step = Self.intensityDynamic * noise / 8
        let shapeDynamic = Int32(max(4 / scale, 8 * Self.shapeDynamic * r).rounded())
        let separation = Self.separation * r
        let single = Self.singleArea * Double.pi * r * r
        var divided = 0
        for c in 0..<count {
            let box = components.boxes[c]
            let area = Double(box.area)
            guard area >= 2 * seedArea else { continue }
            if area <= single, components.solidity(c) >= Self.singleSolidity { continue }
            workspace.load(components, c)
            if step > 0 {
                workspace.intensityLevels(base: base, step: step, dark: dark, values: values)
                workspace.flood(.intensity(minArea: Int32(seedArea.rounded(.up)), dynamic: 8))
            } else {
                workspace.singleRegion()
            }
            _ = workspace.distances(barriers: true)
            workspace.flood(.shape(dynamic: shapeDynamic, separation: separation))
            if workspace.hasSeveralRegions() {
                apply(box)
                divided += 1
            }
        }
        return divided
    }

    /// The median of `values` where each counts `weight` times.
    static func weightedMedian(_ values: [(value: Double, weight: Int)]) -> Double {
        let sorted = values.sorted { $0.value < $1.value }
        let total = sorted.reduce(0) { $0 + $1.weight }
        var seen = 0
        for (value, weight) in sorted {
            seen += weight
            if 2 * seen >= total { return value }
        }
        return sorted.last?.value ?? 0
    }

    /// The median of `values` (the upper one for an even count; 0 when empty).
    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        return values.sorted()[values.count / 2]
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

        /// Area over the area of the convex hull of the component's row extents (leftmost and
        /// rightmost pixel corners of each row): 1 for a convex shape, less for a pair with a neck.
        func solidity(_ c: Int) -> Double {
            let box = boxes[c]
            var left = [Int](repeating: Int.max, count: box.maxY - box.minY + 1)
            var right = [Int](repeating: Int.min, count: left.count)
            for k in box.firstRun..<(box.firstRun + box.runCount) {
                let i = Int(runOrder[k])
                let y = Int(runs.rows[i]) - box.minY
                left[y] = min(left[y], Int(runs.starts[i]))
                right[y] = max(right[y], Int(runs.ends[i]))
            }
            var points: [Point2D] = []
            points.reserveCapacity(4 * left.count)
            for (y, (l, r)) in zip(left, right).enumerated() where l <= r {
                points.append(Point2D(x: Double(l), y: Double(y)))
                points.append(Point2D(x: Double(l), y: Double(y + 1)))
                points.append(Point2D(x: Double(r), y: Double(y)))
                points.append(Point2D(x: Double(r), y: Double(y + 1)))
            }
            let hull = points.withUnsafeBufferPointer { ConvexHull($0).area }
            return hull > 0 ? Double(box.area) / hull : 1
        }
    }

    /// What decides whether two flooded regions that meet stay apart.
    enum Criterion {
        /// Both cover `minArea` pixels and rise `dynamic` levels above the meeting level.
        case intensity(minArea: Int32, dynamic: Int32)
        /// Both maxima rise `dynamic` above the meeting level and lie `separation` px apart.
        case shape(dynamic: Int32, separation: Double)
    }

    /// Region labels on the reduced grid (-1 where nothing was split).
    final class LabelGrid {
        let width: Int
        let height: Int
        var labels: [Int32]

        init(width: Int, height: Int) {
            self.width = width
            self.height = height
            labels = [Int32](repeating: -1, count: width * height)
        }

        /// Cuts the full-size objects of `box` (reduced-grid coordinates) where their regions meet:
        /// a full-size pixel takes the region its four nearest cells vote for, bilinearly, and is
        /// cleared when a neighbour took a region with a smaller id. Only pixels in cells next to a
        /// change of region are looked at (each vote computed once), so the work follows the cuts'
        /// length, not the objects' area.
        func cutFullSize(_ plane: inout BitPlane, factor f: Int, box: (minX: Int, minY: Int, maxX: Int, maxY: Int)) {
            let x0 = box.minX * f
            let y0 = box.minY * f
            let x1 = min(plane.width, (box.maxX + 1) * f)
            let y1 = min(plane.height, (box.maxY + 1) * f)
            let w = x1 - x0
            let h = y1 - y0
            guard w > 0, h > 0 else { return }
            let gridWidth = width
            let gridHeight = height
            let scale = 1 / Double(f)
            // Cells whose 3×3 neighbourhood holds two regions, widened by one cell.
            let cw = box.maxX - box.minX + 1
            let ch = box.maxY - box.minY + 1
            var mixed = [Bool](repeating: false, count: cw * ch)
            var band = [Bool](repeating: false, count: cw * ch)
            var cuts: [(x: Int, y: Int)] = []
            labels.withUnsafeBufferPointer { grid in
                @inline(__always) func cell(_ gx: Int, _ gy: Int) -> Int32 {
                    gx >= 0 && gy >= 0 && gx < gridWidth && gy < gridHeight ? grid[gy * gridWidth + gx] : -1
                }
                for cy in 0..<ch {
                    for cx in 0..<cw {
                        var first: Int32 = -1
                        var two = false
                        for dy in -1...1 {
                            for dx in -1...1 {
                                let l = cell(box.minX + cx + dx, box.minY + cy + dy)
                                if l < 0 { continue }
                                if first < 0 { first = l } else if l != first { two = true }
                            }
                        }
                        mixed[cy * cw + cx] = two
                    }
                }
                for cy in 0..<ch {
                    for cx in 0..<cw where mixed[cy * cw + cx] {
                        for dy in max(0, cy - 1)...min(ch - 1, cy + 1) {
                            for dx in max(0, cx - 1)...min(cw - 1, cx + 1) { band[dy * cw + dx] = true }
                        }
                    }
                }
                // Votes, computed at most once per pixel (-2: not yet).
                var votes = [Int32](repeating: -2, count: w * h)
                votes.withUnsafeMutableBufferPointer { memo in
                    func label(_ x: Int, _ y: Int) -> Int32 {
                        let k = (y - y0) * w + x - x0
                        if memo[k] != -2 { return memo[k] }
                        var best: Int32 = -1
                        if plane.isSet(x: x, y: y) {
                            let u = (Double(x) + 0.5) * scale - 0.5
                            let v = (Double(y) + 0.5) * scale - 0.5
                            let cx = Int(u.rounded(.down))
                            let cy = Int(v.rounded(.down))
                            let tx = u - Double(cx)
                            let ty = v - Double(cy)
                            let l = (cell(cx, cy), cell(cx + 1, cy), cell(cx, cy + 1), cell(cx + 1, cy + 1))
                            let g = ((1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty)
                            var bestWeight = 0.0
                            for candidate in [l.0, l.1, l.2, l.3] where candidate >= 0 {
                                let total =
                                    (l.0 == candidate ? g.0 : 0) + (l.1 == candidate ? g.1 : 0) + (l.2 == candidate ? g.2 : 0)
                                    + (l.3 == candidate ? g.3 : 0)
                                if total > bestWeight {
                                    best = candidate
                                    bestWeight = total
                                }
                            }
                        }
                        memo[k] = best
                        return best
                    }
                    for cy in 0..<ch {
                        for cx in 0..<cw where band[cy * cw + cx] {
                            for y in max(y0, (box.minY + cy) * f)..<min(y1, (box.minY + cy + 1) * f) {
                                for x in max(x0, (box.minX + cx) * f)..<min(x1, (box.minX + cx + 1) * f) {
                                    let a = label(x, y)
                                    guard a >= 0 else { continue }
                                    var cut = false
                                    for ny in max(y0, y - 1)...min(y1 - 1, y + 1) {
                                        for nx in max(x0, x - 1)...min(x1 - 1, x + 1) where nx != x || ny != y {
                                            let b = label(nx, ny)
                                            if b >= 0 && b < a { cut = true }
                                        }
                                    }
                                    if cut { cuts.append((x, y)) }
                                }
                            }
                        }
                    }
                }
            }
            for (x, y) in cuts { plane.setRun(y: y, start: x, end: x + 1, false) }
        }
    }

    /// Per-component buffers, sized to the component's bounding box plus a one-pixel margin and
    /// reused from one component to the next. Raw memory: the flood touches every pixel several
    /// times, and array bounds and uniqueness checks would cost more than the work.
    final class Workspace {
        var width = 0
        var height = 0
        var originX = 0
        var originY = 0
        private var capacity = 0
        /// Region of each pixel: -1 outside the component, else the id of its region.
        private(set) var region = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        /// Flood level of each pixel: intensity levels.
        private var level = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        /// Euclidean distances in eighths of a pixel.
        private var distance = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        private var parent = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        private var area = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        private var peak = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        private var peakAt = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        private var significant = UnsafeMutablePointer<Bool>.allocate(capacity: 0)
        private var values = UnsafeMutablePointer<Float>.allocate(capacity: 0)
        private var order = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
        private var column = UnsafeMutablePointer<Int>.allocate(capacity: 0)
        private var envelope: [Int] = []
        private var bounds: [Double] = []

        deinit { release() }

        private func release() {
            region.deallocate()
            level.deallocate()
            distance.deallocate()
            parent.deallocate()
            area.deallocate()
            peak.deallocate()
            peakAt.deallocate()
            significant.deallocate()
            values.deallocate()
            order.deallocate()
            column.deallocate()
        }

        private func reserve(_ n: Int) {
            guard n > capacity else { return }
            release()
            capacity = max(n, capacity * 2)
            region = .allocate(capacity: capacity)
            level = .allocate(capacity: capacity)
            distance = .allocate(capacity: capacity)
            parent = .allocate(capacity: capacity)
            area = .allocate(capacity: capacity)
            peak = .allocate(capacity: capacity)
            peakAt = .allocate(capacity: capacity)
            significant = .allocate(capacity: capacity)
            values = .allocate(capacity: capacity)
            order = .allocate(capacity: capacity)
            column = .allocate(capacity: capacity)
        }

        /// Loads component `c`: its pixels become region 0, everything else -1.
        func load(_ components: ComponentBoxes, _ c: Int) {
            let box = components.boxes[c]
            width = box.maxX - box.minX + 3
            height = box.maxY - box.minY + 3
            originX = box.minX - 1
            originY = box.minY - 1
            let n = width * height
            reserve(n)
            region.update(repeating: -1, count: n)
            let runs = components.runs
            for k in box.firstRun..<(box.firstRun + box.runCount) {
                let i = Int(components.runOrder[k])
                let y = Int(runs.rows[i]) - originY
                let start = y * width + Int(runs.starts[i]) - originX
                let end = y * width + Int(runs.ends[i]) - originX
                (region + start).update(repeating: 0, count: end - start)
            }
        }

        /// One region for the whole component (when intensities cannot split it).
        func singleRegion() {
            for i in 0..<(width * height) where region[i] >= 0 { region[i] = 0 }
        }

        /// The Euclidean distance of every pixel of the component to the nearest pixel outside it
        /// (and, with `barriers`, to the nearest pixel on a seam between two regions), exact
        /// (Felzenszwalb and Huttenlocher's two passes over squared distances), in eighths of a
        /// pixel; returns the largest.
        func distances(barriers: Bool) -> Int {
            let w = width
            let h = height
            let n = w * h
            if envelope.count < max(w, h) + 1 {
                envelope = [Int](repeating: 0, count: max(w, h) + 1)
                bounds = [Double](repeating: 0, count: max(w, h) + 2)
            }
            let g = region
            let f = column
            let d = distance  // locals: the loops must not reload them from the object
            // Features: outside the component, and seam pixels between regions.
            @inline(__always) func feature(_ p: Int, _ x: Int) -> Bool {
                let a = g[p]
                if a < 0 { return true }
                guard barriers else { return false }
                return (x > 0 && g[p - 1] >= 0 && g[p - 1] != a) || (x < w - 1 && g[p + 1] >= 0 && g[p + 1] != a)
                    || (p >= w && g[p - w] >= 0 && g[p - w] != a) || (p + w < n && g[p + w] >= 0 && g[p + w] != a)
            }
            // Columns: distance to the nearest feature above or below (the margin rows are features).
            for x in 0..<w {
                var last = -1
                for y in 0..<h {
                    let p = y * w + x
                    if feature(p, x) {
                        f[p] = 0
                        last = y
                    } else {
                        f[p] = last >= 0 ? y - last : h
                    }
                }
                var next = -1
                for y in Swift.stride(from: h - 1, through: 0, by: -1) {
                    let p = y * w + x
                    if f[p] == 0 {
                        next = y
                    } else if next >= 0 {
                        f[p] = min(f[p], next - y)
                    }
                }
            }
            var best: Int32 = 0
            envelope.withUnsafeMutableBufferPointer { env in
                bounds.withUnsafeMutableBufferPointer { zb in
                    guard let v = env.baseAddress, let z = zb.baseAddress else { return }
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
            return Int(best)
        }

        /// Intensity levels of the component's pixels: `(f − base) / step`, f the flattened value
        /// (negated for dark objects) that `values` writes for a window, clamped to 0…4095.
        func intensityLevels(
            base: Float, step: Float, dark: Bool, values fill: (Int, Int, Int, Int, UnsafeMutablePointer<Float>, Int) -> Void
        ) {
            let w = width
            // The window without the margin (which may lie outside the image).
            fill(originX + 1, originY + 1, w - 2, height - 2, values + w + 1, w)
            let sign: Float = dark ? -1 : 1
            for y in 1..<(height - 1) {
                for x in 1..<(w - 1) {
                    let p = y * w + x
                    guard region[p] >= 0 else { continue }
                    level[p] = Int32(min(4095, max(0, (sign * values[p] - base) / step)))
                }
            }
        }

        /// Floods the component from its highest level down with union-find; regions that meet
        /// stay apart when `criterion` says so. Afterwards `region` holds each pixel's final region.
        func flood(_ criterion: Criterion) {
            let w = width
            let n = w * height
            // Locals, so that the loops do not reload the buffers from the object.
            let region = region
            let parent = parent
            let area = area
            let peak = peak
            let peakAt = peakAt
            let significant = significant
            let order = order
            let levels: UnsafeMutablePointer<Int32>
            if case .shape = criterion { levels = distance } else { levels = level }
            var maxLevel: Int32 = 0
            for p in 0..<n where region[p] >= 0 { maxLevel = max(maxLevel, levels[p]) }
            // bucket sort, highest level first
            let buckets = Int(maxLevel) + 2
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: buckets)
            defer { counts.deallocate() }
            counts.update(repeating: 0, count: buckets)
            for p in 0..<n where region[p] >= 0 { counts[Int(maxLevel &- levels[p]) &+ 1] &+= 1 }
            for k in 1..<buckets { counts[k] &+= counts[k - 1] }
            for p in 0..<n where region[p] >= 0 {
                let k = Int(maxLevel &- levels[p])
                order[counts[k]] = Int32(truncatingIfNeeded: p)
                counts[k] &+= 1
            }
            let total = counts[buckets - 2]
            parent.update(repeating: -1, count: n)
            @inline(__always) func find(_ i: Int32) -> Int32 { UnionFind.root(of: i, in: parent) }
            let offsets = (-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1)
            var roots: (Int32, Int32, Int32, Int32, Int32, Int32, Int32, Int32) = (0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &roots) { rootBytes in
                withUnsafeBytes(of: offsets) { offsetBytes in
                    guard let rootBase = rootBytes.baseAddress, let offsetBase = offsetBytes.baseAddress else { return }
                    let roots = rootBase.assumingMemoryBound(to: Int32.self)
                    let offsets = offsetBase.assumingMemoryBound(to: Int.self)
                    for k in 0..<total {
                        let p = Int(order[k])
                        let l = levels[p]
                        let own = region[p]
                        var m = 0
                        // The flooded neighbour with the highest level: the pixel drains to it.
                        var uphill = -1
                        var uphillLevel = Int32.min
                        for o in 0..<8 {
                            let q = p &+ offsets[o]
                            let up = parent[q]
                            guard up >= 0, region[q] == own else { continue }
                            if levels[q] > uphillLevel {
                                uphill = q
                                uphillLevel = levels[q]
                            }
                            // Most flooded neighbours point straight at a root already listed.
                            if m > 0, up == roots[0] || (m > 1 && up == roots[1]) { continue }
                            let root = find(Int32(q))
                            var seen = false
                            for i in 0..<m where roots[i] == root { seen = true }
                            if !seen {
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
                            var firstSignificant: Int32 = -1
                            for i in 0..<m {
                                let r = Int(roots[i])
                                if !significant[r], area[r] >= minArea, peak[r] - l >= max(dynamic, peak[r] / Declumper.relativeDynamic) {
                                    significant[r] = true
                                }
                                if firstSignificant < 0, significant[r] { firstSignificant = roots[i] }
                            }
                            if firstSignificant >= 0 { target = firstSignificant }
                            for i in 0..<m where roots[i] != target {
                                let r = Int(roots[i])
                                if significant[r] && significant[Int(target)] { continue }
                                parent[r] = target
                                area[Int(target)] &+= area[r]
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
                                area[t] &+= area[r]
                            }
                        }
                        // Joins the region it drains to (after the merges above); the region with
                        // the highest peak would let a region creep along a level set around
                        // another one.
                        let home = find(Int32(uphill))
                        parent[p] = home
                        area[Int(home)] &+= 1
                    }
                }
            }
            for p in 0..<n where region[p] >= 0 { region[p] = find(Int32(truncatingIfNeeded: p)) }
        }

        /// Whether the flood left more than one region.
        func hasSeveralRegions() -> Bool {
            var first: Int32 = -1
            for p in 0..<(width * height) where region[p] >= 0 {
                if first < 0 { first = region[p] } else if region[p] != first { return true }
            }
            return false
        }

        /// Clears, in `plane`, every pixel that touches a pixel of another region with a smaller id.
        func cut(into plane: inout BitPlane) {
            let w = width
            @inline(__always) func smaller(_ q: Int, than a: Int32) -> Bool { region[q] >= 0 && region[q] < a }
            for y in 1..<(height - 1) {
                for x in 1..<(w - 1) {
                    let p = y * w + x
                    let a = region[p]
                    guard a >= 0 else { continue }
                    if smaller(p - w - 1, than: a) || smaller(p - w, than: a) || smaller(p - w + 1, than: a) || smaller(p - 1, than: a)
                        || smaller(p + 1, than: a) || smaller(p + w - 1, than: a) || smaller(p + w, than: a) || smaller(p + w + 1, than: a)
                    {
                        plane.setRun(y: originY + y, start: originX + x, end: originX + x + 1, false)
                    }
                }
            }
        }

        /// Writes the regions into `grid` (global ids: offsets into the grid), at the component's place.
        func store(into grid: LabelGrid) {
            for y in 1..<(height - 1) {
                for x in 1..<(width - 1) {
                    let a = region[y * width + x]
                    guard a >= 0 else { continue }
                    // A region id is a pixel offset in the workspace: turn it into a grid position.
                    let gx = originX + Int(a) % width
                    let gy = originY + Int(a) / width
                    grid.labels[(originY + y) * grid.width + originX + x] = Int32(gy * grid.width + gx)
                }
            }
        }
    }
}

extension UnsafeMutablePointer where Pointee == Int32 {
    /// Swaps two elements.
    @inline(__always) fileprivate func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
