import CSegShim

/// TIFF decoding through libtiff (strips and tiles; uncompressed, LZW, Deflate, PackBits, JPEG and
/// whatever else Debian's libtiff was built with; 1–64-bit samples; gray, RGB, palette, and CMYK or
/// YCbCr through libtiff's RGBA interface; multi-page files, OME-TIFF and ImageJ hyperstacks).
enum TIFFDecoder {
    /// Pages are counted up to this many (a page count past it is reported as it).
    static let maxPages: UInt32 = 1_000_000

    /// Whether LZW strips go through the shim's own decoder where it applies (`seg_lzw.c`); tests
    /// turn it off to compare it with libtiff's.
    @TaskLocal static var ownLZW = true

    private final class Handle {
        let decoder: OpaquePointer
        private(set) var pageCount = 0
        private(set) var info = seg_tiff_info()

        init(_ base: UnsafePointer<UInt8>, _ count: Int, limits: ImageLimits) throws(SegCoreError) {
            // No single allocation of libtiff's (or of a strip or tile of ours) may exceed what the
            // largest allowed image needs: a 100 MP image of 8-byte pixels, at most 1 GiB.
            let cap = min(limits.maxPixels.multipliedReportingOverflow(by: 8).partialValue, 1 << 30) + (1 << 20)
            guard let d = seg_tiff_create(cap) else { throw .corruptImage("out of memory creating the TIFF decoder") }
            // Every stored property is set from here on, so a throw below still runs deinit (which
            // destroys the decoder exactly once).
            decoder = d
            seg_tiff_use_own_lzw(d, TIFFDecoder.ownLZW ? 1 : 0)
            var pages: UInt32 = 0
            guard seg_tiff_open(d, base, count) == 0, seg_tiff_count_pages(d, TIFFDecoder.maxPages, &pages) == 0 else {
                throw Self.error(d)
            }
            pageCount = Int(pages)
            // The first page's description says whether the file is a hyperstack.
            guard seg_tiff_select(d, 0, &info) == 0 else { throw Self.error(d) }
        }
        deinit { seg_tiff_destroy(decoder) }

        static func error(_ d: OpaquePointer) -> SegCoreError {
            let message = String(cString: seg_tiff_message(d))
            switch seg_tiff_error_kind(d) {
            case SEG_ERR_TRUNCATED: return .truncatedImage(message)
            case SEG_ERR_UNSUPPORTED: return .unsupportedImageFeature(message)
            case SEG_ERR_LIMIT, SEG_ERR_MEMORY: return .corruptImage("decoder limit reached: \(message)")
            default: return .corruptImage(message)
            }
        }

        func error() -> SegCoreError { Self.error(decoder) }

        /// Makes `page` current and checks its size against `limits`.
        func select(_ page: Int, limits: ImageLimits) throws(SegCoreError) {
            guard page < pageCount else {
                throw .invalidArgument(
                    "page \(page) is out of range: the file has \(pageCount) page\(pageCount == 1 ? "" : "s") (0–\(pageCount - 1))")
            }
            guard seg_tiff_select(decoder, UInt32(page), &info) == 0 else { throw error() }
            guard info.width > 0, info.height > 0, info.width <= Int32.max, info.height <= Int32.max else {
                throw .corruptImage("the TIFF page declares a size of \(info.width)×\(info.height)")
            }
            try limits.check(width: Int(info.width), height: Int(info.height))
        }

        /// The page the selection names (the first plane of a hyperstack by default).
        func page(for selection: ImageSelection) throws(SegCoreError) -> Int {
            try selection.validate()
            if let page = selection.page { return page }
            guard let description = seg_tiff_description(decoder).map({ String(cString: $0) }),
                let stack = TIFFHyperstack.parse(description, pageCount: pageCount)
            else {
                if selection.namesPlane, selection.channel ?? 0 != 0 || selection.z ?? 0 != 0 || selection.t ?? 0 != 0 {
                    throw .invalidArgument("this TIFF is not an OME-TIFF or ImageJ hyperstack: select a page instead of a channel, z or t")
                }
                return 0
            }
            return try stack.page(channel: selection.channel ?? 0, z: selection.z ?? 0, t: selection.t ?? 0, pageCount: pageCount)
        }
    }

