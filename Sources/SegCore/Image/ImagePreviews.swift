import CSegShim

/// The thumbnail and display rendition of an image, made without the whole image in memory
/// wherever the file allows it, and the memory that takes.
///
/// A non-interlaced PNG, a JPEG, and a TIFF page of unsigned 8- or 16-bit gray or RGB samples in
/// strips or tiles are read a band of rows at a time: the bands pass through the display mapping
/// (16-bit samples through ``DisplayStretch``, measured in a first pass over the file) into an area
/// average for the thumbnail and a PNG written row by row for the rendition. A JPEG thumbnail is
/// decoded at 1/2, 1/4 or 1/8 of the size by libjpeg's DCT scaling. Peak memory is then a few bands
/// and the compressed rendition, whatever the pixel count: a 10 000 × 10 000 16-bit RGBA PNG
/// that decodes to 800 MB takes a few megabytes. Other files (interlaced PNGs, BMPs, palette,
/// float and other TIFF layouts) are decoded whole; ``plan(of:selection:rendition:limits:)`` says
/// which, with an estimate of the peak, so that a server can hold a memory budget.
///
/// The previews are the same, bit for bit, as those of ``DisplayRendition`` and ``Thumbnailer``
/// from a whole decode (a JPEG thumbnail from a reduced decode differs by the DCT's rounding).
///
/// ## Usage
/// ```swift
/// let plan = try ImagePreviews.plan(of: bytes, rendition: true)     // before reserving memory
/// let previews = try ImagePreviews.make(of: bytes, rendition: true)
/// store(previews.thumbnail, previews.rendition)
/// ```
public enum ImagePreviews {
    /// A JPEG thumbnail and, when asked for, the PNG display rendition.
    public struct Previews: Sendable {
        /// The JPEG thumbnail (longest side at most the requested one, no metadata).
        public var thumbnail: [UInt8]
        /// The 8-bit gray or RGB PNG rendition at full size, when requested.
        public var rendition: [UInt8]?
        /// Whether the file was read band by band (false: decoded whole).
        public var streamed: Bool
    }

    /// How previews of a file are made, and the most memory that takes beyond the file's bytes.
    public struct Plan: Sendable, Equatable {
        /// Whether the file is read band by band.
        public var streamed: Bool
        /// An upper estimate of the memory that making the previews needs at its peak, in bytes.
        public var peakBytes: Int
    }

    /// Reads the headers and says how previews would be made.
    /// - Throws: ``SegCoreError`` for an unreadable header, a size over `limits` or a bad selection.
    public static func plan(
        of bytes: [UInt8], selection: ImageSelection = .first, thumbnailSide: Int = 256, rendition: Bool,
        limits: ImageLimits = .default
    ) throws(SegCoreError) -> Plan {
        let format = try ImageDecoder.format(of: bytes)
        let slack = 4 << 20
        if format == .jpeg, selection.isFirst {
            let info = try ImageDecoder.info(bytes, limits: limits)
            let scale = rendition ? 1 : jpegScale(width: info.width, height: info.height, side: thumbnailSide)
            let width = (info.width + scale - 1) / scale
            // libjpeg's row buffers; a progressive file's coefficients (2 bytes a sample) at full size.
            var peak = slack + 64 * width * 4
            if info.isInterlaced { peak += info.width * info.height * info.channels * 2 }
            return Plan(streamed: true, peakBytes: peak)
        }
        let layout: BandLayout? =
            switch format {
            case .png where selection.isFirst: try PNGDecoder.withBands(bytes, limits: limits) { $0.layout }
            case .tiff: try TIFFDecoder.withBands(bytes, selection: selection, limits: limits) { $0.layout }
            default: nil
            }
        if let layout {
            let outChannels = layout.colorChannels
            var peak = slack + layout.bandHeight * (layout.rowBytes + layout.width * outChannels)
            peak += ImageResizer.fittedSize(width: layout.width, height: layout.height, maxSide: thumbnailSide).width * 3 * 4 * 4
            // The compressed rendition: reserve half its raw size (8-bit display samples deflate at least that well
            // unless they are noise, which the percentile stretch of a microscopy image rarely is).
            if rendition { peak += layout.width * layout.height * outChannels / 2 }
            return Plan(streamed: true, peakBytes: peak)
        }
        return Plan(streamed: false, peakBytes: try ImageDecoder.peakDecodeBytes(of: bytes, selection: selection, limits: limits))
    }

