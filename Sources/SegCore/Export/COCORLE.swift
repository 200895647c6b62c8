/// A mask in COCO's run-length encoding, as pycocotools defines it: pixels in column-major order (down each column,
/// then the next column), runs alternating background and foreground, starting with background (so the first count
/// may be 0).
public struct COCORLE: Sendable, Equatable {
    /// Mask height (COCO's `size` is `[height, width]`).
    public var height: Int
    /// Mask width.
    public var width: Int
    /// Run lengths, background first; they add up to `width * height`.
    public var counts: [Int]

    /// Creates an RLE from its parts.
    public init(height: Int, width: Int, counts: [Int]) {
        self.height = height
        self.width = width
        self.counts = counts
    }

    /// Encodes a whole mask (non-zero is foreground).
    public init(mask: BinaryMask) {
        self.init(height: mask.height, width: mask.width, crop: mask, at: 0, 0)
    }

    /// Encodes a `width` × `height` mask that is background except for `crop`, placed with its top-left pixel at
    /// (`x0`, `y0`); the crop must lie inside the mask.
    init(height: Int, width: Int, crop: BinaryMask, at x0: Int, _ y0: Int) {
        self.height = height
        self.width = width
        self.counts = []
        // Foreground runs as column-major [start, end) pairs, merged across column breaks.
        var runs: [(Int, Int)] = []
        crop.pixels.withUnsafeBufferPointer { px in
            for cx in 0..<crop.width {
                let columnBase = (x0 + cx) * height + y0
                var cy = 0
                while cy < crop.height {
                    guard px[cy * crop.width + cx] != 0 else {
                        cy += 1
                        continue
                    }
                    let start = cy
                    while cy < crop.height, px[cy * crop.width + cx] != 0 { cy += 1 }
                    let (s, e) = (columnBase + start, columnBase + cy)
                    if let last = runs.last, last.1 == s {
                        runs[runs.count - 1].1 = e
                    } else {
                        runs.append((s, e))
                    }
                }
            }
        }
        var position = 0
        for (s, e) in runs {
            self.counts.append(s - position)
            self.counts.append(e - s)
            position = e
        }
        if position < width * height || runs.isEmpty { self.counts.append(width * height - position) }
    }

    /// Number of foreground pixels (pycocotools' `area`).
    public var area: Int {
        stride(from: 1, to: counts.count, by: 2).reduce(0) { $0 + counts[$1] }
    }

    /// The counts in pycocotools' compressed string form (`rleToString`): each count, minus the count two places
    /// before it from the third on, in little-endian groups of 5 bits, each group plus 48 as one ASCII character.
    public var compressedCounts: String {
        var chars: [UInt8] = []
        for (i, count) in counts.enumerated() {
            var x = count
            if i > 2 { x -= counts[i - 2] }
            var more = true
            while more {
                var c = UInt8(truncatingIfNeeded: x & 0x1F)
                x >>= 5
                more = (c & 0x10) != 0 ? x != -1 : x != 0
                if more { c |= 0x20 }
                chars.append(c + 48)
            }
        }
        return String(decoding: chars, as: UTF8.self)
    }
}