    /// Opens the file, resolves the selection and makes its page current (the first page's
    /// description is read before any other page is selected).
    private static func withPage<R>(
        _ bytes: [UInt8], _ selection: ImageSelection, limits: ImageLimits, _ body: (Handle) throws(SegCoreError) -> R
    ) throws(SegCoreError) -> R {
        try withBytes(bytes) { (base, count) throws(SegCoreError) -> R in
            let handle = try Handle(base, count, limits: limits)
            let page = try handle.page(for: selection)
            try handle.select(page, limits: limits)
            return try body(handle)
        }
    }

    static func info(_ bytes: [UInt8], limits: ImageLimits) throws(SegCoreError) -> ImageInfo {
        try withPage(bytes, .first, limits: limits) { handle throws(SegCoreError) in
            let i = handle.info
            return ImageInfo(
                format: .tiff, width: Int(i.width), height: Int(i.height),
                channels: i.photometric == 3 ? 3 : Int(i.samples_per_pixel), bitDepth: Int(i.bits_per_sample),
                isInterlaced: false, pages: handle.pageCount)
        }
    }

    /// Whether the selected page stores signed or floating-point samples (which only the gray path reads).
    static func hasNonIntegerSamples(_ bytes: [UInt8], selection: ImageSelection, limits: ImageLimits) throws(SegCoreError) -> Bool {
        try withPage(bytes, selection, limits: limits) { handle throws(SegCoreError) in
            handle.info.sample_format != 1 && handle.info.photometric != 3
        }
    }

    static func decode(_ bytes: [UInt8], selection: ImageSelection, limits: ImageLimits) throws(SegCoreError) -> AnyGrayImage {
        try withPage(bytes, selection, limits: limits) { handle throws(SegCoreError) in try gray(handle) }
    }

    static func decodeRaster(_ bytes: [UInt8], selection: ImageSelection, limits: ImageLimits) throws(SegCoreError) -> RasterImage {
        try withPage(bytes, selection, limits: limits) { handle throws(SegCoreError) in try raster(handle) }
    }

    /// Decodes page 0 and says how many of its strips the shim's own LZW decoder read (for tests).
    static func stripsReadByOwnLZW(_ bytes: [UInt8]) throws(SegCoreError) -> Int {
        try withPage(bytes, .first, limits: .default) { handle throws(SegCoreError) in
            _ = try gray(handle)
            return Int(seg_tiff_own_lzw_strips(handle.decoder))
        }
    }

    // MARK: Layouts

    private enum Layout {
        /// Gray (min-is-black or min-is-white), optionally with extra samples after it.
        case gray(invert: Bool)
        /// RGB in the first three samples.
        case rgb
        /// Indices into the colour map.
        case palette
        /// Anything libtiff converts to 8-bit RGBA for us (CMYK, YCbCr, CIELab, …).
        case rgba
    }

    private static func layout(_ i: seg_tiff_info) throws(SegCoreError) -> Layout {
        switch i.photometric {
        case 0, 1:
            return .gray(invert: i.photometric == 0)
        case 2:
            guard i.samples_per_pixel >= 3 else { throw .corruptImage("an RGB TIFF with \(i.samples_per_pixel) samples per pixel") }
            return .rgb
        case 3:
            guard i.samples_per_pixel == 1, i.bits_per_sample <= 16 else { throw .corruptImage("a palette TIFF must have one index sample") }
            return .palette
        default:
            return .rgba
        }
    }

