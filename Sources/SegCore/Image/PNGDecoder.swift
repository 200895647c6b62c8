import CSegShim

/// libpng decoding through the setjmp shim.
enum PNGDecoder {
    private final class Handle {
        let decoder: OpaquePointer
        init(limits: ImageLimits) throws(SegCoreError) {
            let side = Int32(clamping: limits.maxDimension)
            guard let d = seg_png_create(side) else { throw .corruptImage("out of memory creating the PNG decoder") }
            decoder = d
        }
        deinit { seg_png_destroy(decoder) }

        func error() -> SegCoreError {
            let message = String(cString: seg_png_message(decoder))
            switch seg_png_error_kind(decoder) {
            case SEG_ERR_TRUNCATED: return .truncatedImage(message)
            case SEG_ERR_UNSUPPORTED: return .unsupportedImageFeature(message)
            default: return .corruptImage(message)
            }
        }
    }

    private static func readHeader(
        _ handle: Handle, _ base: UnsafePointer<UInt8>, _ count: Int, limits: ImageLimits
    )
        throws(SegCoreError) -> seg_png_info
    {
        var info = seg_png_info()
        if seg_png_read_header(handle.decoder, base, count, &info) != 0 {
            // libpng refuses sides over the user limit itself (the shim then reports the declared
            // size); report that as the size error it is.
            if seg_png_error_kind(handle.decoder) == SEG_ERR_LIMIT, info.width > 0, info.height > 0 {
                throw .imageTooLarge(width: Int(info.width), height: Int(info.height), limits: limits)
            }
            throw handle.error()
        }
        try limits.check(width: Int(info.width), height: Int(info.height))
        return info
    }

    private static func channelCount(colorType: Int32, hasTRNS: Bool) -> Int {
        switch colorType {
        case 0: return hasTRNS ? 2 : 1  // gray
        case 2: return hasTRNS ? 4 : 3  // RGB
        case 3: return hasTRNS ? 4 : 3  // palette
        case 4: return 2  // gray + alpha
        case 6: return 4  // RGBA
        default: return 1
        }
    }

