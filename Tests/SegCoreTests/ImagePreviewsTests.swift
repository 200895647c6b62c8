import Foundation
import Testing

@testable import SegCore

/// Previews read band by band against previews of the whole decoded image (``DisplayRendition`` and
/// ``Thumbnailer``, which the decoder fixtures check against OpenCV): the same bytes for every
/// fixture, and a bounded plan for the files that used to decode whole.
@Suite struct ImagePreviewsTests {
    /// The previews the whole-image path makes.
    static func wholePreviews(
        _ bytes: [UInt8], selection: ImageSelection, side: Int
    ) throws -> (thumbnail: [UInt8], rendition: [UInt8]) {
        let view = try DisplayRendition.pixels(of: bytes, selection: selection)
        let thumbnail = try Thumbnailer.jpegThumbnail(of: view, maxSide: side)
        let png = try PNGEncoder.encode(pixels: view.pixels, width: view.width, height: view.height, channels: view.channels)
        return (thumbnail, png)
    }

    /// Which fixtures are read band by band.
    static func expectedStreamed(_ entry: ImageFixtures.Entry) -> Bool {
        switch entry.format {
        case "jpeg": return true
        case "png": return entry.interlaced != true
        case "tiff":
            // Unsigned 8/16-bit gray or RGB (JPEG-compressed YCbCr too: libtiff hands it out as RGB); palette, float,
            // signed, sub-byte, min-is-white and CMYK pages decode whole.
            let whole = ["palette", "float", "int16", "uint32", "miniswhite", "gray4", "cmyk"]
            return !whole.contains { entry.name.contains($0) }
        default: return false
        }
    }

    @Test func everyFixtureGivesTheWholeImagesPreviewsBitForBit() throws {
        var streamedCount = 0
        for entry in try ImageFixtures.entries() where entry.error == nil {
            let bytes = try ImageFixtures.bytes(entry.file)
            let selection = entry.selection ?? .first
            // A 16-pixel thumbnail makes the area average shrink every fixture.
            for side in [16, 256] {
                let previews = try ImagePreviews.make(of: bytes, selection: selection, thumbnailSide: side, rendition: true)
                let whole = try Self.wholePreviews(bytes, selection: selection, side: side)
                #expect(previews.thumbnail == whole.thumbnail, "\(entry.name): thumbnail at \(side)")
                #expect(previews.rendition == whole.rendition, "\(entry.name): rendition")
                #expect(previews.streamed == Self.expectedStreamed(entry), "\(entry.name): streamed")
                if previews.streamed { streamedCount += 1 }
            }
            let plan = try ImagePreviews.plan(of: bytes, selection: selection, rendition: true)
            #expect(plan.streamed == Self.expectedStreamed(entry), "\(entry.name): plan")
        }
        // JPEG, PNG and TIFF fixtures took the band path (guards against a silently empty comparison).
        print("fixtures read band by band: \(streamedCount / 2)")
        #expect(streamedCount >= 2 * 40)
    }

    @Test func rejectedFixturesFailAsTheWholeDecodeDoes() throws {
        for entry in try ImageFixtures.entries() {
            guard let error = entry.error else { continue }
            let bytes = try ImageFixtures.bytes(entry.file)
            var wholeError: SegCoreError?
            do { _ = try DisplayRendition.pixels(of: bytes) } catch { wholeError = error }
            var bandError: SegCoreError?
            do { _ = try ImagePreviews.make(of: bytes, rendition: true) } catch { bandError = error }
            #expect(wholeError != nil, "\(entry.name) should fail (\(error))")
            #expect(bandError?.code == wholeError?.code, "\(entry.name): \(String(describing: bandError)) vs \(String(describing: wholeError))")
        }
    }

    @Test func largeSixteenBitAndColourImagesMatchTheWholeImagePath() throws {
        // setup: a 16-bit gray ramp with a hot spot (the stretch clips it) and an 8-bit RGB pattern,
        // both taller than a band and wider than the thumbnail.
        let (w, h) = (913, 611)
        var gray = [UInt16](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w { gray[y * w + x] = UInt16(truncatingIfNeeded: 900 + x * 7 + y * 3 + ((x * 31 + y * 17) % 97)) }
        }
        for y in 300..<310 { for x in 400..<410 { gray[y * w + x] = 65000 } }
        let png16 = try PNGEncoder.encode(GrayImage16(width: w, height: h, pixels: gray))
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) {
            rgb[3 * i] = UInt8(truncatingIfNeeded: i % w)
            rgb[3 * i + 1] = UInt8(truncatingIfNeeded: i / w)
            rgb[3 * i + 2] = UInt8(truncatingIfNeeded: (i * 13) % 251)
        }
        let png8 = try PNGEncoder.encode(pixels: rgb, width: w, height: h, channels: 3)