    /// Checks the sample layout, then reads the page's raw samples.
    private static func samples(_ handle: Handle) throws(SegCoreError) -> RawSamples {
        let i = handle.info
        guard i.codec_available != 0 else { throw .unsupportedImageFeature("TIFF compression \(i.compression) is not supported") }
        let bits = Int(i.bits_per_sample)
        let format = Int(i.sample_format)
        switch (bits, format) {
        case (1, 1), (2, 1), (4, 1), (8, 1), (8, 2), (16, 1), (16, 2), (32, 1), (32, 2), (32, 3), (64, 3): break
        case (16, 3): throw .unsupportedImageFeature("16-bit floating-point TIFF samples")
        default: throw .unsupportedImageFeature("\(bits)-bit TIFF samples of format \(format)")
        }
        let spp = Int(i.samples_per_pixel)
        guard (1...64).contains(spp) else { throw .unsupportedImageFeature("\(spp) samples per pixel") }
        let w = Int(i.width)
        let h = Int(i.height)
        let (count, overflow) = (w * h).multipliedReportingOverflow(by: spp)
        guard !overflow else { throw .imageTooLarge(width: w, height: h, limits: .default) }
        let bytesPerSample = max(1, bits / 8)
        func read<T>(_ type: T.Type) throws(SegCoreError) -> [T] {
            var failed = false
            let out = LargeBuffer.make(count: count) { (base: UnsafeMutablePointer<T>) in
                let raw = UnsafeMutableRawPointer(base).assumingMemoryBound(to: UInt8.self)
                if seg_tiff_read(handle.decoder, raw, w * spp * bytesPerSample) != 0 {
                    raw.initialize(repeating: 0, count: count * bytesPerSample)
                    failed = true
                }
            }
            if failed { throw handle.error() }
            return out
        }
        switch bytesPerSample {
        case 1: return .bytes(try read(UInt8.self), bits: bits, signed: format == 2)
        case 2: return .words(try read(UInt16.self), signed: format == 2)
        case 4: return format == 3 ? .floats(try read(Float.self)) : .dwords(try read(UInt32.self), signed: format == 2)
        default: return .doubles(try read(Double.self))
        }
    }

    private enum RawSamples {
        case bytes([UInt8], bits: Int, signed: Bool)
        case words([UInt16], signed: Bool)
        case dwords([UInt32], signed: Bool)
        case floats([Float])
        case doubles([Double])

        /// Sample `k` as a Double (signed and float interpretations applied; sub-byte values raw).
        @inline(__always) func value(_ k: Int) -> Double {
            switch self {
            case .bytes(let s, _, let signed): return signed ? Double(Int8(bitPattern: s[k])) : Double(s[k])
            case .words(let s, let signed): return signed ? Double(Int16(bitPattern: s[k])) : Double(s[k])
            case .dwords(let s, let signed): return signed ? Double(Int32(bitPattern: s[k])) : Double(s[k])
            case .floats(let s): return Double(s[k])
            case .doubles(let s): return s[k]
            }
        }
    }

    /// Scales a sub-byte sample to 0–255 (1 → 255 for 1 bit, 15 → 255 for 4 bits).
    @inline(__always) private static func scaled(_ v: UInt8, bits: Int) -> UInt8 {
        let top = (1 << bits) - 1
        return bits >= 8 ? v : UInt8(min(top, Int(v)) * 255 / top)
    }

    // MARK: Gray

    private static func gray(_ handle: Handle) throws(SegCoreError) -> AnyGrayImage {
        let i = handle.info
        let w = Int(i.width)
        let h = Int(i.height)
        let n = w * h
        let spp = Int(i.samples_per_pixel)
        let layout = try layout(i)
        if case .rgba = layout { return .uint8(GrayImage(unchecked: w, h, lumaFromRGBA(try rgba(handle), count: n))) }
        let raw = try samples(handle)
        switch (layout, raw) {
        case (.gray(let invert), .bytes(let s, let bits, false)):
            let table = (0..<256).map { v -> UInt8 in
                let x = scaled(UInt8(truncatingIfNeeded: v), bits: bits)
                return invert ? 255 - x : x
            }
            if spp == 1, bits == 8, !invert { return .uint8(GrayImage(unchecked: w, h, s)) }
            return .uint8(GrayImage(unchecked: w, h, (0..<n).map { table[Int(s[$0 * spp])] }))
        case (.gray(let invert), .words(let s, false)):
            if spp == 1, !invert { return .uint16(GrayImage16(unchecked: w, h, s)) }
            return .uint16(GrayImage16(unchecked: w, h, (0..<n).map { invert ? 65535 - s[$0 * spp] : s[$0 * spp] }))
        case (.gray(false), .floats(let s)) where spp == 1:
            return .float32(GrayImageFloat(unchecked: w, h, s))
        case (.gray(let invert), _):
            guard !invert else { throw .unsupportedImageFeature("min-is-white TIFF with signed or floating-point samples") }
            return .float32(GrayImageFloat(unchecked: w, h, (0..<n).map { Float(raw.value($0 * spp)) }))
        case (.rgb, .bytes(let s, let bits, false)):
            return .uint8(
                GrayImage(
                    unchecked: w, h,
                    (0..<n).map { k in
                        rgbToLuma(
                            r: UInt32(scaled(s[k * spp], bits: bits)), g: UInt32(scaled(s[k * spp + 1], bits: bits)),
                            b: UInt32(scaled(s[k * spp + 2], bits: bits)))
                    }))
        case (.rgb, .words(let s, false)):
            return .uint16(
                GrayImage16(
                    unchecked: w, h,
                    (0..<n).map { k in
                        let r = UInt64(s[k * spp])
                        let g = UInt64(s[k * spp + 1])
                        let b = UInt64(s[k * spp + 2])
                        return UInt16(truncatingIfNeeded: (19595 &* r &+ 38470 &* g &+ 7471 &* b &+ 32768) >> 16)
                    }))
        case (.rgb, _):
            return .float32(
                GrayImageFloat(
                    unchecked: w, h,
                    (0..<n).map { k in
                        Float(0.299 * raw.value(k * spp) + 0.587 * raw.value(k * spp + 1) + 0.114 * raw.value(k * spp + 2))
                    }))
        case (.palette, _):
            let map = try colormap(handle)
            let luma = map.map { rgbToLuma(r: UInt32($0.0), g: UInt32($0.1), b: UInt32($0.2)) }
            return .uint8(GrayImage(unchecked: w, h, (0..<n).map { luma[min(map.count - 1, Int(raw.value($0)))] }))
        case (.rgba, _):
            throw .corruptImage("unreachable TIFF layout")
        }
    }