    /// Makes the thumbnail (longest side `thumbnailSide`, JPEG of `quality`) and, when `rendition`
    /// is true, the full-size PNG display rendition of the selected plane.
    /// - Throws: ``SegCoreError`` from decoding or encoding.
    public static func make(
        of bytes: [UInt8], selection: ImageSelection = .first, thumbnailSide: Int = 256, quality: Int = 82, rendition: Bool,
        limits: ImageLimits = .default
    ) throws(SegCoreError) -> Previews {
        let format = try ImageDecoder.format(of: bytes)
        let streamed: Previews?
        switch format {
        case .jpeg where selection.isFirst:
            let info = try ImageDecoder.info(bytes, limits: limits)
            let scale = rendition ? 1 : jpegScale(width: info.width, height: info.height, side: thumbnailSide)
            let size = ImageResizer.fittedSize(width: info.width, height: info.height, maxSide: thumbnailSide)
            streamed = try JPEGDecoder.withBands(bytes, limits: limits, scaleDenominator: scale) { bands throws(SegCoreError) in
                try previews(of: bands, stretch: nil, thumbnail: size, quality: quality, rendition: rendition)
            }
        case .png where selection.isFirst:
            streamed = try stream(
                { (body: (any RowBands) throws(SegCoreError) -> Previews) throws(SegCoreError) -> Previews? in
                    try PNGDecoder.withBands(bytes, limits: limits, body)
                }, thumbnailSide: thumbnailSide, quality: quality, rendition: rendition)
        case .tiff:
            streamed = try stream(
                { (body: (any RowBands) throws(SegCoreError) -> Previews) throws(SegCoreError) -> Previews? in
                    try TIFFDecoder.withBands(bytes, selection: selection, limits: limits, body)
                }, thumbnailSide: thumbnailSide, quality: quality, rendition: rendition)
        default:
            streamed = nil
        }
        if let streamed { return streamed }
        let view = try DisplayRendition.pixels(of: bytes, selection: selection, limits: limits)
        let thumbnail = try Thumbnailer.jpegThumbnail(of: view, maxSide: thumbnailSide, quality: quality)
        var png: [UInt8]?
        if rendition { png = try PNGEncoder.encode(pixels: view.pixels, width: view.width, height: view.height, channels: view.channels) }
        return Previews(thumbnail: thumbnail, rendition: png, streamed: false)
    }

    /// The largest DCT scale (1/8, 1/4, 1/2) whose output still covers the thumbnail, so that the
    /// area average does the last step as it does for every other format.
    static func jpegScale(width: Int, height: Int, side: Int) -> Int {
        let target = ImageResizer.fittedSize(width: width, height: height, maxSide: side)
        for scale in [8, 4, 2] where (width + scale - 1) / scale >= target.width && (height + scale - 1) / scale >= target.height {
            return scale
        }
        return 1
    }

    /// Two passes over a file's bands when its samples are 16-bit (the first measures the
    /// stretch), one otherwise. `open` runs its body with fresh bands, or returns nil.
    private static func stream(
        _ open: ((any RowBands) throws(SegCoreError) -> Previews) throws(SegCoreError) -> Previews?, thumbnailSide: Int,
        quality: Int, rendition: Bool
    ) throws(SegCoreError) -> Previews? {
        var stretch: [UInt8]?
        var sixteen = false
        let first = try open { bands throws(SegCoreError) -> Previews in
            let layout = bands.layout
            let size = ImageResizer.fittedSize(width: layout.width, height: layout.height, maxSide: thumbnailSide)
            if layout.bytesPerSample == 1 { return try previews(of: bands, stretch: nil, thumbnail: size, quality: quality, rendition: rendition) }
            sixteen = true
            stretch = try stretchTable(of: bands)
            return Previews(thumbnail: [], rendition: nil, streamed: true)
        }
        guard let first else { return nil }
        guard sixteen else { return first }
        return try open { bands throws(SegCoreError) -> Previews in
            let size = ImageResizer.fittedSize(width: bands.layout.width, height: bands.layout.height, maxSide: thumbnailSide)
            return try previews(of: bands, stretch: stretch, thumbnail: size, quality: quality, rendition: rendition)
        }
    }

