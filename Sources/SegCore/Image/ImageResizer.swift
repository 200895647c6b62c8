import CSegShim

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
        var shrinker = RowShrinker(width: width, height: height, channels: channels, toWidth: toWidth, toHeight: toHeight)
        pixels.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            shrinker.add(rows: height, from: base)
        }
        return shrinker.output
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

/// ``ImageResizer``'s area average fed a few source rows at a time, top to bottom: only the output
/// and two rows of sums are held, so a thumbnail of an image read band by band never needs the
/// whole image. The output is the same, bit for bit, as resizing the whole image at once.
struct RowShrinker {
    let width: Int
    let channels: Int
    let toWidth: Int
    let toHeight: Int
    /// The finished output, `toWidth * toHeight * channels` samples (complete once every row is added).
    private(set) var output: [UInt8]
    /// The horizontal weights as columns (target pixel, source pixel, weight), for the C loop.
    private let xTargets: [Int32]
    private let xSources: [Int32]
    private let xWeights: [Float]
    /// For each source row, its (target row, weight) pairs in target order.
    private let rowTargets: [[(target: Int, weight: Float)]]
    /// For each target row, the last source row that contributes to it.
    private let lastSource: [Int]
    /// Sums of the target rows not yet finished, by target row modulo `ring`.
    private var sums: [Float]
    private var horizontal: [Float]
    private let ring: Int
    private var nextSource = 0
    private var nextTarget = 0

    init(width: Int, height: Int, channels: Int, toWidth: Int, toHeight: Int) {
        self.width = width
        self.channels = channels
        self.toWidth = toWidth
        self.toHeight = toHeight
        let xs = ImageResizer.weights(source: width, target: toWidth)
        xTargets = xs.map { Int32(truncatingIfNeeded: $0.target) }
        xSources = xs.map { Int32(truncatingIfNeeded: $0.source) }
        xWeights = xs.map(\.weight)
        let ys = ImageResizer.weights(source: height, target: toHeight)
        var rowTargets = [[(target: Int, weight: Float)]](repeating: [], count: height)
        var lastSource = [Int](repeating: -1, count: toHeight)
        for entry in ys {
            rowTargets[entry.source].append((entry.target, entry.weight))
            lastSource[entry.target] = max(lastSource[entry.target], entry.source)
        }
        // A target that no source row reaches is finished as soon as the one before it is.
        for t in 1..<max(1, toHeight) where lastSource[t] < lastSource[t - 1] { lastSource[t] = lastSource[t - 1] }
        // At most this many target rows are open at once: those one source row reaches, plus one.
        ring = (rowTargets.map(\.count).max() ?? 1) + 1
        self.rowTargets = rowTargets
        self.lastSource = lastSource
        sums = [Float](repeating: 0, count: ring * toWidth * channels)
        horizontal = [Float](repeating: 0, count: toWidth * channels)
        output = [UInt8](repeating: 0, count: toWidth * toHeight * channels)
    }

    /// Adds the next `rows` source rows (`width * channels` samples each, contiguous).
    mutating func add(rows: Int, from source: UnsafePointer<UInt8>) {
        let rowLength = toWidth * channels
        // Taken out of self (and put back below) so the buffers are not copied on write.
        var horizontal = self.horizontal
        var sums = self.sums
        self.horizontal = []
        self.sums = []
        var nextSource = nextSource
        var nextTarget = nextTarget
        let (channels, ring, toHeight, sourceRow) = (channels, ring, toHeight, width * channels)
        let (rowTargets, lastSource) = (rowTargets, lastSource)
        xTargets.withUnsafeBufferPointer { xt in
            xSources.withUnsafeBufferPointer { xsrc in
                xWeights.withUnsafeBufferPointer { xw in
                    horizontal.withUnsafeMutableBufferPointer { hor in
                        sums.withUnsafeMutableBufferPointer { sums in
                            output.withUnsafeMutableBufferPointer { dst in
                                guard let hor = hor.baseAddress, let sums = sums.baseAddress, let dst = dst.baseAddress else { return }
                                for r in 0..<rows where nextSource < rowTargets.count {
                                    let sy = nextSource
                                    nextSource += 1
                                    if !rowTargets[sy].isEmpty {
                                        seg_area_row(
                                            source + r * sourceRow, Int32(channels), xt.baseAddress, xsrc.baseAddress, xw.baseAddress, xt.count,
                                            hor, rowLength)
                                        for (target, wy) in rowTargets[sy] {
                                            seg_area_accumulate(sums + (target % ring) * rowLength, hor, wy, rowLength)
                                        }
                                    }
                                    while nextTarget < toHeight && lastSource[nextTarget] <= sy {
                                        seg_area_emit(sums + (nextTarget % ring) * rowLength, dst + nextTarget * rowLength, rowLength)
                                        nextTarget += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        self.horizontal = horizontal
        self.sums = sums
        self.nextSource = nextSource
        self.nextTarget = nextTarget
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
