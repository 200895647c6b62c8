import Foundation
import Testing

@testable import SegCore

/// A PNG reader for what libpng writes at compression 0 (stored deflate blocks), written here so
/// that the encoder is checked against something other than our own libpng-based decoder: it
/// verifies the zlib header and Adler-32 itself and undoes the five filter types.
enum StoredPNGReader {
    struct Header: Equatable {
        var width: Int
        var height: Int
        var bitDepth: Int
        var colorType: Int
        var interlace: Int
    }

    static func be32(_ b: ArraySlice<UInt8>) -> Int { b.reduce(0) { $0 << 8 | Int($1) } }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for x in bytes {
            a = (a + UInt32(x)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    /// Returns the header and the unfiltered scanlines (bytes as stored: big-endian 16-bit samples).
    static func read(_ png: [UInt8]) throws -> (Header, [[UInt8]]) {
        let chunks = pngChunks(png)
        let ihdr = try #require(chunks.first)
        try #require(ihdr.type == "IHDR" && ihdr.data.count == 13)
        let d = Array(png[ihdr.data])
        let header = Header(width: be32(d[0..<4]), height: be32(d[4..<8]), bitDepth: Int(d[8]), colorType: Int(d[9]), interlace: Int(d[12]))
        let zlib = chunks.filter { $0.type == "IDAT" }.flatMap { Array(png[$0.data]) }
        try #require(zlib.count >= 6)
        #expect(zlib[0] & 0x0F == 8 && (Int(zlib[0]) << 8 | Int(zlib[1])) % 31 == 0, "zlib header")
        // Stored blocks only: BFINAL/BTYPE byte, LEN, NLEN, raw bytes.
        var raw: [UInt8] = []
        var at = 2
        while true {
            try #require(at + 5 <= zlib.count)
            let head = zlib[at]
            try #require(head & 0x06 == 0, "compression 0 must give stored deflate blocks")
            let len = Int(zlib[at + 1]) | Int(zlib[at + 2]) << 8
            let nlen = Int(zlib[at + 3]) | Int(zlib[at + 4]) << 8
            try #require(len ^ nlen == 0xFFFF)
            try #require(at + 5 + len <= zlib.count)
            raw += zlib[at + 5..<at + 5 + len]
            at += 5 + len
            if head & 1 == 1 { break }
        }
        try #require(at + 4 == zlib.count)
        #expect(UInt32(be32(zlib[at..<at + 4])) == adler32(raw), "Adler-32")
        let channels = [0: 1, 2: 3, 4: 2, 6: 4][header.colorType] ?? 0
        let bpp = max(1, channels * header.bitDepth / 8)
        let stride = (header.width * channels * header.bitDepth + 7) / 8
        try #require(raw.count == header.height * (stride + 1))
        var rows: [[UInt8]] = []
        var previous = [UInt8](repeating: 0, count: stride)
        for y in 0..<header.height {
            let filter = raw[y * (stride + 1)]
            var row = Array(raw[(y * (stride + 1) + 1)..<((y + 1) * (stride + 1))])
            for i in 0..<stride {
                let a = i >= bpp ? Int(row[i - bpp]) : 0
                let b = Int(previous[i])
                let c = i >= bpp ? Int(previous[i - bpp]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    predictor = pa <= pb && pa <= pc ? a : (pb <= pc ? b : c)
                default:
                    Issue.record("bad filter type \(filter)")
                    predictor = 0
                }
                row[i] = UInt8((Int(row[i]) + predictor) & 0xFF)
            }
            rows.append(row)
            previous = row
        }
        return (header, rows)
    }
}

/// A deterministic test picture with smooth areas and hard edges.
func testPicture(width: Int, height: Int, channels: Int = 1) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: width * height * channels)
    for y in 0..<height {
        for x in 0..<width {
            let inDisk = (x - width / 2) * (x - width / 2) + (y - height / 2) * (y - height / 2) < (min(width, height) / 3) * (min(width, height) / 3)
            for c in 0..<channels {
                let smooth = (x * (3 + c) + y * (2 + 2 * c) + 40 * c) % 256
                out[(y * width + x) * channels + c] = inDisk ? UInt8(200 - 50 * c) : UInt8(smooth)
            }
        }
    }
    return out
}

func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count && !a.isEmpty)
    let mse = zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}

@Suite struct ImageEncoderTests {
    // MARK: PNG

    @Test(arguments: [(1, 1), (37, 29), (64, 48), (3, 100)])
    func png8BitGrayRoundTripIsExact(width: Int, height: Int) throws {
        let image = try GrayImage(width: width, height: height, pixels: testPicture(width: width, height: height))
        let png = try PNGEncoder.encode(image)
        #expect(try ImageDecoder.decodeGray(png) == image)
        #expect(try ImageDecoder.info(png) == ImageInfo(format: .png, width: width, height: height, channels: 1, bitDepth: 8, isInterlaced: false))
    }

