/// What browsers are shown of an image: 8-bit gray or RGB pixels, and the PNG made of them at
/// upload for originals a browser cannot show as stored (TIFF) or would show wrongly (samples of
/// more than 8 bits, which browsers cut to their high byte: a 12-bit camera image looks black).
///
/// 8-bit sources are used as stored (alpha dropped); deeper ones go through ``DisplayStretch``
/// (the 0.1st–99.9th percentile of their colour samples mapped to 0–255), float and signed TIFFs
/// through their gray view.
///
/// ## Usage
/// ```swift
/// if DisplayRendition.isNeeded(for: try ImageDecoder.info(bytes)) {
///     let png = try DisplayRendition.png(of: bytes)
/// }
/// ```
public enum DisplayRendition {
    /// 8-bit pixels for display.
    public struct Pixels: Sendable, Equatable {
        /// Width in pixels.
        public var width: Int
        /// Height in pixels.
        public var height: Int
        /// 1 (gray) or 3 (RGB).
        public var channels: Int
        /// `width * height * channels` samples, interleaved.
        public var pixels: [UInt8]
    }

    /// Whether a browser needs a rendition to show this image correctly: a TIFF, or more than 8 bits per sample.
    public static func isNeeded(for info: ImageInfo) -> Bool {
        info.format == .tiff || info.bitDepth > 8
    }

    /// The plane's pixels for display.
    /// - Throws: ``SegCoreError`` from decoding.
    public static func pixels(
        of bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> Pixels {
        if ImageFormat.sniff(bytes) == .tiff, try TIFFDecoder.hasNonIntegerSamples(bytes, selection: selection, limits: limits) {
            let gray = try ImageDecoder.decode(bytes, selection: selection, limits: limits).view8()
            return Pixels(width: gray.width, height: gray.height, channels: 1, pixels: gray.pixels)
        }
        let raster = try ImageDecoder.decodeRaster(bytes, selection: selection, limits: limits)
        let view = raster.display8()
        return Pixels(width: raster.width, height: raster.height, channels: view.channels, pixels: view.pixels)
    }

    /// The plane's display pixels as a PNG (8-bit gray or RGB, no metadata).
    /// - Throws: ``SegCoreError`` from decoding or encoding.
    public static func png(
        of bytes: [UInt8], selection: ImageSelection = .first, limits: ImageLimits = .default
    ) throws(SegCoreError) -> [UInt8] {
        let view = try pixels(of: bytes, selection: selection, limits: limits)
        return try PNGEncoder.encode(pixels: view.pixels, width: view.width, height: view.height, channels: view.channels)
    }
}

extension RasterImage {
    /// 8-bit gray (1 channel) or RGB (3 channels): alpha dropped; 16- and 32-bit samples through
    /// one ``DisplayStretch`` measured over all colour samples (so colours keep their balance).
    func display8() -> (pixels: [UInt8], channels: Int) {
        let outChannels = colorChannels == 1 ? 1 : 3
        let n = width * height
        let count = n * outChannels
        func colour<T>(_ s: [T]) -> [T] {
            if channels == outChannels { return s }
            return (0..<count).map { s[($0 / outChannels) * channels + $0 % outChannels] }
        }
        switch samples {
        case .uint8(let s):
            return (colour(s), outChannels)
        case .uint16(let s):
            let samples = GrayImage16(unchecked: count, 1, colour(s))
            return (DisplayStretch(samples).apply(samples).pixels, outChannels)
        case .uint32(let s):
            let samples = GrayImageFloat(unchecked: count, 1, colour(s).map { Float($0) })
            return (DisplayStretch(samples).apply(samples).pixels, outChannels)
        }
    }
}