    // MARK: Raster (stored channels, for masks)

    private static func raster(_ handle: Handle) throws(SegCoreError) -> RasterImage {
        let i = handle.info
        let w = Int(i.width)
        let h = Int(i.height)
        let n = w * h
        let spp = Int(i.samples_per_pixel)
        let layout = try layout(i)
        switch layout {
        case .rgba:
            let pixels = try rgba(handle)
            var out = [UInt8](repeating: 0, count: n * 4)
            for k in 0..<n {
                let p = pixels[k]  // libtiff packs ABGR: R in the low byte
                out[4 * k] = UInt8(truncatingIfNeeded: p)
                out[4 * k + 1] = UInt8(truncatingIfNeeded: p >> 8)
                out[4 * k + 2] = UInt8(truncatingIfNeeded: p >> 16)
                out[4 * k + 3] = UInt8(truncatingIfNeeded: p >> 24)
            }
            return RasterImage(unchecked: w, h, 4, .uint8(out))
        case .palette:
            let map = try colormap(handle)
            let raw = try samples(handle)
            var out = [UInt8](repeating: 0, count: n * 3)
            for k in 0..<n {
                let e = map[min(map.count - 1, Int(raw.value(k)))]
                out[3 * k] = e.0
                out[3 * k + 1] = e.1
                out[3 * k + 2] = e.2
            }
            return RasterImage(unchecked: w, h, 3, .uint8(out))
        case .gray, .rgb:
            guard spp <= 4 else { throw .unsupportedImageFeature("a mask with \(spp) samples per pixel") }
            switch try samples(handle) {
            case .bytes(let s, let bits, false):
                return RasterImage(unchecked: w, h, spp, .uint8(bits == 8 ? s : s.map { scaled($0, bits: bits) }))
            case .words(let s, false):
                return RasterImage(unchecked: w, h, spp, .uint16(s))
            case .dwords(let s, false):
                return RasterImage(unchecked: w, h, spp, .uint32(s))
            case let raw:
                // Signed and floating-point labels are read when every value is a whole number 0…2³²−1.
                var out = [UInt32](repeating: 0, count: n * spp)
                for k in 0..<(n * spp) {
                    let v = raw.value(k)
                    guard v >= 0, v <= 4_294_967_295, v == v.rounded(.towardZero) else {
                        throw .unsupportedImageFeature("a mask's samples must be whole numbers from 0 to 4294967295, found \(v)")
                    }
                    out[k] = UInt32(v)
                }
                return RasterImage(unchecked: w, h, spp, .uint32(out))
            }
        }
    }

    // MARK: Helpers

