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
            initialized = n * 3
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
