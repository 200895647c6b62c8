import SegCore

/// Connected components by a plain flood fill: an independent check on the tracer and segmenter.
enum FloodFill {
    /// The first pixel (raster order) of every 8-connected foreground component.
    static func componentFirstPixels(_ mask: BinaryMask) -> Set<Point> {
        var seen = [Bool](repeating: false, count: mask.pixels.count)
        var firsts: Set<Point> = []
        for start in mask.pixels.indices where mask.pixels[start] != 0 && !seen[start] {
            firsts.insert(Point(start % mask.width, start / mask.width))
            var stack = [start]
            seen[start] = true
            while let i = stack.popLast() {
                let x = i % mask.width
                let y = i / mask.width
                for dy in -1...1 {
                    for dx in -1...1 where mask.isForeground(x: x + dx, y: y + dy) {
                        let j = (y + dy) * mask.width + x + dx
                        if !seen[j] {
                            seen[j] = true
                            stack.append(j)
                        }
                    }
                }
            }
        }
        return firsts
    }
}