    static func info(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> ImageInfo {
        let handle = try Handle(limits: limits)
        let info = try withBytes(bytes) { (base, count) throws(SegCoreError) in try readHeader(handle, base, count, limits: limits) }
        return ImageInfo(
            format: .png, width: Int(info.width), height: Int(info.height),
            channels: channelCount(colorType: info.color_type, hasTRNS: info.has_trns != 0), bitDepth: Int(info.bit_depth),
            isInterlaced: info.interlaced != 0)
    }

    private struct Decoded {
        var width: Int
        var height: Int
        var channels: Int
        var bitDepth: Int
        var bytes: [UInt8]
    }

    private static func decode(_ bytes: [UInt8], flags: Int32, limits: ImageLimits) throws(SegCoreError) -> Decoded {
        let handle = try Handle(limits: limits)
        return try withBytes(bytes) { (base, count) throws(SegCoreError) -> Decoded in
            let info = try readHeader(handle, base, count, limits: limits)
            var channels: Int32 = 0
            var depth: Int32 = 0
            var rowBytes = 0
            guard seg_png_prepare(handle.decoder, flags, &channels, &depth, &rowBytes) == 0 else { throw handle.error() }
            let w = Int(info.width)
            let h = Int(info.height)
            guard rowBytes == w * Int(channels) * Int(depth) / 8 else {
                throw .unsupportedImageFeature("unexpected PNG row layout")
            }
            var failed = false
            let total = rowBytes * h
            let pixels = LargeBuffer.make(count: total) { (dst: UnsafeMutablePointer<UInt8>) in
                if seg_png_decode(handle.decoder, dst, rowBytes) != 0 {
                    dst.initialize(repeating: 0, count: total)
                    failed = true
                }
            }
            if failed { throw handle.error() }
            return Decoded(width: w, height: h, channels: Int(channels), bitDepth: Int(depth), bytes: pixels)
        }
    }

    static func decodeGray(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> GrayImage {
        let d = try decode(bytes, flags: Int32(SEG_PNG_STRIP_16 | SEG_PNG_TO_GRAY | SEG_PNG_STRIP_ALPHA), limits: limits)
        guard d.channels == 1, d.bitDepth == 8 else { throw .unsupportedImageFeature("PNG could not be reduced to 8-bit gray") }
        return GrayImage(unchecked: d.width, d.height, d.bytes)
    }

    static func decodeGray16(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> GrayImage16 {
        let d = try decode(bytes, flags: Int32(SEG_PNG_TO_GRAY | SEG_PNG_STRIP_ALPHA), limits: limits)
        guard d.channels == 1 else { throw .unsupportedImageFeature("PNG could not be reduced to gray") }
        if d.bitDepth == 8 { return ImageDecoder.widen(GrayImage(unchecked: d.width, d.height, d.bytes)) }
        return GrayImage16(unchecked: d.width, d.height, toUInt16(d.bytes))
    }

    static func decodeRaster(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> RasterImage {
        let d = try decode(bytes, flags: 0, limits: limits)
        if d.bitDepth == 16 { return RasterImage(unchecked: d.width, d.height, d.channels, .uint16(toUInt16(d.bytes))) }
        return RasterImage(unchecked: d.width, d.height, d.channels, .uint8(d.bytes))
    }

    /// Reinterprets host-order 16-bit samples (the shim asked libpng to swap them).
    private static func toUInt16(_ bytes: [UInt8]) -> [UInt16] {
        let n = bytes.count / 2
        return LargeBuffer.make(count: n) { (dst: UnsafeMutablePointer<UInt16>) in
            bytes.withUnsafeBytes { raw in
                if let src = raw.baseAddress { UnsafeMutableRawPointer(dst).copyMemory(from: src, byteCount: n * 2) }
            }
        }
    }
}

extension PNGDecoder {
    /// Runs `body` with the file's rows as display bands (alpha dropped, palette and low depths
    /// expanded, 16-bit samples kept), or returns nil for an interlaced file, whose rows need the
    /// whole image.
    static func withBands<R>(
        _ bytes: [UInt8], limits: ImageLimits, _ body: (any RowBands) throws(SegCoreError) -> R
    ) throws(SegCoreError) -> R? {
        let handle = try Handle(limits: limits)
        return try withBytes(bytes) { (base, count) throws(SegCoreError) -> R? in
            let info = try readHeader(handle, base, count, limits: limits)
            guard info.interlaced == 0 else { return nil }
            var channels: Int32 = 0
            var depth: Int32 = 0
            var rowBytes = 0
            guard seg_png_prepare(handle.decoder, Int32(SEG_PNG_STRIP_ALPHA), &channels, &depth, &rowBytes) == 0 else {
                throw handle.error()
            }
            let width = Int(info.width)
            guard rowBytes == width * Int(channels) * Int(depth) / 8, channels == 1 || channels == 3, depth == 8 || depth == 16 else {
                throw .unsupportedImageFeature("unexpected PNG row layout")
            }
            let layout = BandLayout(
                width: width, height: Int(info.height), channels: Int(channels), colorChannels: Int(channels),
                bytesPerSample: Int(depth) / 8, bandHeight: 16)
            return try body(Bands(handle: handle, layout: layout))
        }
    }

    private final class Bands: RowBands {
        let handle: Handle
        let layout: BandLayout

        init(handle: Handle, layout: BandLayout) {
            self.handle = handle
            self.layout = layout
        }

        func read(rows: Int, into buffer: UnsafeMutableRawPointer) throws(SegCoreError) {
            let stride = layout.rowBytes
            if seg_png_read_rows(handle.decoder, buffer.assumingMemoryBound(to: UInt8.self), stride, Int32(rows)) != 0 {
                throw handle.error()
            }
        }
    }
}
