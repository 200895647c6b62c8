/// Area-averaging resize (like OpenCV's `INTER_AREA` when shrinking): every output pixel is the
/// mean of the source area it covers, with fractional coverage at the edges. Enlarging falls
/// back to the same weights, which amounts to nearest-neighbour with blended seams.
public enum ImageResizer {
    /// Resizes an 8-bit gray image to `width`×`height`.
    public static func resize(_ image: GrayImage, width: Int, height: Int) throws(SegCoreError) -> GrayImage {
        let out = try resize(pixels: image.pixels, width: image.width, height: image.height, channels: 1, toWidth: width, toHeight: height)
        return GrayImage(unchecked: width, height, out)
    }

    /// Resizes interleaved 8-bit samples with `channels` channels.
    public static func resize(
        pixels: [UInt8], width: Int, height: Int, channels: Int, toWidth: Int, toHeight: Int
    )
        throws(SegCoreError) -> [UInt8]
    {
        guard width > 0, height > 0, toWidth > 0, toHeight > 0, (1...4).contains(channels),
            pixels.count == width * height * channels
        else { throw .invalidArgument("cannot resize \(width)×\(height)×\(channels) to \(toWidth)×\(toHeight)") }
        let xs = weights(source: width, target: toWidth)
        let ys = weights(source: height, target: toHeight)
        let rowLength = toWidth * channels
        var horizontal = [Float](repeating: 0, count: rowLength)
        var accumulator = [Float](repeating: 0, count: rowLength)
        var out = [UInt8](repeating: 0, count: toWidth * toHeight * channels)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { hor in
                accumulator.withUnsafeMutableBufferPointer { acc in
                    out.withUnsafeMutableBufferPointer { dst in
                        var yi = 0
                        for oy in 0..<toHeight {
                            for i in 0..<rowLength { acc[i] = 0 }
                            while yi < ys.count && ys[yi].target == oy {
                                let (sy, wy) = (ys[yi].source, ys[yi].weight)
                                let row = sy * width * channels
                                for i in 0..<rowLength { hor[i] = 0 }
                                for entry in xs {
                                    let s = row + entry.source * channels
                                    let d = entry.target * channels
                                    for c in 0..<channels { hor[d + c] += Float(src[s + c]) * entry.weight }
                                }
                                for i in 0..<rowLength { acc[i] += hor[i] * wy }
                                yi += 1
                            }
                            let base = oy * rowLength
                            for i in 0..<rowLength { dst[base + i] = UInt8(min(255, max(0, acc[i] + 0.5))) }
                        }
                    }
                }
            }
        }
        return out
    }

    struct Weight {
        var target: Int
        var source: Int
        var weight: Float
    }

    /// For each target index, the source indices it covers and their normalised weights, in target order.
    static func weights(source: Int, target: Int) -> [Weight] {
        let scale = Double(source) / Double(target)
        var result: [Weight] = []
        result.reserveCapacity(source + target)
        for t in 0..<target {
            let start = Double(t) * scale
            let end = min(Double(source), start + scale)
            var s = Int(start)
            let total = end - start
            while Double(s) < end && s < source {
                let covered = min(end, Double(s + 1)) - max(start, Double(s))
                if covered > 1e-9 { result.append(Weight(target: t, source: s, weight: Float(covered / total))) }
                s += 1
            }
        }
        return result
    }

    /// The size that fits inside `maxSide`×`maxSide` keeping the aspect ratio (never enlarging).
    public static func fittedSize(width: Int, height: Int, maxSide: Int) -> (width: Int, height: Int) {
        let longest = max(width, height)
        guard longest > maxSide, longest > 0 else { return (width, height) }
        let scale = Double(maxSide) / Double(longest)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}

/// Makes the JPEG thumbnails the API serves: re-encoded (so no metadata survives), longest side 256.
public enum Thumbnailer {
    /// Decodes the plane's 8-bit view (``DisplayRendition``), shrinks it to fit `maxSide` and
    /// encodes a JPEG (colour kept, alpha dropped).
    public static func jpegThumbnail(
        of bytes: [UInt8], selection: ImageSelection = .first, maxSide: Int = 256, quality: Int = 82, limits: ImageLimits = .default
    )
        throws(SegCoreError) -> [UInt8]
    {
        try jpegThumbnail(of: try DisplayRendition.pixels(of: bytes, selection: selection, limits: limits), maxSide: maxSide, quality: quality)
    }

    /// Shrinks display pixels to fit `maxSide` and encodes a JPEG.
    public static func jpegThumbnail(of view: DisplayRendition.Pixels, maxSide: Int = 256, quality: Int = 82) throws(SegCoreError) -> [UInt8] {
        let size = ImageResizer.fittedSize(width: view.width, height: view.height, maxSide: maxSide)
        let small = try ImageResizer.resize(
            pixels: view.pixels, width: view.width, height: view.height, channels: view.channels, toWidth: size.width,
            toHeight: size.height)
        return try JPEGEncoder.encode(pixels: small, width: size.width, height: size.height, channels: view.channels, quality: quality)
    }
}
