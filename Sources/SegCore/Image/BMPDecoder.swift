/// Windows bitmap decoding, in Swift (no C library needed): 1-, 4- and 8-bit palette images
/// (uncompressed, RLE4, RLE8), 16-, 24- and 32-bit colour (uncompressed or with bit-field masks),
/// bottom-up and top-down rows, and the core (OS/2 1.x) header.
enum BMPDecoder {
    /// What the headers say.
    struct Header {
        var width: Int
        var height: Int
        var topDown: Bool
        var bitCount: Int
        var compression: Int
        var dataOffset: Int
        /// BGR palette entries, expanded to 8-bit RGB.
        var palette: [(UInt8, UInt8, UInt8)]
        /// Red, green, blue and alpha masks for 16- and 32-bit pixels.
        var masks: [UInt32]
    }

    private static func u16(_ b: [UInt8], _ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }

    static func header(_ b: [UInt8], limits: ImageLimits) throws(SegCoreError) -> Header {
        guard b.count >= 26 else { throw .truncatedImage("the BMP headers are incomplete") }
        let dataOffset = Int(u32(b, 10))
        let dibSize = Int(u32(b, 14))
        guard [12, 16, 40, 52, 56, 64, 108, 124].contains(dibSize) else { throw .corruptImage("unknown BMP header size \(dibSize)") }
        guard b.count >= 14 + dibSize else { throw .truncatedImage("the BMP headers are incomplete") }
        var width: Int
        var height: Int
        let bitCount: Int
        var compression = 0
        var colorsUsed = 0
        if dibSize == 12 {
            width = u16(b, 18)
            height = u16(b, 20)
            bitCount = u16(b, 24)
        } else {
            width = Int(Int32(bitPattern: u32(b, 18)))
            height = Int(Int32(bitPattern: u32(b, 22)))
            bitCount = u16(b, 28)
            if dibSize >= 20 { compression = Int(u32(b, 30)) }
            if dibSize >= 36 { colorsUsed = Int(u32(b, 46)) }
        }
        let topDown = height < 0
        height = abs(height)
        guard width > 0, height > 0 else { throw .corruptImage("the BMP declares a size of \(width)×\(height)") }
        try limits.check(width: width, height: height)
        guard [1, 4, 8, 16, 24, 32].contains(bitCount) else { throw .unsupportedImageFeature("\(bitCount)-bit BMP pixels") }
        switch (compression, bitCount) {
        case (0, _), (1, 8), (2, 4), (3, 16), (3, 32), (6, 16), (6, 32): break
        case (4, _), (5, _): throw .unsupportedImageFeature("BMP files with embedded JPEG or PNG data")
        default: throw .unsupportedImageFeature("BMP compression \(compression) with \(bitCount)-bit pixels")
        }
        guard !topDown || compression == 0 || compression == 3 || compression == 6 else {
            throw .corruptImage("a top-down BMP cannot be run-length encoded")
        }
        // Masks: in the header from version 2 on, else right after a 40-byte header.
        var masks: [UInt32] = []
        if compression == 3 || compression == 6 {
            let count = compression == 6 ? 4 : 3
            let at = dibSize >= 52 ? 54 : 14 + dibSize
            guard b.count >= at + 4 * count else { throw .truncatedImage("the BMP's colour masks are missing") }
            masks = (0..<count).map { u32(b, at + 4 * $0) }
            if count == 3, dibSize >= 56 { masks.append(u32(b, 66)) }
            // Each mask is one run of set bits (or none): a gapped one has no meaning.
            for m in masks where m != 0 {
                let run = m >> UInt32(m.trailingZeroBitCount)
                guard run & (run &+ 1) == 0 else { throw .corruptImage("a BMP colour mask is not a contiguous run of bits") }
            }
        } else if bitCount == 16 {
            masks = [0x7C00, 0x03E0, 0x001F]
        } else if bitCount == 32 {
            masks = [0x00FF_0000, 0x0000_FF00, 0x0000_00FF]
        }
        var palette: [(UInt8, UInt8, UInt8)] = []
        if bitCount <= 8 {
            let entries = colorsUsed > 0 ? min(colorsUsed, 1 << bitCount) : 1 << bitCount
            let entrySize = dibSize == 12 ? 3 : 4
            var at = 14 + dibSize + (compression == 3 && dibSize == 40 ? 12 : 0)
            for _ in 0..<entries {
                guard at + 3 <= b.count else { break }
                palette.append((b[at + 2], b[at + 1], b[at]))
                at += entrySize
            }
            guard !palette.isEmpty else { throw .truncatedImage("the BMP's palette is missing") }
        }
        guard dataOffset >= 14 + dibSize, dataOffset < b.count else { throw .truncatedImage("the BMP has no pixel data") }
        return Header(
            width: width, height: height, topDown: topDown, bitCount: bitCount, compression: compression, dataOffset: dataOffset,
            palette: palette, masks: masks)
    }

