import CSegShim

/// libjpeg-turbo decoding through the setjmp shim.
enum JPEGDecoder {
    /// Progressive files may not have more scans than this (libjpeg-turbo's fuzzers and DALI use 500).
    static let maxScans: Int32 = 500

    /// libjpeg's working-memory cap for an image of `pixels` pixels: whole-image coefficient
    /// buffers of a progressive colour file take 6 bytes per pixel; anything beyond is a bomb.
    static func memoryCap(forPixels pixels: Int) -> Int { pixels * 8 + 64 << 20 }

    private final class Handle {
        let decoder: OpaquePointer
        init(limits: ImageLimits) throws(SegCoreError) {
            let cap = JPEGDecoder.memoryCap(forPixels: limits.maxPixels)
            guard let d = seg_jpeg_create(cap, JPEGDecoder.maxScans) else { throw .corruptImage("out of memory creating the JPEG decoder") }
            decoder = d
        }
        deinit { seg_jpeg_destroy(decoder) }

        func error() -> SegCoreError {
            let message = String(cString: seg_jpeg_message(decoder))
            switch seg_jpeg_error_kind(decoder) {
            case SEG_ERR_TRUNCATED: return .truncatedImage(message)
            case SEG_ERR_UNSUPPORTED: return .unsupportedImageFeature(message)
            case SEG_ERR_LIMIT, SEG_ERR_MEMORY: return .corruptImage("decoder limit reached: \(message)")
            default: return .corruptImage(message)
            }
        }
    }

    private static func readHeader(
        _ handle: Handle, _ base: UnsafePointer<UInt8>, _ count: Int, limits: ImageLimits
    )
        throws(SegCoreError) -> seg_jpeg_info
    {
        var info = seg_jpeg_info()
        guard seg_jpeg_read_header(handle.decoder, base, count, &info) == 0 else {
            // Sides over libjpeg's own maximum (65 500): the shim reports the declared size.
            if seg_jpeg_error_kind(handle.decoder) == SEG_ERR_LIMIT, info.width > 0, info.height > 0 {
                throw .imageTooLarge(width: Int(info.width), height: Int(info.height), limits: limits)
            }
            throw handle.error()
        }
        guard info.precision == 8 else { throw .unsupportedImageFeature("\(info.precision)-bit JPEG samples") }
        try limits.check(width: Int(info.width), height: Int(info.height))
        return info
    }

