// Suzuki–Abe border following ("Topological structural analysis of digitized binary images by
// border following", 1985), arranged so that it reads the caller's mask in place and never
// copies or labels the whole image.
//
// The classic algorithm copies the image into a padded label buffer and writes a border number
// into every border pixel, then reads those numbers back during the raster scan. Only two
// questions are ever asked of them, and only at the ends of horizontal runs of foreground:
//
// - at the left end `a` of a run: has a border already been traced through `a` (if not, `a` is
//   the first pixel of a new component and starts an outer border)?
// - at the right end `b`: has a border already looked at `b`'s right-hand neighbour, which is
//   background (if not, that neighbour is the first pixel of a new hole)?
//
// plus, for the hierarchy, which border answered. Both are facts about the *cracks* between a
// foreground pixel and the background pixel beside it on the same row. Tracing a border passes
// every crack on it (a border pixel's background neighbours are all examined while the border
// goes round that pixel), so the tracer records each crack it examines against its row, with the
// border's number, and the scan looks cracks up instead of pixels:
//
// - cracks on the scan row go straight into a small per-row table (two entries per column,
//   stamped with the row so that the table never needs clearing);
// - cracks on rows below go into that row's bucket (a linked list in one flat array) and are
//   copied into the table when the scan reaches the row. Borders found on row `y` only reach
//   rows `y` and below, so nothing is ever needed from a row above.
//
// The parent of a new border follows Suzuki–Abe's rule with the border of the last crack the
// scan crossed on this row (LNBD): a hole's parent is the outer border of the component it is
// in; a new outer border's parent is the hole (region) it lies in. Both are O(1).
//
// A border is followed from both ends at once (see `walk`): one step's latency, not the work
// in it, bounds the follower, and the two halves are independent.
//
// OpenCV's `findContours` (4.x and 5.x) runs the same border following with the same direction
// conventions, so the contours, their start points and their order agree vertex for vertex.
//
// Hot loops use wrapping arithmetic (`&+`) and explicitly typed intermediates: indices cannot
// overflow for masks that fit in memory, and literal-heavy bit expressions are slow to type-check.

extension ContourTracer {
    /// One traced border, in the order the raster scan found it.
    struct Record {
        /// Index of the first vertex in the shared vertex buffer.
        var start: Int
        /// Number of vertices.
        var count: Int
        /// Creation index of the enclosing border, or -1 for the image frame.
        var parent: Int32
        /// Whether the border is a hole's.
        var isHole: Bool
    }

    /// The cracks waiting for a row below the scan line: `count` entries of `Scanner.pending`
    /// from `start`, with room for `capacity` (a small vector that doubles by moving to the end of
    /// `pending`). Each entry is `key << 32 | border`, where the key is `2 * x` for the crack left
    /// of pixel `x` and `2 * x + 1` for the crack right of it, and `border` the creation index of
    /// the border that passed it. Contiguous per row, so that reading a row back is a plain loop.
    struct RowBucket {
        var start: Int
        var count: Int32
        var capacity: Int32
    }

    /// The raster scan with its border follower. Owns its buffers; call `deallocate()` when done.
    struct Scanner {
        let width: Int
        let height: Int
        let pixels: UnsafePointer<UInt8>
        /// `CHAIN_APPROX_NONE`: keep every vertex.
        let keepAll: Bool
        /// `RETR_TREE`: outer borders get the hole they lie in as parent.
        let nested: Bool
        /// Per chain direction (E, NE, N, NW, W, SW, S, SE): the offset of the neighbour in the
        /// mask (entries 0...7), and its step in packed `y << 32 | x` coordinates (entries 8...15).
        let steps: UnsafeMutablePointer<Int>
        /// `ContourTracer.searchTable`.
        let table: UnsafePointer<UInt8>
        /// `ContourTracer.reverseTable`.
        let reverse: UnsafePointer<UInt8>
        /// Per column, two entries (left crack, right crack): `row << 32 | border`.
        let rowCracks: UnsafeMutablePointer<UInt64>
        /// Per row, its waiting cracks in `pending`.
        let buckets: UnsafeMutablePointer<RowBucket>
        /// The row the scan is on.
        var row = 0
        var pending: Buffer<UInt64>
        var points: Buffer<Point>
        var records: Buffer<Record>
        /// Cracks examined by the border being followed: `row << 32 | key`.
        var crackLog: Buffer<UInt64>
        /// Vertices found by the backward half of a walk, last first.
        var tail: Buffer<Point>

