/// Decodes JPEG and PNG bytes, recognised by their first bytes, into SegHub's image types.
///
/// Limits are checked from the header before any pixel buffer is allocated, and every failure
/// (unsupported, truncated, corrupt, too large) is a thrown ``SegCoreError``: whatever the bytes,
/// the process does not abort.
///
/// ## Usage
/// ```swift
/// let bytes = try [UInt8](Data(contentsOf: url))
/// let gray = try ImageDecoder.decodeGray(bytes)               // 8-bit luma (BT.601)
/// let deep = try ImageDecoder.decodeGray16(bytes)             // 16-bit PNGs keep 16 bits
/// let raw = try ImageDecoder.decodeRaster(bytes)              // stored channels, no conversion
/// ```
public enum ImageDecoder {
    /// Reads the header only: format, size, channels and bit depth.
    public static func info(_ bytes: [UInt8], limits: ImageLimits = .default) throws(SegCoreError) -> ImageInfo {
        switch try format(of: bytes) {
        case .jpeg: return try JPEGDecoder.info(bytes, limits: limits)
        case .png: return try PNGDecoder.info(bytes, limits: limits)
        }
    }

    /// Decodes to 8-bit gray: gray files as stored, colour as ITU-R BT.601 luma, alpha ignored,
    /// 16-bit samples reduced to their high byte.
    public static func decodeGray(_ bytes: [UInt8], limits: ImageLimits = .default) throws(SegCoreError) -> GrayImage {
        switch try format(of: bytes) {
        case .jpeg: return try JPEGDecoder.decodeGray(bytes, limits: limits)
        case .png: return try PNGDecoder.decodeGray(bytes, limits: limits)
        }
    }

    /// Decodes to 16-bit gray: 16-bit PNGs exactly; 8-bit sources scaled by 257 (so 255 → 65535).
    public static func decodeGray16(_ bytes: [UInt8], limits: ImageLimits = .default) throws(SegCoreError) -> GrayImage16 {
        switch try format(of: bytes) {
        case .jpeg:
            let g = try JPEGDecoder.decodeGray(bytes, limits: limits)
            return widen(g)
        case .png: return try PNGDecoder.decodeGray16(bytes, limits: limits)
        }
    }

    /// Decodes to the stored channel layout without luma conversion (palette and low bit depths
    /// expanded to 8 bits; 16-bit PNG kept at 16 bits; CMYK JPEG converted to RGB).
    public static func decodeRaster(_ bytes: [UInt8], limits: ImageLimits = .default) throws(SegCoreError) -> RasterImage {
        switch try format(of: bytes) {
        case .jpeg: return try JPEGDecoder.decodeRaster(bytes, limits: limits)
        case .png: return try PNGDecoder.decodeRaster(bytes, limits: limits)
        }
    }

    static func format(of bytes: [UInt8]) throws(SegCoreError) -> ImageFormat {
        if bytes.isEmpty { throw .emptyInput }
        guard let f = ImageFormat.sniff(bytes) else { throw .unsupportedImageFormat }
        return f
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