    static func info(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> ImageInfo {
        let h = try header(bytes, limits: limits)
        return ImageInfo(
            format: .bmp, width: h.width, height: h.height, channels: channels(h), bitDepth: min(8, h.bitCount), isInterlaced: false)
    }

    /// 1 for gray palettes, 4 when an alpha mask is present, else 3.
    private static func channels(_ h: Header) -> Int {
        if h.bitCount <= 8 { return h.palette.allSatisfy { $0.0 == $0.1 && $0.1 == $0.2 } ? 1 : 3 }
        return h.masks.count == 4 && h.masks[3] != 0 ? 4 : 3
    }

    /// Decodes to stored channels: 1 (gray palette), 3 (RGB) or 4 (RGBA), 8 bits each.
    static func decodeRaster(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> RasterImage {
        let h = try header(bytes, limits: limits)
        let channels = channels(h)
        var out = [UInt8](repeating: 0, count: h.width * h.height * channels)
        if h.bitCount <= 8 {
            let indices = h.compression == 0 ? try unpackedIndices(bytes, h) : try runLengthIndices(bytes, h)
            for k in 0..<(h.width * h.height) {
                let e = h.palette[min(h.palette.count - 1, Int(indices[k]))]
                if channels == 1 {
                    out[k] = e.0
                } else {
                    out[3 * k] = e.0
                    out[3 * k + 1] = e.1
                    out[3 * k + 2] = e.2
                }
            }
        } else {
            try decodeDirect(bytes, h, channels: channels, into: &out)
        }
        return RasterImage(unchecked: h.width, h.height, channels, .uint8(out))
    }

    /// Decodes to 8-bit gray (BT.601 luma; alpha ignored).
    static func decodeGray(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> GrayImage {
        let raster = try decodeRaster(bytes, limits: limits)
        guard case .uint8(let s) = raster.samples else { throw .corruptImage("unreachable BMP layout") }
        if raster.channels == 1 { return GrayImage(unchecked: raster.width, raster.height, s) }
        let c = raster.channels
        return GrayImage(
            unchecked: raster.width, raster.height,
            (0..<(raster.width * raster.height)).map { rgbToLuma(r: UInt32(s[c * $0]), g: UInt32(s[c * $0 + 1]), b: UInt32(s[c * $0 + 2])) })
    }

    /// The stored row of image row `y` (rows are kept bottom-up unless the height was negative).
    private static func storedRow(_ y: Int, _ h: Header) -> Int { h.topDown ? y : h.height - 1 - y }

    private static func unpackedIndices(_ b: [UInt8], _ h: Header) throws(SegCoreError) -> [UInt8] {
        let rowBytes = (h.width * h.bitCount + 31) / 32 * 4
        guard h.dataOffset + rowBytes * h.height <= b.count else { throw .truncatedImage("the BMP's pixel data ends early") }
        var out = [UInt8](repeating: 0, count: h.width * h.height)
        let perByte = 8 / h.bitCount
        let mask = (1 << h.bitCount) - 1
        for y in 0..<h.height {
            let row = h.dataOffset + storedRow(y, h) * rowBytes
            for x in 0..<h.width {
                let byte = Int(b[row + x / perByte])
                let shift = 8 - h.bitCount * (x % perByte + 1)
                out[y * h.width + x] = UInt8((byte >> shift) & mask)
            }
        }
        return out
    }

    /// RLE8 and RLE4 (runs, absolute runs padded to 16 bits, end of line, end of bitmap, deltas).
    private static func runLengthIndices(_ b: [UInt8], _ h: Header) throws(SegCoreError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: h.width * h.height)
        let four = h.bitCount == 4
        var p = h.dataOffset
        var x = 0
        var row = 0  // stored row (bottom-up)
        func put(_ v: UInt8) {
            if x < h.width, row < h.height { out[storedRow(row, h) * h.width + x] = v }
            x += 1
        }
        while true {
            guard p + 1 < b.count else { throw .truncatedImage("the BMP's run-length data ends early") }
            let count = Int(b[p])
            let value = b[p + 1]
            p += 2
            if count > 0 {
                for i in 0..<count { put(four ? (i % 2 == 0 ? value >> 4 : value & 0x0F) : value) }
                continue
            }
            switch value {
            case 0:
                x = 0
                row += 1
            case 1:
                return out
            case 2:
                guard p + 1 < b.count else { throw .truncatedImage("the BMP's run-length data ends early") }
                x += Int(b[p])
                row += Int(b[p + 1])
                p += 2
            default:
                let n = Int(value)
                let bytes = four ? (n + 1) / 2 : n
                guard p + bytes <= b.count else { throw .truncatedImage("the BMP's run-length data ends early") }
                for i in 0..<n { put(four ? (i % 2 == 0 ? b[p + i / 2] >> 4 : b[p + i / 2] & 0x0F) : b[p + i]) }
                p += (bytes + 1) / 2 * 2
            }
            if row > h.height { throw .corruptImage("the BMP's run-length data runs past the last row") }
        }
    }

    private static func decodeDirect(_ b: [UInt8], _ h: Header, channels: Int, into out: inout [UInt8]) throws(SegCoreError) {
        let bytesPerPixel = h.bitCount / 8
        let rowBytes = (h.width * h.bitCount + 31) / 32 * 4
        guard h.dataOffset + rowBytes * h.height <= b.count else { throw .truncatedImage("the BMP's pixel data ends early") }
        // Each mask's shift and width, to scale its field to 8 bits.
        let fields: [(shift: UInt32, bits: UInt32)] = h.masks.map { m in
            let shift = UInt32(m.trailingZeroBitCount)
            return m == 0 ? (0, 0) : (shift, UInt32((~(m >> shift)).trailingZeroBitCount))
        }
        @inline(__always) func field(_ v: UInt32, _ i: Int) -> UInt8 {
            let (shift, bits) = fields[i]
            guard bits > 0 else { return i == 3 ? 255 : 0 }
            let raw = (v & h.masks[i]) >> shift
            if bits >= 8 { return UInt8(truncatingIfNeeded: raw >> (bits - 8)) }
            return UInt8(raw * 255 / ((1 << bits) - 1))
        }
        for y in 0..<h.height {
            let row = h.dataOffset + storedRow(y, h) * rowBytes
            for x in 0..<h.width {
                let at = row + x * bytesPerPixel
                let k = (y * h.width + x) * channels
                if h.bitCount == 24 {
                    out[k] = b[at + 2]
                    out[k + 1] = b[at + 1]
                    out[k + 2] = b[at]
                    continue
                }
                let v = h.bitCount == 16 ? UInt32(u16(b, at)) : u32(b, at)
                for c in 0..<channels { out[k + c] = field(v, c) }
            }
        }
    }
}