    /// The 16-bit → 8-bit display table of every colour sample's 0.1st and 99.9th percentile.
    private static func stretchTable(of bands: any RowBands) throws(SegCoreError) -> [UInt8] {
        let layout = bands.layout
        var histogram = [UInt64](repeating: 0, count: 65536)
        let band = BandBuffer(layout)
        defer { band.deallocate() }
        var y = 0
        while y < layout.height {
            let rows = min(layout.bandHeight, layout.height - y)
            try bands.read(rows: rows, into: band.raw)
            let samples = band.raw.assumingMemoryBound(to: UInt16.self)
            let (channels, colour, n) = (layout.channels, layout.colorChannels, rows * layout.width)
            histogram.withUnsafeMutableBufferPointer { h in
                seg_histogram16(samples, n, Int32(channels), Int32(colour), h.baseAddress)
            }
            y += rows
        }
        let stretch = DisplayStretch(histogram: histogram.map { Int($0) }, count: layout.width * layout.height * layout.colorChannels)
        return (0..<65536).map { stretch.map(Double($0)) }
    }

    /// One pass: bands → 8-bit display rows → the area average and the PNG rows.
    private static func previews(
        of bands: any RowBands, stretch: [UInt8]?, thumbnail size: (width: Int, height: Int), quality: Int, rendition: Bool
    ) throws(SegCoreError) -> Previews {
        let layout = bands.layout
        let out = layout.colorChannels
        var shrinker = RowShrinker(width: layout.width, height: layout.height, channels: out, toWidth: size.width, toHeight: size.height)
        let writer = rendition ? try PNGStreamWriter(width: layout.width, height: layout.height, channels: out) : nil
        let band = BandBuffer(layout)
        defer { band.deallocate() }
        // Display rows, unless the band already is them (8-bit samples without extra channels).
        let direct = layout.bytesPerSample == 1 && layout.channels == out
        let display = direct ? nil : UnsafeMutablePointer<UInt8>.allocate(capacity: layout.bandHeight * layout.width * out)
        defer { display?.deallocate() }
        var y = 0
        while y < layout.height {
            let rows = min(layout.bandHeight, layout.height - y)
            try bands.read(rows: rows, into: band.raw)
            let pixels: UnsafePointer<UInt8>
            if let display {
                convert(band.raw, rows * layout.width, layout, stretch, into: display)
                pixels = UnsafePointer(display)
            } else {
                pixels = UnsafePointer(band.raw.assumingMemoryBound(to: UInt8.self))
            }
            shrinker.add(rows: rows, from: pixels)
            try writer?.write(rows: rows, from: pixels)
            y += rows
        }
        let thumbnail = try JPEGEncoder.encode(
            pixels: shrinker.output, width: size.width, height: size.height, channels: out, quality: quality)
        return Previews(thumbnail: thumbnail, rendition: try writer?.finish(), streamed: true)
    }

    /// The colour samples of `count` pixels as 8-bit display samples (16-bit ones through `stretch`).
    private static func convert(
        _ raw: UnsafeMutableRawPointer, _ count: Int, _ layout: BandLayout, _ stretch: [UInt8]?, into dst: UnsafeMutablePointer<UInt8>
    ) {
        let (channels, out) = (Int32(layout.channels), Int32(layout.colorChannels))
        if layout.bytesPerSample == 1 {
            seg_display8(raw.assumingMemoryBound(to: UInt8.self), count, channels, out, dst)
            return
        }
        (stretch ?? []).withUnsafeBufferPointer { lut in
            guard lut.count == 65536 else { return }
            seg_display16(raw.assumingMemoryBound(to: UInt16.self), count, channels, out, lut.baseAddress, dst)
        }
    }
}

/// The shape of a file's rows as a band reader hands them out.
struct BandLayout: Equatable {
    /// Pixels per row (of the output, for a scaled JPEG).
    var width: Int
    /// Rows.
    var height: Int
    /// Samples per pixel in a band.
    var channels: Int
    /// The leading samples that are shown: 1 (gray) or 3 (RGB); the rest are alpha or extra.
    var colorChannels: Int
    /// 1, or 2 for host-order 16-bit samples.
    var bytesPerSample: Int
    /// Rows read at a time (the last band may be shorter).
    var bandHeight: Int

    /// Bytes of one row.
    var rowBytes: Int { width * channels * bytesPerSample }
}

/// Rows of an image read a band at a time, top to bottom.
protocol RowBands: AnyObject {
    /// The rows' shape.
    var layout: BandLayout { get }
    /// Reads the next `rows` rows (a band, or what is left of the image) into `buffer`.
    func read(rows: Int, into buffer: UnsafeMutableRawPointer) throws(SegCoreError)
}

/// One band's worth of raw samples.
private struct BandBuffer {
    let raw: UnsafeMutableRawPointer

    init(_ layout: BandLayout) {
        raw = .allocate(byteCount: max(1, layout.bandHeight * layout.rowBytes), alignment: 16)
    }

    func deallocate() { raw.deallocate() }
}
