/// A bit-packed binary image: pixel `x` of row `y` is bit `x % 64` of word `y * wordsPerRow + x / 64`.
/// Bits past `width` in a row's last word are always 0 between operations.
///
/// Morphology works 64 pixels at a time with shifts, ANDs and ORs.
struct BitPlane {
    let width: Int
    let height: Int
    let wordsPerRow: Int
    var words: [UInt64]

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        self.wordsPerRow = (width + 63) / 64
        self.words = [UInt64](repeating: 0, count: wordsPerRow * height)
    }

    /// A plane whose words the caller writes in full before reading any.
    init(uninitializedWidth width: Int, height: Int) {
        self.width = width
        self.height = height
        let count = (width + 63) / 64 * height
        self.wordsPerRow = (width + 63) / 64
        self.words = [UInt64](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }

    /// The valid bits of a row's last word.
    var lastWordMask: UInt64 {
        let r = width % 64
        return r == 0 ? ~0 : (UInt64(1) << UInt64(r)) &- 1
    }

    var isEmpty: Bool { !words.contains { $0 != 0 } }

    // MARK: Morphology

    /// Opening (erosion then dilation) with a digital disk of `radius` px.
    mutating func open(radius: Int) {
        guard radius > 0 else { return }
        var scratch = Scratch(count: words.count)
        for step in 0..<radius { morph(erode: true, square: step % 2 == 1, scratch: &scratch) }
        for step in 0..<radius { morph(erode: false, square: step % 2 == 1, scratch: &scratch) }
    }

    /// Closing (dilation then erosion) with a digital disk of `radius` px.
    mutating func close(radius: Int) {
        guard radius > 0 else { return }
        var scratch = Scratch(count: words.count)
        for step in 0..<radius { morph(erode: false, square: step % 2 == 1, scratch: &scratch) }
        for step in 0..<radius { morph(erode: true, square: step % 2 == 1, scratch: &scratch) }
    }

    /// Buffers one morphology step writes in full (so they skip the zero fill), reused across
    /// steps so that each step does not map fresh pages.
    struct Scratch {
        var horizontal: [UInt64]
        var output: [UInt64]

        init(count: Int) {
            horizontal = [UInt64](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
            output = [UInt64](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
        }
    }

    /// One 3×3 step: a cross (4-neighbourhood) or a square (8-neighbourhood). Alternating them
    /// `r` times builds an octagon of radius `r`, a close digital disk. As in OpenCV, pixels outside
    /// the image never erode an object and never dilate into it.
    mutating func morph(erode: Bool, square: Bool) {
        var scratch = Scratch(count: words.count)
        morph(erode: erode, square: square, scratch: &scratch)
    }

    /// ``morph(erode:square:)`` with reused buffers; the previous words end up in `scratch`.
    mutating func morph(erode: Bool, square: Bool, scratch: inout Scratch) {
        guard width > 0, height > 0 else { return }
        let n = wordsPerRow
        let fill: UInt64 = erode ? ~0 : 0
        let padMask = lastWordMask
        words.withUnsafeMutableBufferPointer { src in
            scratch.horizontal.withUnsafeMutableBufferPointer { hor in
                scratch.output.withUnsafeMutableBufferPointer { out in
                    guard let s = src.baseAddress, let h = hor.baseAddress, let o = out.baseAddress else { return }
                    // Padding bits take the border value while we work.
                    if erode { for y in 0..<height { s[y * n + n - 1] |= ~padMask } }
                    for y in 0..<height {
                        let row = s + y * n
                        let hrow = h + y * n
                        var previous = fill  // the word left of the row
                        for i in 0..<n {
                            let w = row[i]
                            let next = i + 1 < n ? row[i + 1] : fill
                            let left = (w << 1) | (previous >> 63)  // pixel x-1 at bit x
                            let right = (w >> 1) | (next << 63)  // pixel x+1 at bit x
                            hrow[i] = erode ? (w & left & right) : (w | left | right)
                            previous = w
                        }
                    }
                    // Vertical combination: square uses the horizontal result of the rows above and
                    // below, cross uses their plain rows.
                    let vertical = square ? UnsafePointer(h) : UnsafePointer(s)
                    for y in 0..<height {
                        let above = y > 0 ? vertical + (y - 1) * n : nil
                        let below = y + 1 < height ? vertical + (y + 1) * n : nil
                        let hrow = h + y * n
                        let orow = o + y * n
                        if erode {
                            for i in 0..<n { orow[i] = hrow[i] & (above?[i] ?? ~0) & (below?[i] ?? ~0) }
                        } else {
                            for i in 0..<n { orow[i] = hrow[i] | (above?[i] ?? 0) | (below?[i] ?? 0) }
                        }
                        orow[n - 1] &= padMask
                    }
                }
            }
        }
        swap(&words, &scratch.output)
    }

    // MARK: Runs

    /// Sets (`value == true`) or clears pixels `start..<end` of row `y`.
    mutating func setRun(y: Int, start: Int, end: Int, _ value: Bool) {
        guard start < end else { return }
        let base = y * wordsPerRow
        var x = start
        words.withUnsafeMutableBufferPointer { w in
            while x < end {
                let i = x / 64
                let lo = x % 64
                let hi = min(64, end - i * 64)
                let bits: UInt64 = (hi == 64 ? ~0 : (UInt64(1) << UInt64(hi)) &- 1) & ~((UInt64(1) << UInt64(lo)) &- 1)
                if value { w[base + i] |= bits } else { w[base + i] &= ~bits }
                x = (i + 1) * 64
            }
        }
    }

    /// Whether pixel (`x`, `y`) is set.
    @inline(__always) func isSet(x: Int, y: Int) -> Bool {
        (words[y * wordsPerRow + x / 64] >> UInt64(x % 64)) & 1 != 0
    }

    /// The plane reduced by `factor`: a cell is set when more than half of its pixels (those
    /// inside the image) are.
    func reduced(by factor: Int) -> BitPlane {
        let w = (width + factor - 1) / factor
        let h = (height + factor - 1) / factor
        var counts = [Int32](repeating: 0, count: w)
        var out = BitPlane(width: w, height: h)
        for cy in 0..<h {
            for i in 0..<w { counts[i] = 0 }
            let rows = min(factor, height - cy * factor)
            for y in (cy * factor)..<(cy * factor + rows) {
                let row = y * wordsPerRow
                for cx in 0..<w {
                    // the set bits of columns cx·f ..< min((cx + 1)·f, width), a word at a time
                    var x = cx * factor
                    let end = min(x + factor, width)
                    var n = 0
                    while x < end {
                        let i = x / 64
                        let lo = x % 64
                        let hi = min(64, end - i * 64)
                        let bits: UInt64 = (hi == 64 ? ~0 : (UInt64(1) << UInt64(hi)) &- 1) & ~((UInt64(1) << UInt64(lo)) &- 1)
                        n += (words[row + i] & bits).nonzeroBitCount
                        x = (i + 1) * 64
                    }
                    counts[cx] += Int32(n)
                }
            }
            for cx in 0..<w {
                let cols = min(factor, width - cx * factor)
                if 2 * Int(counts[cx]) > rows * cols { out.setRun(y: cy, start: cx, end: cx + 1, true) }
            }
        }
        return out
    }

    // MARK: Conversion

    /// Expands to a byte mask (foreground 255).
    func binaryMask() -> BinaryMask {
        var mask = BinaryMask(width: width, height: height)
        guard width > 0, height > 0 else { return mask }
        let table = Self.expansionTable
        words.withUnsafeBufferPointer { src in
            mask.pixels.withUnsafeMutableBytes { dst in
                table.withUnsafeBufferPointer { lut in
                    guard let d = dst.baseAddress else { return }
                    let fullBytes = width / 8
                    for y in 0..<height {
                        let row = src.baseAddress.map { $0 + y * wordsPerRow }
                        guard let row else { return }
                        let out = d + y * width
                        // Whole bytes of 8 pixels through the table, the tail pixel by pixel.
                        for k in 0..<fullBytes {
                            let byte = Int(truncatingIfNeeded: row[k / 8] >> UInt64((k % 8) * 8)) & 0xFF
                            (out + k * 8).storeBytes(of: lut[byte], as: UInt64.self)
                        }
                        for x in (fullBytes * 8)..<width where (row[x / 64] >> UInt64(x % 64)) & 1 != 0 {
                            out.storeBytes(of: 255, toByteOffset: x, as: UInt8.self)
                        }
                    }
                }
            }
        }
        return mask
    }

    /// For each 8-bit pattern, 8 bytes of 0x00/0xFF (little-endian: bit 0 is the first byte).
    static let expansionTable: [UInt64] = (0..<256).map { pattern in
        var v: UInt64 = 0
        for bit in 0..<8 where (pattern >> bit) & 1 != 0 { v |= UInt64(0xFF) << UInt64(bit * 8) }
        return v
    }
}
