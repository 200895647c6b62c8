import CSegShim

/// Encodes PNG files: 8-bit gray masks, 16-bit label masks, and colour images.
public enum PNGEncoder {
    /// Encodes an 8-bit gray image. `compression` is zlib's level, 0–9 (default 6).
    public static func encode(_ image: GrayImage, compression: Int = 6) throws(SegCoreError) -> [UInt8] {
        try withRaw(image.pixels) { (base) throws(SegCoreError) -> [UInt8] in
            try run(base, image.width, image.height, channels: 1, depth: 8, stride: image.width, compression)
        }
    }

    /// Encodes a 16-bit gray image (label masks with more than 255 objects, microscopy data).
    public static func encode(_ image: GrayImage16, compression: Int = 6) throws(SegCoreError) -> [UInt8] {
        try withRaw(image.pixels) { (base) throws(SegCoreError) -> [UInt8] in
            try run(base, image.width, image.height, channels: 1, depth: 16, stride: image.width * 2, compression)
        }
    }

    /// Encodes interleaved 8-bit samples with 1–4 channels (gray, gray+alpha, RGB, RGBA).
    public static func encode(
        pixels: [UInt8], width: Int, height: Int, channels: Int, compression: Int = 6
    ) throws(SegCoreError)
        -> [UInt8]
    {
        guard (1...4).contains(channels), pixels.count == width * height * channels else {
            throw .invalidArgument("pixel buffer does not match \(width)×\(height)×\(channels)")
        }
        return try withRaw(pixels) { (base) throws(SegCoreError) -> [UInt8] in
            try run(base, width, height, channels: channels, depth: 8, stride: width * channels, compression)
        }
    }

    private static func run(
        _ base: UnsafeRawPointer?, _ width: Int, _ height: Int, channels: Int, depth: Int, stride: Int, _ compression: Int
    ) throws(SegCoreError) -> [UInt8] {
        guard width > 0, height > 0, let base else { throw .encodingFailed("cannot encode an empty image") }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = seg_png_encode(
            base, Int32(width), Int32(height), Int32(channels), Int32(depth), stride, Int32(max(0, min(9, compression))), &out,
            &size, &message, message.count)
        return try takeBuffer(rc: rc, out: out, size: size, message: message)
    }
}

/// Encodes JPEG files (thumbnails); metadata is never written.
public enum JPEGEncoder {
    /// Encodes an 8-bit gray image at `quality` (1–100, default 85).
    public static func encode(_ image: GrayImage, quality: Int = 85) throws(SegCoreError) -> [UInt8] {
        try encode(pixels: image.pixels, width: image.width, height: image.height, channels: 1, quality: quality)
    }

    /// Encodes interleaved 8-bit gray (1 channel) or RGB (3 channels) samples.
    public static func encode(
        pixels: [UInt8], width: Int, height: Int, channels: Int, quality: Int = 85
    ) throws(SegCoreError)
        -> [UInt8]
    {
        guard channels == 1 || channels == 3, width > 0, height > 0, pixels.count == width * height * channels else {
            throw .invalidArgument("JPEG encoding needs a non-empty 1- or 3-channel buffer matching \(width)×\(height)")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = pixels.withUnsafeBufferPointer { buf in
            seg_jpeg_encode(
                buf.baseAddress, Int32(width), Int32(height), Int32(channels), width * channels, Int32(max(1, min(100, quality))),
                &out, &size, &message, message.count)
        }
        return try takeBuffer(rc: rc, out: out, size: size, message: message)
    }
}

/// Copies a C encoder's malloc'd output into an array and frees it.
private func takeBuffer(rc: Int32, out: UnsafeMutablePointer<UInt8>?, size: Int, message: [CChar]) throws(SegCoreError) -> [UInt8] {
    defer { seg_free(out) }
    guard rc == 0, let out else {
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw .encodingFailed(text.isEmpty ? "unknown encoder error" : text)
    }
    return Array(UnsafeBufferPointer(start: out, count: size))
}

/// `Array.withUnsafeBytes` with a typed throw.
private func withRaw<T, R>(_ array: [T], _ body: (UnsafeRawPointer?) throws(SegCoreError) -> R) throws(SegCoreError) -> R {
    let result: Result<R, SegCoreError> = array.withUnsafeBytes { raw in
        do throws(SegCoreError) {
            return .success(try body(raw.baseAddress))
        } catch {
            return .failure(error)
        }
    }
    return try result.get()
}

/// A PNG written a band of rows at a time: only its compressed output grows in memory.
final class PNGStreamWriter {
    private let stream: OpaquePointer
    private let width: Int
    private let channels: Int

    /// Starts an 8-bit PNG of `channels` (1–4) channels at zlib level `compression`.
    init(width: Int, height: Int, channels: Int, compression: Int = 6) throws(SegCoreError) {
        guard width > 0, height > 0, (1...4).contains(channels),
            let s = seg_png_stream_create(Int32(width), Int32(height), Int32(channels), 8, Int32(max(0, min(9, compression))))
        else { throw .encodingFailed("cannot start a \(width)×\(height) PNG of \(channels) channels") }
        stream = s
        self.width = width
        self.channels = channels
    }

    deinit { seg_png_stream_destroy(stream) }

    /// Appends `rows` rows of `width * channels` samples each.
    func write(rows: Int, from pixels: UnsafePointer<UInt8>) throws(SegCoreError) {
        guard seg_png_stream_write_rows(stream, pixels, width * channels, Int32(rows)) == 0 else {
            throw .encodingFailed(String(cString: seg_png_stream_message(stream)))
        }
    }

    /// The finished file (every row must have been written).
    func finish() throws(SegCoreError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        guard seg_png_stream_finish(stream, &out, &size) == 0, let out else {
            throw .encodingFailed(String(cString: seg_png_stream_message(stream)))
        }
        defer { seg_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}