        init(
            pixels: UnsafePointer<UInt8>, width: Int, height: Int, table: UnsafePointer<UInt8>, reverse: UnsafePointer<UInt8>,
            keepAll: Bool, nested: Bool
        ) {
            self.table = table
            self.reverse = reverse
            self.width = width
            self.height = height
            self.pixels = pixels
            self.keepAll = keepAll
            self.nested = nested
            // `walk` stores vertices as 64-bit words y << 32 | x.
            precondition(MemoryLayout<Point>.size == 8 && MemoryLayout<Point>.offset(of: \Point.y) == 4)
            steps = .allocate(capacity: 16)
            for d in 0..<8 {
                steps[d] = Self.dx(d) + Self.dy(d) * width
                steps[d + 8] = Self.dx(d) + Self.dy(d) << 32
            }
            rowCracks = .allocate(capacity: 2 * width)
            rowCracks.initialize(repeating: UInt64.max, count: 2 * width)
            buckets = .allocate(capacity: height)
            buckets.initialize(repeating: RowBucket(start: 0, count: 0, capacity: 0), count: height)
            pending = Buffer(capacity: 2 * (width + height))
            points = Buffer(capacity: 4 * (width + height))
            records = Buffer(capacity: 64)
            crackLog = Buffer(capacity: 2 * (width + height))
            tail = Buffer(capacity: 2 * (width + height))
        }

        func deallocate() {
            steps.deallocate()
            rowCracks.deallocate()
            buckets.deallocate()
            pending.deallocate()
            points.deallocate()
            records.deallocate()
            crackLog.deallocate()
            tail.deallocate()
        }

        // MARK: Raster scan

        /// Scans the mask row by row and traces every border at the point Suzuki–Abe finds it.
        mutating func run() {
            let w = width
            let stampMask: UInt64 = 0xFFFF_FFFF_0000_0000
            for y in 0..<height {
                row = y
                let stamp: UInt64 = UInt64(truncatingIfNeeded: y) &<< 32
                let bucket = buckets[y]
                let waiting = pending.base + bucket.start
                for i in 0..<Int(bucket.count) {
                    let crack = waiting[i]
                    rowCracks[Int(truncatingIfNeeded: crack &>> 32)] = stamp | crack & 0xFFFF_FFFF
                }
                // LNBD: the border of the last crack crossed on this row (-1: the image frame).
                var last: Int32 = -1
                let line = pixels + y * w
                var x = 0
                while true {
                    x = Self.nextForeground(line, from: x, width: w)
                    if x >= w { break }
                    let left = rowCracks[2 * x]
                    if left & stampMask == stamp {
                        last = Int32(truncatingIfNeeded: left)
                    } else {
                        let parent = nested ? regionBorder(of: last) : -1
                        last = follow(x: x, y: y, isHole: false, parent: parent)
                    }
                    let end = Self.nextBackground(line, from: x + 1, width: w)
                    if end >= w { break }
                    let right = rowCracks[2 * end - 1]
                    if right & stampMask == stamp {
                        last = Int32(truncatingIfNeeded: right)
                    } else {
                        last = follow(x: end - 1, y: y, isHole: true, parent: outerBorder(of: last))
                    }
                    x = end + 1
                }
            }
        }

        /// The border of the background region on the far side of border `b`'s crack: `b` itself
        /// for a hole, the region around the component for an outer border, -1 for the frame.
        @inline(__always) func regionBorder(of b: Int32) -> Int32 {
            if b < 0 { return -1 }
            let r = records[Int(b)]
            return r.isHole ? b : r.parent
        }