    @Test(arguments: [(1, 1), (37, 29), (64, 48)])
    func png16BitGrayRoundTripIsExact(width: Int, height: Int) throws {
        // every 16-bit value pattern, low bytes included
        let pixels = (0..<width * height).map { UInt16(truncatingIfNeeded: $0 &* 40_503 &+ 12_345) }
        let image = try GrayImage16(width: width, height: height, pixels: pixels)
        let png = try PNGEncoder.encode(image)
        #expect(try ImageDecoder.decodeGray16(png) == image)
        #expect(try ImageDecoder.decodeRaster(png) == RasterImage(width: width, height: height, channels: 1, samples: .uint16(pixels)))
        #expect(try ImageDecoder.info(png).bitDepth == 16)
    }

    @Test(arguments: [1, 2, 3, 4])
    func pngColourRoundTripIsExact(channels: Int) throws {
        let pixels = testPicture(width: 37, height: 29, channels: channels)
        let png = try PNGEncoder.encode(pixels: pixels, width: 37, height: 29, channels: channels)
        let raster = try ImageDecoder.decodeRaster(png)
        #expect(raster == (try RasterImage(width: 37, height: 29, channels: channels, samples: .uint8(pixels))))
    }

    /// The file itself, read without libpng: IHDR fields, every chunk CRC, chunk order, no
    /// metadata chunks, and the samples (16-bit big-endian, as the PNG spec requires).
    @Test func png16BitFileIsWhatTheSpecSays() throws {
        // setup
        let (width, height) = (5, 3)
        let pixels: [UInt16] = (0..<15).map { UInt16($0) * 4_369 + 0x0102 }
        let png = try PNGEncoder.encode(try GrayImage16(width: width, height: height, pixels: pixels), compression: 0)
        // validate: signature, chunks and CRCs
        #expect(Array(png[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let chunks = pngChunks(png)
        #expect(chunks.last?.end == png.count)
        #expect(chunks.first?.type == "IHDR" && chunks.last?.type == "IEND")
        #expect(Set(chunks.map(\.type)) == ["IHDR", "IDAT", "IEND"])
        for c in chunks {
            #expect(StoredPNGReader.be32(png[c.data.upperBound..<c.end]) == Int(crc32(png[c.start + 4..<c.data.upperBound])), "\(c.type) CRC")
        }
        // validate: header and samples, decoded independently of libpng
        let (header, rows) = try StoredPNGReader.read(png)
        #expect(header == .init(width: 5, height: 3, bitDepth: 16, colorType: 0, interlace: 0))
        let samples = rows.flatMap { row in stride(from: 0, to: row.count, by: 2).map { UInt16(row[$0]) << 8 | UInt16(row[$0 + 1]) } }
        #expect(samples == pixels)
    }

    @Test(arguments: [1, 2, 3, 4])
    func png8BitFileIsWhatTheSpecSays(channels: Int) throws {
        let pixels = testPicture(width: 37, height: 29, channels: channels)
        let png = try PNGEncoder.encode(pixels: pixels, width: 37, height: 29, channels: channels, compression: 0)
        let (header, rows) = try StoredPNGReader.read(png)
        #expect(header == .init(width: 37, height: 29, bitDepth: 8, colorType: [0, 4, 2, 6][channels - 1], interlace: 0))
        #expect(rows.flatMap { $0 } == pixels)
    }

    @Test func pngEncoderRefusesBadArguments() throws {
        #expect(throws: SegCoreError.self) { try PNGEncoder.encode(pixels: [1, 2, 3], width: 2, height: 2, channels: 1) }
        #expect(throws: SegCoreError.self) { try PNGEncoder.encode(pixels: [], width: 0, height: 0, channels: 5) }
        let error = #expect(throws: SegCoreError.self) { try PNGEncoder.encode(GrayImage(width: 0, height: 0)) }
        guard case .encodingFailed? = error else {
            Issue.record("expected encodingFailed, got \(String(describing: error))")
            return
        }
    }

    // MARK: JPEG

    /// Quality 90 with libjpeg's standard tables keeps this picture (ramps plus a hard-edged disk)
    /// above 38 dB PSNR (measured: about 41 dB for gray, 39-40 dB per RGB channel after 4:2:0
    /// chroma subsampling). 38 dB is also above the 30-35 dB at which JPEG artefacts start to
    /// shift thresholded mask edges, which is what thumbnails must not do visibly.
    @Test(arguments: [(37, 29), (64, 48), (1, 1), (200, 3)])
    func jpegGrayRoundTripStaysClose(width: Int, height: Int) throws {
        let pixels = testPicture(width: width, height: height)
        let jpeg = try JPEGEncoder.encode(try GrayImage(width: width, height: height, pixels: pixels), quality: 90)
        let back = try ImageDecoder.decodeGray(jpeg)
        #expect(back.width == width && back.height == height)
        #expect(psnr(back.pixels, pixels) > 38, "PSNR \(psnr(back.pixels, pixels)) dB")
        #expect(try ImageDecoder.info(jpeg) == ImageInfo(format: .jpeg, width: width, height: height, channels: 1, bitDepth: 8, isInterlaced: false))
    }