        for bytes in [png16, png8] {
            // MUT
            let previews = try ImagePreviews.make(of: bytes, rendition: true)

            // validate
            let whole = try Self.wholePreviews(bytes, selection: .first, side: 256)
            #expect(previews.streamed)
            #expect(previews.thumbnail == whole.thumbnail)
            #expect(previews.rendition == whole.rendition)
            let info = try ImageDecoder.info(previews.thumbnail)
            #expect(info.width == 256 && info.height == 171)
        }
    }

    @Test func aJPEGThumbnailFromTheScaledDecodeLooksLikeTheWholeOne() throws {
        // setup: 2000×1500 RGB with smooth gradients and an edge (libjpeg decodes it at 1/4, then the average shrinks to 256).
        let (w, h) = (2000, 1500)
        var rgb = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                rgb[i] = UInt8(x * 255 / w)
                rgb[i + 1] = UInt8(y * 255 / h)
                rgb[i + 2] = x > w / 2 ? 220 : 30
            }
        }
        let jpeg = try JPEGEncoder.encode(pixels: rgb, width: w, height: h, channels: 3, quality: 90)
        #expect(ImagePreviews.jpegScale(width: w, height: h, side: 256) == 4)

        // MUT
        let previews = try ImagePreviews.make(of: jpeg, rendition: false)

        // validate: same size; pixels within a few levels of the thumbnail of the whole decode
        let whole = try Self.wholePreviews(jpeg, selection: .first, side: 256).thumbnail
        let a = try ImageDecoder.decodeRaster(previews.thumbnail)
        let b = try ImageDecoder.decodeRaster(whole)
        #expect(a.width == 256 && a.height == 192 && b.width == 256 && b.height == 192)
        guard case .uint8(let pa) = a.samples, case .uint8(let pb) = b.samples else {
            Issue.record("8-bit thumbnails expected")
            return
        }
        let diffs = zip(pa, pb).map { abs(Int($0) - Int($1)) }
        let mean = Double(diffs.reduce(0, +)) / Double(diffs.count)
        #expect(mean < 1.5, "mean difference \(mean)")
        #expect((diffs.max() ?? 0) <= 24)
    }

    @Test func aPixelBombPlansAFewMegabytesWhereTheWholeDecodeNeedsGigabytes() throws {
        // setup: the header of the issue's bomb, a 10 000 × 10 000 16-bit RGBA PNG (800 MB of samples).
        let bomb = Self.zeroPNG(width: 10_000, height: 10_000, colorType: 6, bitDepth: 16)

        // MUT
        let thumbnailOnly = try ImagePreviews.plan(of: bomb, rendition: false)
        let withRendition = try ImagePreviews.plan(of: bomb, rendition: true)

        // validate: the band path, a few MB without the rendition; the rendition's reserve is half its 300 MB of 8-bit RGB
        #expect(thumbnailOnly.streamed && withRendition.streamed)
        #expect(thumbnailOnly.peakBytes < 16 << 20)
        #expect(withRendition.peakBytes < 200 << 20)
        // An interlaced copy cannot be read by rows: planned whole, at its full size.
        let interlaced = Self.zeroPNG(width: 10_000, height: 10_000, colorType: 6, bitDepth: 16, interlaced: true)
        let whole = try ImagePreviews.plan(of: interlaced, rendition: true)
        #expect(!whole.streamed && whole.peakBytes > 800_000_000)
    }

    @Test func aBandsSizeDoesNotDependOnTheImageHeight() throws {
        // The same bomb at 1 000 and 10 000 rows plans the same band memory (the rendition reserve aside).
        let short = try ImagePreviews.plan(of: Self.zeroPNG(width: 10_000, height: 1000, colorType: 6, bitDepth: 16), rendition: false)
        let tall = try ImagePreviews.plan(of: Self.zeroPNG(width: 10_000, height: 10_000, colorType: 6, bitDepth: 16), rendition: false)
        #expect(short.peakBytes == tall.peakBytes)
    }

    /// The header of a PNG with an IDAT chunk that is never read (planning reads up to IDAT only).
    static func zeroPNG(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8, interlaced: Bool = false) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func chunk(_ type: String, _ data: [UInt8]) {
            out += be32(UInt32(data.count))
            let body = Array(type.utf8) + data
            out += body
            out += be32(crc32(body))
        }
        chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colorType, 0, 0, interlaced ? 1 : 0])
        chunk("IDAT", [0x78, 0x01])
        chunk("IEND", [])
        return out
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }
}