        /// The outer border of the component that border `b` belongs to.
        @inline(__always) func outerBorder(of b: Int32) -> Int32 {
            let r = records[Int(b)]
            return r.isHole ? r.parent : b
        }

        /// First foreground column at or after `x`, or `width`.
        @inline(__always) static func nextForeground(_ line: UnsafePointer<UInt8>, from x: Int, width: Int) -> Int {
            var x = x
            let raw = UnsafeRawPointer(line)
            // Short gaps (noise, thin rings) end within the first word.
            if x &+ 8 <= width {
                let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: x, as: UInt64.self))
                if v != 0 { return x &+ v.trailingZeroBitCount &>> 3 }
                x &+= 8
            }
            while x &+ 64 <= width {
                let p = raw + x
                var any: UInt64 = 0
                for k in 0..<8 { any |= p.loadUnaligned(fromByteOffset: k &<< 3, as: UInt64.self) }
                if any != 0 {
                    // Which of the 8 words, without a second loop (one mispredicted exit per run end).
                    var words = 0
                    for k in 0..<8 where p.loadUnaligned(fromByteOffset: k &<< 3, as: UInt64.self) != 0 { words |= 1 &<< k }
                    let offset = words.trailingZeroBitCount &<< 3
                    let v = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    return x &+ offset &+ v.trailingZeroBitCount &>> 3
                }
                x &+= 64
            }
            while x &+ 8 <= width {
                let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: x, as: UInt64.self))
                if v != 0 { return x &+ v.trailingZeroBitCount &>> 3 }
                x &+= 8
            }
            while x < width {
                if line[x] != 0 { return x }
                x += 1
            }
            return width
        }

        /// First background column at or after `x`, or `width`.
        @inline(__always) static func nextBackground(_ line: UnsafePointer<UInt8>, from x: Int, width: Int) -> Int {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            var x = x
            let raw = UnsafeRawPointer(line)
            // Short runs end within the first word.
            if x &+ 8 <= width {
                let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: x, as: UInt64.self))
                let zero: UInt64 = (v &- ones) & ~v & highs
                if zero != 0 { return x &+ zero.trailingZeroBitCount &>> 3 }
                x &+= 8
            }
            while x &+ 64 <= width {
                // Non-zero exactly when some byte of the 64 is zero (the classic has-zero-byte
                // test: it may flag bytes above the first zero byte, never one below it).
                let p = raw + x
                var z: UInt64 = 0
                for k in 0..<8 {
                    let v = p.loadUnaligned(fromByteOffset: k &<< 3, as: UInt64.self)
                    z |= (v &- ones) & ~v
                }
                if z & highs != 0 {
                    var words = 0
                    for k in 0..<8 {
                        let v = p.loadUnaligned(fromByteOffset: k &<< 3, as: UInt64.self)
                        if (v &- ones) & ~v & highs != 0 { words |= 1 &<< k }
                    }
                    let offset = words.trailingZeroBitCount &<< 3
                    let v = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                    let zero: UInt64 = (v &- ones) & ~v & highs
                    return x &+ offset &+ zero.trailingZeroBitCount &>> 3
                }
                x &+= 64
            }
            while x &+ 8 <= width {
                let v = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: x, as: UInt64.self))
                let zero: UInt64 = (v &- ones) & ~v & highs
                if zero != 0 { return x &+ zero.trailingZeroBitCount &>> 3 }
                x &+= 8
            }
            while x < width {
                if line[x] == 0 { return x }
                x += 1
            }
            return width
        }

        // MARK: Border following

        /// Column step of chain direction `d` (0...7): E, NE, N, NW, W, SW, S, SE.
        @inline(__always) static func dx(_ d: Int) -> Int {
            let packed: Int = 0x2100_0122
            let shifted: Int = packed &>> (d &<< 2)
            return (shifted & 0xF) &- 1
        }

        /// Row step of chain direction `d` (0...7).
        @inline(__always) static func dy(_ d: Int) -> Int {
            let packed: Int = 0x2221_0001
            let shifted: Int = packed &>> (d &<< 2)
            return (shifted & 0xF) &- 1
        }

        /// Bit `d` set when the neighbour in chain direction `d` is foreground (outside is background).
        @inline(__always) static func neighbours(
            _ pixels: UnsafePointer<UInt8>, x: Int, y: Int, at pos: Int, width w: Int, height h: Int
        ) -> UInt32 {
            let p = pixels + pos
            let inX = UInt(bitPattern: x &- 1) < UInt(bitPattern: w &- 2)
            let inY = UInt(bitPattern: y &- 1) < UInt(bitPattern: h &- 2)
            if inX && inY {
                let up = p - w
                let down = p + w
                var m: UInt32 = p[1] != 0 ? 1 : 0
                m |= up[1] != 0 ? 2 : 0
                m |= up[0] != 0 ? 4 : 0
                m |= up[-1] != 0 ? 8 : 0
                m |= p[-1] != 0 ? 16 : 0
                m |= down[-1] != 0 ? 32 : 0
                m |= down[0] != 0 ? 64 : 0
                m |= down[1] != 0 ? 128 : 0
                return m
            }
            return edgeNeighbours(p, x: x, y: y, width: w, height: h)
        }

        /// `neighbours` of a pixel on the image's edge, where some neighbours are outside.
        static func edgeNeighbours(_ p: UnsafePointer<UInt8>, x: Int, y: Int, width w: Int, height h: Int) -> UInt32 {
            let east = x + 1 < w
            let west = x > 0
            var m: UInt32 = 0
            if east && p[1] != 0 { m |= 1 }
            if west && p[-1] != 0 { m |= 16 }
            if y > 0 {
                if east && p[1 - w] != 0 { m |= 2 }
                if p[-w] != 0 { m |= 4 }
                if west && p[-w - 1] != 0 { m |= 8 }
            }
            if y + 1 < h {
                if west && p[w - 1] != 0 { m |= 32 }
                if p[w] != 0 { m |= 64 }
                if east && p[w + 1] != 0 { m |= 128 }
            }
            return m
        }

        /// Records that `border` examined the crack `key` (see `RowBucket`) on row `y`.
        @inline(__always) mutating func mark(key: Int, y: Int, border: Int32) {
            if y == row {
                let stamp: UInt64 = UInt64(truncatingIfNeeded: y) &<< 32
                rowCracks[key] = stamp | UInt64(UInt32(bitPattern: border))
            } else {
                let entry = UInt64(truncatingIfNeeded: key) &<< 32 | UInt64(UInt32(bitPattern: border))
                var bucket = buckets[y]
                if bucket.count == bucket.capacity { bucket = grow(bucket, of: y) }
                pending.base[bucket.start &+ Int(bucket.count)] = entry
                bucket.count &+= 1
                buckets[y] = bucket
            }
        }

        /// Moves row `y`'s bucket to the end of `pending` with twice the room.
        mutating func grow(_ bucket: RowBucket, of y: Int) -> RowBucket {
            let count = Int(bucket.count)
            let capacity = Swift.max(8, 2 * Int(bucket.capacity))
            pending.reserve(pending.count + capacity)
            let start = pending.count
            (pending.base + start).initialize(from: pending.base + bucket.start, count: count)
            (pending.base + start + count).initialize(repeating: 0, count: capacity - count)
            pending.count += capacity
            let moved = RowBucket(start: start, count: bucket.count, capacity: Int32(truncatingIfNeeded: capacity))
            buckets[y] = moved
            return moved
        }

        /// Follows the border that starts at (`x`, `y`) and returns its creation index.
        ///
        /// An outer border starts at a pixel whose left neighbour is background and runs
        /// counter-clockwise on screen; a hole border starts at the pixel left of the hole's first
        /// pixel and runs clockwise. The vertex sequence, start and direction are OpenCV's.
        mutating func follow(x x0: Int, y y0: Int, isHole: Bool, parent: Int32) -> Int32 {
            let border = Int32(truncatingIfNeeded: records.count)
            let start = points.count
            let pos0 = y0 * width + x0
            let m = Self.neighbours(pixels, x: x0, y: y0, at: pos0, width: width, height: height)
            if m == 0 {
                // A lone pixel: one vertex; both of its side cracks are passed.
                mark(key: 2 * x0, y: y0, border: border)
                mark(key: 2 * x0 + 1, y: y0, border: border)
                points.append(Point(x0, y0))
                records.append(Record(start: start, count: 1, parent: parent, isHole: isHole))
                return border
            }
            // The last pixel of the border: the first foreground neighbour clockwise from the
            // background neighbour the border starts against (W for outer, E for hole).
            let startSide: UInt32 = isHole ? 0 : 4
            let below: UInt32 = (1 &<< (startSide &+ 8)) &- 1
            let window: UInt32 = (m | m &<< 8) & below
            let highest: Int = 31 &- window.leadingZeroBitCount
            let s: Int = highest & 7
            let cracks = walk(keepAll: keepAll, from: s, neighbours: m, x: x0, y: y0)
            records.append(Record(start: start, count: points.count - start, parent: parent, isHole: isHole))
            file(cracks: cracks, of: border)
            return border
        }

        /// The border-following loop: appends the vertices to `points` and the examined cracks to
        /// `crackLog`, and returns how many cracks it logged.
        ///
        /// One step costs about as long as its loads and table look-ups take to arrive, so the walk
        /// runs from both ends at once: forwards from the first pixel and backwards from the last
        /// (`reverseTable`), two independent chains that the processor overlaps, until they meet.
        /// A border never takes the same step (from one pixel to a neighbour) twice, so they meet
        /// where one's step is the other's.
        mutating func walk(keepAll: Bool, from s0: Int, neighbours m0: UInt32, x x0: Int, y y0: Int) -> Int {
            let w = width
            let h = height
            let pixels = self.pixels
            let steps = self.steps
            let table = self.table
            let reverse = self.reverse
            // Forwards: at pixel P_j, `sF` the direction of P_(j-1).
            var posF = y0 &* w &+ x0
            var xyF: Int = y0 &<< 32 | x0
            var sF = s0
            var mF = m0
            // Backwards: at pixel P_(k-i), `cB` the direction of P_(k-i+1); P_k is the last pixel.
            var posB = posF &+ steps[s0]
            var xyB = xyF &+ steps[s0 &+ 8]
            var cB = s0 ^ 4
            var mB = Self.neighbours(pixels, x: xyB & 0xFFFF_FFFF, y: xyB &>> 32, at: posB, width: w, height: h)
            // Vertices and examined cracks are written unconditionally and kept by advancing the
            // count or not: whether a step keeps them is data, not a branch to mispredict. Each
            // round writes at most two vertices and four cracks; `budget` rounds fit.
            var pts = UnsafeMutableRawPointer(points.base)
            var ptsCount = points.count
            var back = UnsafeMutableRawPointer(tail.base)
            var backCount = 0
            var log = crackLog.base
            var logCount = 0
            var budget = 0
            while true {
                if budget == 0 {
                    points.count = ptsCount
                    points.reserve(ptsCount &+ 4096)
                    pts = UnsafeMutableRawPointer(points.base)
                    tail.count = backCount
                    tail.reserve(backCount &+ 4096)
                    back = UnsafeMutableRawPointer(tail.base)
                    crackLog.count = logCount
                    crackLog.reserve(logCount &+ 16384)
                    log = crackLog.base
                    budget = 4096
                }
                budget &-= 1
                // Forwards (see `searchTable`).
                let eF = Int(truncatingIfNeeded: table[sF &<< 8 | Int(truncatingIfNeeded: mF)])
                let dirF = eF & 7
                let crackF = UInt64(truncatingIfNeeded: xyF &+ (xyF & 0xFFFF_FFFF))
                log[logCount] = crackF | 1
                logCount &+= (eF &>> 3) & 1
                log[logCount] = crackF
                logCount &+= (eF &>> 4) & 1
                pts.storeBytes(of: UInt64(truncatingIfNeeded: xyF), toByteOffset: ptsCount &<< 3, as: UInt64.self)
                ptsCount &+= keepAll ? 1 : (eF &>> 5) & 1
                if posF == posB && dirF == cB { break }
                posF &+= steps[dirF]
                xyF &+= steps[dirF &+ 8]
                sF = dirF ^ 4
                mF = Self.neighbours(pixels, x: xyF & 0xFFFF_FFFF, y: xyF &>> 32, at: posF, width: w, height: h)
                // Backwards (see `reverseTable`): the same vertex and cracks as the forward step.
                let eB = Int(truncatingIfNeeded: reverse[cB &<< 8 | Int(truncatingIfNeeded: mB)])
                let dirB = eB & 7
                let crackB = UInt64(truncatingIfNeeded: xyB &+ (xyB & 0xFFFF_FFFF))
                log[logCount] = crackB | 1
                logCount &+= (eB &>> 3) & 1
                log[logCount] = crackB
                logCount &+= (eB &>> 4) & 1
                back.storeBytes(of: UInt64(truncatingIfNeeded: xyB), toByteOffset: backCount &<< 3, as: UInt64.self)
                backCount &+= keepAll ? 1 : (eB &>> 5) & 1
                if posB == posF && dirB == sF { break }
                posB &+= steps[dirB]
                xyB &+= steps[dirB &+ 8]
                cB = dirB ^ 4
                mB = Self.neighbours(pixels, x: xyB & 0xFFFF_FFFF, y: xyB &>> 32, at: posB, width: w, height: h)
            }
            // The backward half, last vertex first, follows the forward half.
            points.count = ptsCount
            points.reserve(ptsCount &+ backCount)
            let out = points.base + ptsCount
            let backward = tail.base
            for i in 0..<backCount { out[i] = backward[backCount &- 1 &- i] }
            points.count = ptsCount &+ backCount
            return logCount
        }

        /// Files the first `count` cracks of `crackLog` for `border`: the scan row's in the row
        /// table, the others in their rows' buckets.
        @inline(__always) mutating func file(cracks count: Int, of border: Int32) {
            let log = crackLog.base
            for i in 0..<count {
                let crack = log[i]
                mark(key: Int(truncatingIfNeeded: crack & 0xFFFF_FFFF), y: Int(truncatingIfNeeded: crack &>> 32), border: border)
            }
        }

        // MARK: Output

        /// The borders in OpenCV's order: depth first from the frame, the children of each node
        /// newest first; `parent` re-indexed into that order.
        func contours() -> [Contour] {
            let n = records.count
            var result: [Contour] = []
            result.reserveCapacity(n)
            let firstChild = UnsafeMutablePointer<Int32>.allocate(capacity: n + 1)
            let nextSibling = UnsafeMutablePointer<Int32>.allocate(capacity: n)
            let outIndex = UnsafeMutablePointer<Int>.allocate(capacity: n)
            defer {
                firstChild.deallocate()
                nextSibling.deallocate()
                outIndex.deallocate()
            }
            firstChild.initialize(repeating: -1, count: n + 1)
            for i in 0..<n {
                // Prepending makes each child list newest first, as OpenCV's tree does.
                let p = Int(records[i].parent) + 1
                nextSibling[i] = firstChild[p]
                firstChild[p] = Int32(truncatingIfNeeded: i)
            }
            var node = Int(firstChild[0])
            while node >= 0 {
                let r = records[node]
                outIndex[node] = result.count
                let points = Array(UnsafeBufferPointer(start: self.points.base + r.start, count: r.count))
                result.append(Contour(points: points, isHole: r.isHole, parent: r.parent >= 0 ? outIndex[Int(r.parent)] : nil))
                if firstChild[node + 1] >= 0 {
                    node = Int(firstChild[node + 1])
                    continue
                }
                while node >= 0 && nextSibling[node] < 0 { node = Int(records[node].parent) }
                if node >= 0 { node = Int(nextSibling[node]) }
            }
            return result
        }
    }
}