    private static func rgba(_ handle: Handle) throws(SegCoreError) -> [UInt32] {
        let n = Int(handle.info.width) * Int(handle.info.height)
        var failed = false
        let out = [UInt32](unsafeUninitializedCapacity: n) { buffer, initialized in
            if let base = buffer.baseAddress {
                if seg_tiff_read_rgba(handle.decoder, base) != 0 {
                    base.initialize(repeating: 0, count: n)
                    failed = true
                }
                initialized = n
            } else {
                initialized = 0
            }
        }
        if failed { throw handle.error() }
        return out
    }

    private static func lumaFromRGBA(_ pixels: [UInt32], count: Int) -> [UInt8] {
        (0..<count).map { k in
            let p = pixels[k]
            return rgbToLuma(r: p & 0xFF, g: (p >> 8) & 0xFF, b: (p >> 16) & 0xFF)
        }
    }

    /// The colour map as 8-bit RGB entries (TIFF stores 16-bit ones).
    private static func colormap(_ handle: Handle) throws(SegCoreError) -> [(UInt8, UInt8, UInt8)] {
        var r: UnsafePointer<UInt16>?
        var g: UnsafePointer<UInt16>?
        var b: UnsafePointer<UInt16>?
        guard seg_tiff_colormap(handle.decoder, &r, &g, &b) == 0, let r, let g, let b else { throw handle.error() }
        let entries = 1 << Int(handle.info.bits_per_sample)
        return (0..<entries).map { (UInt8(r[$0] >> 8), UInt8(g[$0] >> 8), UInt8(b[$0] >> 8)) }
    }
}

extension TIFFDecoder {
    /// The largest band (strip or tile row) read at a time; a page stored in larger ones is decoded whole.
    static let maxBandBytes = 64 << 20

    /// Runs `body` with the selected page's rows a strip or tile row at a time, for the layouts the
    /// display shows as stored: unsigned 8- or 16-bit gray (min-is-black, optionally with one extra
    /// sample) or RGB (optionally with one extra sample). Returns nil for every other layout (palette,
    /// min-is-white, YCbCr and CMYK, sub-byte, signed, float) and for bands over ``maxBandBytes``.
    static func withBands<R>(
        _ bytes: [UInt8], selection: ImageSelection, limits: ImageLimits, _ body: (any RowBands) throws(SegCoreError) -> R
    ) throws(SegCoreError) -> R? {
        try withPage(bytes, selection, limits: limits) { handle throws(SegCoreError) -> R? in
            let i = handle.info
            let spp = Int(i.samples_per_pixel)
            let colour: Int
            switch (i.photometric, spp) {
            case (1, 1...2): colour = 1
            case (2, 3...4): colour = 3
            default: return nil
            }
            guard i.codec_available != 0, i.sample_format == 1, i.bits_per_sample == 8 || i.bits_per_sample == 16 else { return nil }
            let band = Int(seg_tiff_band_height(handle.decoder))
            let layout = BandLayout(
                width: Int(i.width), height: Int(i.height), channels: spp, colorChannels: colour,
                bytesPerSample: Int(i.bits_per_sample) / 8, bandHeight: band)
            guard band > 0, band.multipliedReportingOverflow(by: layout.rowBytes).partialValue <= maxBandBytes,
                !band.multipliedReportingOverflow(by: layout.rowBytes).overflow
            else { return nil }
            return try body(Bands(handle: handle, layout: layout))
        }
    }

    private final class Bands: RowBands {
        let handle: Handle
        let layout: BandLayout
        private var next = 0

        init(handle: Handle, layout: BandLayout) {
            self.handle = handle
            self.layout = layout
        }

        func read(rows: Int, into buffer: UnsafeMutableRawPointer) throws(SegCoreError) {
            let end = min(layout.height, next + rows)
            let rc = seg_tiff_read_rows(
                handle.decoder, buffer.assumingMemoryBound(to: UInt8.self), layout.rowBytes, UInt32(next), UInt32(end))
            if rc != 0 { throw handle.error() }
            next = end
        }
    }
}

extension TIFFDecoder {
    /// The selected page's size, samples per pixel and bits per sample (header only).
    static func pageLayout(
        _ bytes: [UInt8], selection: ImageSelection, limits: ImageLimits
    ) throws(SegCoreError) -> (width: Int, height: Int, samples: Int, bits: Int) {
        try withPage(bytes, selection, limits: limits) { handle throws(SegCoreError) in
            let i = handle.info
            return (Int(i.width), Int(i.height), Int(i.samples_per_pixel), Int(i.bits_per_sample))
        }
    }
}
