/// Connected components of a ``BitPlane`` found on runs (horizontal stretches of equal pixels)
/// with union-find, so the work grows with the number of runs, not of pixels.
struct RunComponents {
    /// First pixel of each run.
    var starts: [Int32] = []
    /// One past the last pixel of each run.
    var ends: [Int32] = []
    /// Row of each run.
    var rows: [Int32] = []
    /// Component (a root run index) of each run.
    var labels: [Int32] = []

    /// Labels the foreground (`background == false`, 8-connected, as `findContours` sees objects)
    /// or the background (`background == true`, 4-connected, as holes are) of `plane`.
    init(_ plane: BitPlane, background: Bool) {
        let width = plane.width
        let n = plane.wordsPerRow
        let padMask = plane.lastWordMask
        var rowFirst = [Int](repeating: 0, count: plane.height + 1)
        plane.words.withUnsafeBufferPointer { words in
            guard let w = words.baseAddress else { return }
            for y in 0..<plane.height {
                rowFirst[y] = starts.count
                var previous: UInt64 = 0  // pixel -1 is background of the labelled kind
                var open = -1
                for i in 0..<n {
                    var bits = background ? ~w[y * n + i] : w[y * n + i]
                    if i == n - 1 { bits &= padMask }
                    // Set bits of `changes` mark pixels that differ from their left neighbour.
                    var changes = bits ^ ((bits << 1) | (previous >> 63))
                    while changes != 0 {
                        let b = changes.trailingZeroBitCount
                        let x = i * 64 + b
                        if (bits >> UInt64(b)) & 1 != 0 {
                            open = x
                        } else if open >= 0 {
                            appendRun(open, x, y)
                            open = -1
                        }
                        changes &= changes &- 1
                    }
                    previous = bits
                }
                if open >= 0 { appendRun(open, width, y) }
            }
            rowFirst[plane.height] = starts.count
        }
        labels = (0..<Int32(starts.count)).map { $0 }
        let reach: Int32 = background ? 0 : 1  // 8-connectivity also joins diagonal neighbours
        for y in 1..<max(1, plane.height) {
            var a = rowFirst[y - 1]
            var b = rowFirst[y]
            let aEnd = rowFirst[y]
            let bEnd = rowFirst[y + 1]
            while a < aEnd, b < bEnd {
                if starts[a] < ends[b] + reach, starts[b] < ends[a] + reach { union(a, b) }
                if ends[a] < ends[b] { a += 1 } else { b += 1 }
            }
        }
        for i in labels.indices { labels[i] = find(Int32(i)) }
    }

    private mutating func appendRun(_ start: Int, _ end: Int, _ y: Int) {
        starts.append(Int32(truncatingIfNeeded: start))
        ends.append(Int32(truncatingIfNeeded: end))
        rows.append(Int32(truncatingIfNeeded: y))
    }

    private mutating func find(_ i: Int32) -> Int32 {
        labels.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return i }
            return UnionFind.root(of: i, in: base)
        }
    }

    private mutating func union(_ a: Int, _ b: Int) {
        let ra = find(Int32(a))
        let rb = find(Int32(b))
        if ra < rb { labels[Int(rb)] = ra } else if rb < ra { labels[Int(ra)] = rb }
    }

    /// Pixel count of each component, indexed by root run.
    func areas() -> [Int] {
        var area = [Int](repeating: 0, count: labels.count)
        for i in labels.indices { area[Int(labels[i])] += Int(ends[i] - starts[i]) }
        return area
    }

    /// Whether each component (indexed by root run) touches the image border.
    func touchesBorder(width: Int, height: Int) -> [Bool] {
        var touches = [Bool](repeating: false, count: labels.count)
        for i in labels.indices where starts[i] == 0 || Int(ends[i]) == width || rows[i] == 0 || Int(rows[i]) == height - 1 {
            touches[Int(labels[i])] = true
        }
        return touches
    }
}

extension BitPlane {
    /// Turns every hole (background not connected to the image border) into foreground.
    mutating func fillHoles() {
        let background = RunComponents(self, background: true)
        let open = background.touchesBorder(width: width, height: height)
        for i in background.labels.indices where !open[Int(background.labels[i])] {
            setRun(y: Int(background.rows[i]), start: Int(background.starts[i]), end: Int(background.ends[i]), true)
        }
    }

    /// Clears objects with fewer than `minArea` pixels and, when asked, objects touching the border.
    mutating func removeObjects(minArea: Double, touchingBorder: Bool) {
        guard minArea > 0 || touchingBorder else { return }
        let objects = RunComponents(self, background: false)
        let area = objects.areas()
        let border = touchingBorder ? objects.touchesBorder(width: width, height: height) : []
        for i in objects.labels.indices {
            let root = Int(objects.labels[i])
            if Double(area[root]) < minArea || (touchingBorder && border[root]) {
                setRun(y: Int(objects.rows[i]), start: Int(objects.starts[i]), end: Int(objects.ends[i]), false)
            }
        }
    }
}