    static func info(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> ImageInfo {
        let handle = try Handle(limits: limits)
        let info: seg_jpeg_info = try withBytes(bytes) { (base, count) throws(SegCoreError) in
            try readHeader(handle, base, count, limits: limits)
        }
        return ImageInfo(
            format: .jpeg, width: Int(info.width), height: Int(info.height), channels: Int(info.components), bitDepth: 8,
            isInterlaced: info.progressive != 0)
    }

    static func decodeGray(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> GrayImage {
        let handle = try Handle(limits: limits)
        return try withBytes(bytes) { (base, count) throws(SegCoreError) -> GrayImage in
            let info = try readHeader(handle, base, count, limits: limits)
            let w = Int(info.width)
            let h = Int(info.height)
            if info.components == 4 {
                let cmyk = try decode(handle, output: SEG_JPEG_OUT_CMYK, width: w, height: h, channels: 4)
                return GrayImage(unchecked: w, h, cmykToGray(cmyk, adobe: info.adobe_transform >= 0))
            }
            let pixels = try decode(handle, output: SEG_JPEG_OUT_GRAY, width: w, height: h, channels: 1)
            return GrayImage(unchecked: w, h, pixels)
        }
    }

    static func decodeRaster(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> RasterImage {
        let handle = try Handle(limits: limits)
        return try withBytes(bytes) { (base, count) throws(SegCoreError) -> RasterImage in
            let info = try readHeader(handle, base, count, limits: limits)
            let w = Int(info.width)
            let h = Int(info.height)
            switch info.components {
            case 1:
                let pixels = try decode(handle, output: SEG_JPEG_OUT_GRAY, width: w, height: h, channels: 1)
                return RasterImage(unchecked: w, h, 1, .uint8(pixels))
            case 4:
                let cmyk = try decode(handle, output: SEG_JPEG_OUT_CMYK, width: w, height: h, channels: 4)
                return RasterImage(unchecked: w, h, 3, .uint8(cmykToRGB(cmyk, adobe: info.adobe_transform >= 0)))
            default:
                let pixels = try decode(handle, output: SEG_JPEG_OUT_RGB, width: w, height: h, channels: 3)
                return RasterImage(unchecked: w, h, 3, .uint8(pixels))
            }
        }
    }

    private static func decode(
        _ handle: Handle, output: seg_jpeg_output, width: Int, height: Int, channels: Int
    )
        throws(SegCoreError) -> [UInt8]
    {
        var failed = false
        let count = width * height * channels
        let pixels = LargeBuffer.make(count: count) { (base: UnsafeMutablePointer<UInt8>) in
            if seg_jpeg_decode(handle.decoder, output, base, width * channels) != 0 {
                // Hand back zeroed memory so the array is always fully initialised.
                base.initialize(repeating: 0, count: count)
                failed = true
            }
        }
        if failed { throw handle.error() }
        return pixels
    }

    /// Adobe CMYK JPEGs store inverted ink values; plain ones store ink directly.
    private static func cmykToRGB(_ cmyk: [UInt8], adobe: Bool) -> [UInt8] {
        let n = cmyk.count / 4
        return [UInt8](unsafeUninitializedCapacity: n * 3) { out, initialized in
            cmyk.withUnsafeBufferPointer { src in
                if let s = src.baseAddress, let d = out.baseAddress { cmykToRGB(s, d, count: n, adobe: adobe) }
            }
            initialized = n * 3
        }
    }

    /// Converts `count` CMYK pixels at `src` to RGB at `dst`.
    private static func cmykToRGB(_ src: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>, count n: Int, adobe: Bool) {
        for i in 0..<n {
            var c = UInt32(src[4 * i]), m = UInt32(src[4 * i + 1]), y = UInt32(src[4 * i + 2]), k = UInt32(src[4 * i + 3])
            if !adobe {
                c = 255 - c
                m = 255 - m
                y = 255 - y
                k = 255 - k
            }
            out[3 * i] = UInt8((c * k + 127) / 255)
            out[3 * i + 1] = UInt8((m * k + 127) / 255)
            out[3 * i + 2] = UInt8((y * k + 127) / 255)
        }
    }

    private static func cmykToGray(_ cmyk: [UInt8], adobe: Bool) -> [UInt8] {
        let rgb = cmykToRGB(cmyk, adobe: adobe)
        let n = rgb.count / 3
        return [UInt8](unsafeUninitializedCapacity: n) { out, initialized in
            rgb.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    out[i] = rgbToLuma(r: UInt32(src[3 * i]), g: UInt32(src[3 * i + 1]), b: UInt32(src[3 * i + 2]))
                }
            }
            initialized = n
        }
    }
}

extension JPEGDecoder {
    /// Runs `body` with the file's rows as 8-bit gray or RGB bands (CMYK converted), decoded at
    /// 1/`scaleDenominator` of the size (1, 2, 4 or 8) by libjpeg's DCT scaling. Progressive files
    /// still hold their whole coefficient array (6 bytes a pixel for colour) while decoding.
    static func withBands<R>(
        _ bytes: [UInt8], limits: ImageLimits, scaleDenominator: Int, _ body: (any RowBands) throws(SegCoreError) -> R
    ) throws(SegCoreError) -> R {
        let handle = try Handle(limits: limits)
        return try withBytes(bytes) { (base, count) throws(SegCoreError) -> R in
            let info = try readHeader(handle, base, count, limits: limits)
            let output: seg_jpeg_output
            switch info.components {
            case 1: output = SEG_JPEG_OUT_GRAY
            case 4: output = SEG_JPEG_OUT_CMYK
            default: output = SEG_JPEG_OUT_RGB
            }
            var width: Int32 = 0
            var height: Int32 = 0
            guard seg_jpeg_start(handle.decoder, output, Int32(scaleDenominator), &width, &height) == 0 else { throw handle.error() }
            let channels = info.components == 1 ? 1 : 3
            let layout = BandLayout(
                width: Int(width), height: Int(height), channels: channels, colorChannels: channels, bytesPerSample: 1, bandHeight: 16)
            return try body(Bands(handle: handle, layout: layout, cmyk: info.components == 4, adobe: info.adobe_transform >= 0))
        }
    }

    private final class Bands: RowBands {
        let handle: Handle
        let layout: BandLayout
        let cmyk: Bool
        let adobe: Bool
        private var scratch: [UInt8] = []

        init(handle: Handle, layout: BandLayout, cmyk: Bool, adobe: Bool) {
            self.handle = handle
            self.layout = layout
            self.cmyk = cmyk
            self.adobe = adobe
        }

        func read(rows: Int, into buffer: UnsafeMutableRawPointer) throws(SegCoreError) {
            let out = buffer.assumingMemoryBound(to: UInt8.self)
            guard cmyk else {
                if seg_jpeg_read_rows(handle.decoder, out, layout.rowBytes, Int32(rows)) != 0 { throw handle.error() }
                return
            }
            let count = rows * layout.width
            if scratch.count < count * 4 { scratch = [UInt8](repeating: 0, count: count * 4) }
            let (handle, width, adobe) = (handle, layout.width, adobe)
            let failed = scratch.withUnsafeMutableBufferPointer { cmyk -> Bool in
                guard let base = cmyk.baseAddress else { return true }
                if seg_jpeg_read_rows(handle.decoder, base, width * 4, Int32(rows)) != 0 { return true }
                JPEGDecoder.cmykToRGB(base, out, count: count, adobe: adobe)
                return false
            }
            if failed { throw handle.error() }
        }
    }
}

/// Runs `body` with the bytes' base address and count, keeping them alive throughout (libjpeg's
/// memory source and our PNG reader keep the pointer).
func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) throws(SegCoreError) -> R) throws(SegCoreError) -> R {
    let result: Result<R, SegCoreError> = bytes.withUnsafeBufferPointer { buf in
        guard let base = buf.baseAddress else { return .failure(.emptyInput) }
        do throws(SegCoreError) {
            return .success(try body(base, buf.count))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}
