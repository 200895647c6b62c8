/// Decodes JPEG, PNG, TIFF and BMP bytes, recognised by their first bytes, into SegHub's image types.
///
/// Limits are checked from the header before any pixel buffer is allocated, and every failure
/// (unsupported, truncated, corrupt, too large) is a thrown ``SegCoreError``: whatever the bytes,
/// the process does not abort.
///
/// ## Usage
/// ```swift
/// let bytes = try [UInt8](Data(contentsOf: url))
/// let image = try ImageDecoder.decode(bytes)                  // full precision: 8-, 16-bit or float
/// let plane = try ImageDecoder.decode(bytes, selection: ImageSelection(channel: 1, z: 4))  // OME-TIFF plane
/// let gray = try ImageDecoder.decodeGray(bytes)               // the 8-bit view (display, thumbnails)
/// let raw = try ImageDecoder.decodeRaster(bytes)              // stored channels, no conversion
/// ```
public enum ImageDecoder {
    /// Reads the header only (of the first page): format, size, channels, bit depth, pages.
    public static func info(_ bytes: [UInt8], limits: ImageLimits = .default) throws(SegCoreError) -> ImageInfo {
        switch try format(of: bytes) {
        case .jpeg: return try JPEGDecoder.info(bytes, limits: limits)
        case .png: return try PNGDecoder.info(bytes, limits: limits)
        case .tiff: return try TIFFDecoder.info(bytes, limits: limits)
        case .bmp: return try BMPDecoder.info(bytes, limits: limits)
        }
    }

    /// Decodes to gray at the file's own precision: 8-bit sources as ``AnyGrayImage/uint8(_:)``,
    /// 16-bit ones exactly as ``AnyGrayImage/uint16(_:)``, float, signed and 32-bit TIFF samples as
    /// ``AnyGrayImage/float32(_:)``. Colour becomes ITU-R BT.601 luma at the same precision; alpha
    /// is ignored.
    /// - Parameter selection: the page or hyperstack plane (TIFF); other formats have one page.
    public static func decode(
        _ bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> AnyGrayImage {
        let format = try format(of: bytes)
        if format == .tiff { return try TIFFDecoder.decode(bytes, selection: selection, limits: limits) }
        try singlePage(format, selection)
        switch format {
        case .jpeg: return .uint8(try JPEGDecoder.decodeGray(bytes, limits: limits))
        case .bmp: return .uint8(try BMPDecoder.decodeGray(bytes, limits: limits))
        default:
            if try PNGDecoder.info(bytes, limits: limits).bitDepth == 16 { return .uint16(try PNGDecoder.decodeGray16(bytes, limits: limits)) }
            return .uint8(try PNGDecoder.decodeGray(bytes, limits: limits))
        }
    }

    /// Decodes to the 8-bit view: 8-bit files as stored (colour as BT.601 luma, alpha ignored);
    /// deeper ones with their 0.1st–99.9th percentile mapped to 0–255 (``DisplayStretch``).
    public static func decodeGray(
        _ bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> GrayImage {
        let format = try format(of: bytes)
        if format == .jpeg {
            try singlePage(format, selection)
            return try JPEGDecoder.decodeGray(bytes, limits: limits)
        }
        return try decode(bytes, selection: selection, limits: limits).view8()
    }

    /// Decodes to 16-bit gray: 16-bit samples exactly; 8-bit ones scaled by 257 (so 255 → 65535);
    /// float samples with their finite range mapped linearly to 0–65535.
    public static func decodeGray16(
        _ bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> GrayImage16 {
        switch try decode(bytes, selection: selection, limits: limits) {
        case .uint8(let g): return widen(g)
        case .uint16(let g): return g
        case .float32(let g): return WorkingImage.quantized(g).image
        }
    }

    /// Decodes to the stored channel layout without luma conversion (palette and low bit depths
    /// expanded to 8 bits; 16- and 32-bit integer samples kept; CMYK converted to RGB).
    public static func decodeRaster(
        _ bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> RasterImage {
        let format = try format(of: bytes)
        if format == .tiff { return try TIFFDecoder.decodeRaster(bytes, selection: selection, limits: limits) }
        try singlePage(format, selection)
        switch format {
        case .jpeg: return try JPEGDecoder.decodeRaster(bytes, limits: limits)
        case .bmp: return try BMPDecoder.decodeRaster(bytes, limits: limits)
        default: return try PNGDecoder.decodeRaster(bytes, limits: limits)
        }
    }

    /// An upper estimate of the memory that decoding the selected plane whole takes at its peak, and working on it
    /// (the stored samples twice, plus 8 bytes a pixel for a gray, float or 8-bit view and the segmenter's or the
    /// previews' buffers; a progressive JPEG's coefficients besides), from the headers only. Servers budget decodes
    /// with it; segmenting a 4000² 16-bit PNG measured 7.5 bytes a pixel, where this says 12.
    /// - Throws: ``SegCoreError`` for an unreadable header, a size over `limits` or a bad selection.
    public static func peakDecodeBytes(
        of bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> Int {
        let (width, height, samples, bits): (Int, Int, Int, Int)
        var extra = 0
        if try format(of: bytes) == .tiff {
            (width, height, samples, bits) = try TIFFDecoder.pageLayout(bytes, selection: selection, limits: limits)
        } else {
            let info = try info(bytes, limits: limits)
            (width, height, samples, bits) = (info.width, info.height, max(info.channels, 3), info.bitDepth)
            if info.format == .jpeg, info.isInterlaced { extra = width * height * info.channels * 2 }
        }
        let perPixel = min(64, samples) * max(1, bits / 8) * 2 + 8
        return (4 << 20) + extra + width * height * perPixel
    }

    static func format(of bytes: [UInt8]) throws(SegCoreError) -> ImageFormat {
        if bytes.isEmpty { throw .emptyInput }
        guard let f = ImageFormat.sniff(bytes) else { throw .unsupportedImageFormat }
        return f
    }

    /// JPEG, PNG and BMP files have one page and no hyperstack planes.
    private static func singlePage(_ format: ImageFormat, _ selection: ImageSelection) throws(SegCoreError) {
        try selection.validate()
        guard (selection.page ?? 0) == 0, (selection.channel ?? 0) == 0, (selection.z ?? 0) == 0, (selection.t ?? 0) == 0 else {
            throw .invalidArgument("a \(format.rawValue.uppercased()) file has a single page and plane; pages, channels, z and t apply to TIFF")
        }
    }

    static func widen(_ g: GrayImage) -> GrayImage16 {
        var out = [UInt16](repeating: 0, count: g.pixels.count)
        g.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = UInt16(src[i]) &* 257 }
            }
        }
        return GrayImage16(unchecked: g.width, g.height, out)
    }
}

/// Converts interleaved 8-bit RGB to BT.601 luma with libjpeg's fixed-point weights and rounding.
@inlinable func rgbToLuma(r: UInt32, g: UInt32, b: UInt32) -> UInt8 {
    UInt8(truncatingIfNeeded: (19595 &* r &+ 38470 &* g &+ 7471 &* b &+ 32768) >> 16)
}