    /// Colour is checked on smooth ramps plus a coloured disk. 4:2:0 chroma subsampling blurs the
    /// disk's colour edge, so per channel the bound is 28 dB (measured 32.1 / 42.1 / 29.8 dB, the
    /// same as OpenCV's libjpeg-turbo encoder+decoder on this picture), while luma, kept at full
    /// resolution, must stay above 40 dB (measured 44.8 dB with OpenCV). On `testPicture`'s
    /// wrapping ramps OpenCV gets 26.1 / 29.6 / 20.8 dB too: that is the format, not the encoder.
    @Test func jpegColourRoundTripStaysClose() throws {
        var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
        for y in 0..<48 {
            for x in 0..<64 {
                let inDisk = (x - 32) * (x - 32) + (y - 24) * (y - 24) < 144
                for c in 0..<3 {
                    pixels[(y * 64 + x) * 3 + c] = inDisk ? UInt8(200 - 50 * c) : UInt8(min(255, x * 2 + y * (1 + c) + 10 * c))
                }
            }
        }
        let jpeg = try JPEGEncoder.encode(pixels: pixels, width: 64, height: 48, channels: 3, quality: 90)
        let back = try ImageDecoder.decodeRaster(jpeg)
        #expect(back.channels == 3 && back.width == 64 && back.height == 48)
        guard case .uint8(let samples) = back.samples else {
            Issue.record("JPEG decoded to 16-bit samples")
            return
        }
        for c in 0..<3 {
            let original = stride(from: c, to: pixels.count, by: 3).map { pixels[$0] }
            let decoded = stride(from: c, to: samples.count, by: 3).map { samples[$0] }
            #expect(psnr(decoded, original) > 28, "channel \(c): PSNR \(psnr(decoded, original)) dB")
        }
        let luma = (0..<64 * 48).map { rgbToLuma(r: UInt32(pixels[3 * $0]), g: UInt32(pixels[3 * $0 + 1]), b: UInt32(pixels[3 * $0 + 2])) }
        let gray = try ImageDecoder.decodeGray(jpeg)
        #expect(psnr(gray.pixels, luma) > 40, "luma PSNR \(psnr(gray.pixels, luma)) dB")
    }

    @Test func higherQualityIsCloser() throws {
        let pixels = testPicture(width: 64, height: 48)
        let image = try GrayImage(width: 64, height: 48, pixels: pixels)
        let low = try ImageDecoder.decodeGray(JPEGEncoder.encode(image, quality: 30)).pixels
        let high = try ImageDecoder.decodeGray(JPEGEncoder.encode(image, quality: 98)).pixels
        #expect(psnr(high, pixels) > psnr(low, pixels) + 6)
        #expect(psnr(high, pixels) > 45)
    }

    /// Thumbnails carry no metadata (I11): the only segments before the scan are JFIF APP0,
    /// quantisation and Huffman tables and a baseline SOF0.
    @Test(arguments: [1, 3])
    func jpegFileHasNoMetadata(channels: Int) throws {
        let pixels = testPicture(width: 37, height: 29, channels: channels)
        let jpeg = try JPEGEncoder.encode(pixels: pixels, width: 37, height: 29, channels: channels)
        #expect(Array(jpeg.prefix(2)) == [0xFF, 0xD8] && Array(jpeg.suffix(2)) == [0xFF, 0xD9])
        var markers: [UInt8] = []
        var at = 2
        while at + 4 <= jpeg.count, jpeg[at] == 0xFF {
            let marker = jpeg[at + 1]
            markers.append(marker)
            if marker == 0xDA { break }
            if marker == 0xC0 {
                #expect(jpeg[at + 4] == 8)  // precision
                #expect(Int(jpeg[at + 5]) << 8 | Int(jpeg[at + 6]) == 29)
                #expect(Int(jpeg[at + 7]) << 8 | Int(jpeg[at + 8]) == 37)
                #expect(Int(jpeg[at + 9]) == channels)
            }
            at += 2 + (Int(jpeg[at + 2]) << 8 | Int(jpeg[at + 3]))
        }
        #expect(markers.last == 0xDA)
        #expect(Set(markers).isSubset(of: [0xE0, 0xDB, 0xC4, 0xC0, 0xDA]), "markers: \(markers.map { String($0, radix: 16) })")
        #expect(markers.contains(0xC0))
    }

    @Test func jpegEncoderRefusesBadArguments() {
        #expect(throws: SegCoreError.self) { try JPEGEncoder.encode(pixels: [0, 0], width: 1, height: 1, channels: 2) }
        #expect(throws: SegCoreError.self) { try JPEGEncoder.encode(pixels: [0], width: 2, height: 1, channels: 1) }
        #expect(throws: SegCoreError.self) { try JPEGEncoder.encode(GrayImage(width: 0, height: 0)) }
    }
}
