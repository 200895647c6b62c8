import Foundation
import Testing

@testable import SegCore

/// The I8 fixture matrix written by `scripts/fixtures/make-image-fixtures.py`: images plus the samples an
/// independent decoder (OpenCV's libjpeg-turbo 3.x / libpng 1.6.5x) produced from them, or for
/// TIFF and BMP the arrays they were written from.
enum ImageFixtures {
    struct Entry: Decodable, Sendable {
        var name: String
        var file: String
        var format: String
        var width: Int?
        var height: Int?
        var channels: Int?
        var bitDepth: Int?
        var interlaced: Bool?
        /// Largest allowed per-sample difference from the expected files (0 except CMYK/YCCK).
        var tolerance: Int?
        var gray8: String?
        var gray16: String?
        var raster: String?
        var rasterChannels: Int?
        var rasterBitDepth: Int?
        /// What `decode` gives at full precision, and its sample type (`uint8`, `uint16`, `float32`).
        var full: String?
        var fullType: String?
        var pages: Int?
        var selection: ImageSelection?
        /// For rejected files: the `SegCoreError` case name.
        var error: String?
        var messageContains: String?
        var note: String
    }

    private struct Manifest: Decodable {
        var fixtures: [Entry]
    }

    static func root() throws -> URL {
        let fixtures = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return fixtures.appendingPathComponent("images")
    }

    static func entries() throws -> [Entry] {
        let data = try Data(contentsOf: root().appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).fixtures
    }

    static func entry(_ name: String) throws -> Entry {
        try #require(try entries().first { $0.name == name }, "fixture \(name) missing from manifest.json")
    }

    static func bytes(_ relativePath: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root().appendingPathComponent(relativePath)))
    }

    static func bytes(of name: String) throws -> [UInt8] {
        try bytes(entry(name).file)
    }

    /// Little-endian 16-bit samples.
    static func samples16(_ relativePath: String) throws -> [UInt16] {
        let raw = try bytes(relativePath)
        return stride(from: 0, to: raw.count - 1, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
    }

    /// Little-endian 32-bit samples.
    static func samples32(_ relativePath: String) throws -> [UInt32] {
        let raw = try bytes(relativePath)
        return stride(from: 0, to: raw.count - 3, by: 4).map {
            UInt32(raw[$0]) | UInt32(raw[$0 + 1]) << 8 | UInt32(raw[$0 + 2]) << 16 | UInt32(raw[$0 + 3]) << 24
        }
    }

    /// Little-endian 32-bit floats.
    static func floats(_ relativePath: String) throws -> [Float] {
        try samples32(relativePath).map { Float(bitPattern: $0) }
    }

    /// Names of every fixture that must decode (kept explicit, so a missing fixture fails a test
    /// instead of shrinking the matrix).
    static let decodable = [
        "baseline-gray", "baseline-color", "baseline-color-444", "baseline-color-422", "progressive", "progressive-gray",
        "arithmetic", "restart", "optimized-q75", "exif-orientation-6", "cmyk-adobe", "ycck-adobe", "scans-500",
        "gray1", "gray2", "gray4", "gray8", "gray16", "gray-alpha8", "gray-alpha16", "rgb8", "rgb16", "rgba8", "rgba16",
        "palette8", "palette4", "palette-trns", "adam7-rgb8", "adam7-gray1", "adam7-rgba16", "text-chunks", "ztxt-bomb",
        "apng", "one-pixel",
        "tiff-gray8", "tiff-gray8-lzw", "tiff-gray8-deflate", "tiff-gray8-packbits", "tiff-gray16-be", "tiff-gray16-lzw",
        "tiff-gray16-tiles", "tiff-gray16-narrow", "tiff-gray8-tiles", "tiff-float32", "tiff-float64", "tiff-int16",
        "tiff-uint32", "tiff-rgb8-lzw", "tiff-rgb8-lzw-predictor", "tiff-gray16-lzw-wide", "tiff-gray16-lzw-wide-predictor",
        "tiff-rgb16-planar", "tiff-rgba8", "tiff-palette8", "tiff-bilevel-miniswhite",
        "tiff-gray4", "tiff-jpeg-ycbcr", "tiff-cmyk", "tiff-bigtiff", "tiff-pages-p2", "tiff-ome-c1-z0", "tiff-imagej-t1-z0-c1",
        "bmp-rgb24", "bmp-gray8", "bmp-palette8", "bmp-bilevel", "bmp-palette4", "bmp-rle8", "bmp-rle4", "bmp-rgb565",
        "bmp-bgrx32-topdown", "bmp-core24",
    ]

    /// Fixtures that must be refused, with the documented reason.
    static let rejected = ["bits12", "lossless-sof3", "scans-1000", "tiff-truncated", "tiff-float16", "tiff-bits12", "bmp-truncated"]
}

/// Largest absolute difference between two equally long sample arrays (`Int.max` if they differ in length).
func maxAbsDifference<T: BinaryInteger>(_ a: [T], _ b: [T]) -> Int {
    guard a.count == b.count else { return Int.max }
    var worst = 0
    for i in a.indices { worst = max(worst, abs(Int(a[i]) - Int(b[i]))) }
    return worst
}

/// Whether `error` is the `SegCoreError` case named `kind`.
func isKind(_ error: SegCoreError?, _ kind: String) -> Bool {
    switch error {
    case .unsupportedImageFormat?: return kind == "unsupportedImageFormat"
    case .emptyInput?: return kind == "emptyInput"
    case .truncatedImage?: return kind == "truncatedImage"
    case .corruptImage?: return kind == "corruptImage"
    case .unsupportedImageFeature?: return kind == "unsupportedImageFeature"
    case .imageTooLarge?: return kind == "imageTooLarge"
    default: return false
    }
}

/// Runs `decodeGray`, `decodeGray16` and `decodeRaster` on `bytes`: the error each threw, or nil.
func decodeErrors(_ bytes: [UInt8], limits: ImageLimits = .default) -> [SegCoreError?] {
    var errors: [SegCoreError?] = []
    do {
        _ = try ImageDecoder.decodeGray(bytes, limits: limits)
        errors.append(nil)
    } catch { errors.append(error) }
    do {
        _ = try ImageDecoder.decodeGray16(bytes, limits: limits)
        errors.append(nil)
    } catch { errors.append(error) }
    do {
        _ = try ImageDecoder.decodeRaster(bytes, limits: limits)
        errors.append(nil)
    } catch { errors.append(error) }
    return errors
}

@Suite struct ImageDecoderTests {
    @Test func manifestHoldsExactlyTheListedMatrix() throws {
        let names = try ImageFixtures.entries().map(\.name)
        #expect(Set(names) == Set(ImageFixtures.decodable + ImageFixtures.rejected))
        #expect(names.count == ImageFixtures.decodable.count + ImageFixtures.rejected.count)
    }

    @Test(arguments: ImageFixtures.decodable)
    func headerInfoMatchesTheFile(name: String) throws {
        let e = try ImageFixtures.entry(name)
        let info = try ImageDecoder.info(ImageFixtures.bytes(e.file))
        #expect(info.format.rawValue == e.format)
        #expect(info.width == e.width)
        #expect(info.height == e.height)
        #expect(info.channels == e.channels)
        #expect(info.bitDepth == e.bitDepth)
        #expect(info.isInterlaced == e.interlaced)
        #expect(info.pages == e.pages ?? 1)
    }

    @Test(arguments: ImageFixtures.decodable)
    func decodeGrayMatchesIndependentDecoder(name: String) throws {
        let e = try ImageFixtures.entry(name)
        let expected = try ImageFixtures.bytes(try #require(e.gray8))
        let gray = try ImageDecoder.decodeGray(ImageFixtures.bytes(e.file), selection: e.selection ?? .first)
        #expect(gray.width == e.width && gray.height == e.height)
        let diff = maxAbsDifference(gray.pixels, expected)
        #expect(diff <= e.tolerance ?? 0, "\(name): max difference \(diff) from OpenCV")
    }

    @Test(arguments: ImageFixtures.decodable)
    func decodeGray16MatchesIndependentDecoder(name: String) throws {
        let e = try ImageFixtures.entry(name)
        let gray = try ImageDecoder.decodeGray16(ImageFixtures.bytes(e.file), selection: e.selection ?? .first)
        #expect(gray.width == e.width && gray.height == e.height)
        let expected: [UInt16]
        if let path = e.gray16 {
            expected = try ImageFixtures.samples16(path)  // 16-bit files: every bit kept
        } else {
            // 8-bit sources are widened by 257 (documented on decodeGray16).
            expected = try ImageFixtures.bytes(try #require(e.gray8)).map { UInt16($0) * 257 }
        }
        let diff = maxAbsDifference(gray.pixels, expected)
        #expect(diff <= (e.tolerance ?? 0) * 257, "\(name): max difference \(diff) from OpenCV")
    }

    @Test(arguments: ImageFixtures.decodable)
    func decodeAtFullPrecisionMatchesTheSource(name: String) throws {
        let e = try ImageFixtures.entry(name)
        let image = try ImageDecoder.decode(ImageFixtures.bytes(e.file), selection: e.selection ?? .first)
        #expect(image.width == e.width && image.height == e.height)
        let path = try #require(e.full)
        switch (image, e.fullType) {
        case (.uint8(let g), "uint8"):
            let diff = maxAbsDifference(g.pixels, try ImageFixtures.bytes(path))
            #expect(diff <= e.tolerance ?? 0, "\(name): max difference \(diff)")
        case (.uint16(let g), "uint16"):
            #expect(g.pixels == (try ImageFixtures.samples16(path)), "\(name)")
        case (.float32(let g), "float32"):
            let expected = try ImageFixtures.floats(path)
            #expect(g.pixels.count == expected.count)
            #expect(zip(g.pixels, expected).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(name)")
        default:
            Issue.record("\(name): decoded as \(image.bitDepth)-bit, expected \(e.fullType ?? "?")")
        }
    }

    @Test(arguments: ImageFixtures.decodable)
    func decodeRasterMatchesIndependentDecoder(name: String) throws {
        let e = try ImageFixtures.entry(name)
        guard let path = e.raster else {
            // Float and signed samples are no mask: the raster path says so.
            let error = #expect(throws: SegCoreError.self) {
                try ImageDecoder.decodeRaster(ImageFixtures.bytes(e.file), selection: e.selection ?? .first)
            }
            #expect(isKind(error, "unsupportedImageFeature"), "\(name): \(String(describing: error))")
            return
        }
        let raster = try ImageDecoder.decodeRaster(ImageFixtures.bytes(e.file), selection: e.selection ?? .first)
        #expect(raster.width == e.width && raster.height == e.height)
        #expect(raster.channels == e.rasterChannels)
        switch raster.samples {
        case .uint8(let samples):
            #expect(e.rasterBitDepth == 8)
            let diff = maxAbsDifference(samples, try ImageFixtures.bytes(path))
            #expect(diff <= e.tolerance ?? 0, "\(name): max difference \(diff) from OpenCV")
        case .uint16(let samples):
            #expect(e.rasterBitDepth == 16)
            #expect(samples == (try ImageFixtures.samples16(path)))
        case .uint32(let samples):
            #expect(e.rasterBitDepth == 32)
            #expect(samples == (try ImageFixtures.samples32(path)))
        }
    }

    @Test(arguments: ImageFixtures.rejected)
    func rejectedFixturesThrowTheDocumentedError(name: String) throws {
        let e = try ImageFixtures.entry(name)
        let kind = try #require(e.error)
        let bytes = try ImageFixtures.bytes(e.file)
        for error in decodeErrors(bytes) {
            #expect(isKind(error, kind), "\(name): \(String(describing: error)), expected \(kind)")
            if let needle = e.messageContains {
                #expect(String(describing: error).contains(needle))
            }
        }
    }

    @Test(arguments: ["bits12", "lossless-sof3"])
    func unsupportedJPEGProcessesAreRefusedFromTheHeader(name: String) throws {
        let error = #expect(throws: SegCoreError.self) { try ImageDecoder.info(ImageFixtures.bytes(of: name)) }
        #expect(isKind(error, "unsupportedImageFeature"), "\(String(describing: error))")
    }

    @Test func scanBombHeaderStillReadsButDecodingStopsAtTheLimit() throws {
        // The scan count is only known while decoding; the header itself is valid.
        let info = try ImageDecoder.info(ImageFixtures.bytes(of: "scans-1000"))
        #expect(info.width == 8 && info.height == 8 && info.isInterlaced)
        // The same picture with 500 scans (the limit) decodes to what OpenCV sees.
        let ok = try ImageDecoder.decodeGray(ImageFixtures.bytes(of: "scans-500"))
        #expect(ok.pixels == (try ImageFixtures.bytes("jpeg/scans-500.gray8")))
    }

    /// Orientation is metadata: coordinates always refer to the stored pixel grid.
    @Test(arguments: 1...8)
    func exifOrientationIsIgnored(orientation: Int) throws {
        // setup: baseline-color with an APP1 Exif segment holding only the Orientation tag
        let base = try ImageFixtures.bytes(of: "baseline-color")
        var tiff: [UInt8] = Array("II*\0".utf8) + [8, 0, 0, 0] + [1, 0]
        tiff += [0x12, 0x01, 3, 0, 1, 0, 0, 0, UInt8(orientation), 0, 0, 0] + [0, 0, 0, 0]
        let body: [UInt8] = Array("Exif\0\0".utf8) + tiff
        let length = body.count + 2
        let app1: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + body
        let tagged = Array(base[0..<2]) + app1 + Array(base[2...])
        // MUT
        let info = try ImageDecoder.info(tagged)
        let gray = try ImageDecoder.decodeGray(tagged)
        // validate: same stored grid (37 wide, 29 high) and the same samples as the untagged file
        #expect(info.width == 37 && info.height == 29)
        #expect(gray.width == 37 && gray.height == 29)
        #expect(gray.pixels == (try ImageFixtures.bytes("jpeg/baseline-color.gray8")))
    }

    @Test func exifFixtureDecodesLikeItsUntaggedSource() throws {
        let tagged = try ImageDecoder.decodeRaster(ImageFixtures.bytes(of: "exif-orientation-6"))
        let plain = try ImageDecoder.decodeRaster(ImageFixtures.bytes(of: "baseline-color"))
        #expect(tagged == plain)
    }

    @Test func sixteenBitGrayKeepsEveryBitAndTheEightBitViewIsStretched() throws {
        let bytes = try ImageFixtures.bytes(of: "gray16")
        let deep = try ImageDecoder.decodeGray16(bytes)
        // The fixture's low bytes vary, so this fails if anything rounds or truncates.
        #expect(Set(deep.pixels.map { $0 & 0xFF }).count > 100)
        #expect(try ImageDecoder.decode(bytes) == .uint16(deep))
        // A narrow 16-bit range (samples 0–235, as the DSB 2018 nuclei image) would be black by its
        // high byte; the view spreads it over 0–255 instead.
        let narrow = try ImageDecoder.decodeGray(ImageFixtures.bytes(of: "tiff-gray16-narrow"))
        #expect(narrow.pixels.max() == 255 && narrow.pixels.min() == 0)
    }

    @Test func apngDecodesTheDefaultImageOnly() throws {
        let apng = try ImageDecoder.decodeRaster(ImageFixtures.bytes(of: "apng"))
        let still = try ImageDecoder.decodeRaster(ImageFixtures.bytes(of: "rgb8"))
        #expect(apng == still)
    }

    @Test func paletteWithPartialTRNSExpandsToRGBA() throws {
        let raster = try ImageDecoder.decodeRaster(ImageFixtures.bytes(of: "palette-trns"))
        #expect(raster.channels == 4 && raster.hasAlpha)
        guard case .uint8(let s) = raster.samples else {
            Issue.record("expected 8-bit samples")
            return
        }
        // Entries past the 7-entry tRNS are opaque; entries inside it keep their alpha.
        let alphas = Set(stride(from: 3, to: s.count, by: 4).map { s[$0] })
        #expect(alphas.contains(255) && alphas.contains(0) && alphas.contains(120))
    }

    // MARK: sniffing (I1)

    static let nonImages: [String] = [
        "<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
        "<?php system($_GET['c']); ?>",
        "GIF89a<?php echo 'polyglot'; ?>",
        "BM\u{0}\u{0}not a bitmap either",
        "\u{89}PNX\r\n\u{1A}\n",
    ]

    @Test(arguments: nonImages)
    func textRenamedToPNGIsNotAnImage(text: String) throws {
        // setup: the name says PNG; only the bytes count
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("seghub-sniff-\(UUID().uuidString).png")
        try Data(text.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let bytes = [UInt8](try Data(contentsOf: url))
        // MUT + validate
        #expect(ImageFormat.sniff(bytes) == nil)
        #expect(throws: SegCoreError.unsupportedImageFormat) { try ImageDecoder.info(bytes) }
        #expect(throws: SegCoreError.unsupportedImageFormat) { try ImageDecoder.decodeGray(bytes) }
        #expect(throws: SegCoreError.unsupportedImageFormat) { try ImageDecoder.decodeGray16(bytes) }
        #expect(throws: SegCoreError.unsupportedImageFormat) { try ImageDecoder.decodeRaster(bytes) }
    }

    @Test func formatComesFromMagicBytesNotTheName() throws {
        // A JPEG saved as .png is a JPEG; a PNG saved as .jpg is a PNG.
        let dir = FileManager.default.temporaryDirectory
        let jpegAsPNG = dir.appendingPathComponent("seghub-sniff-\(UUID().uuidString).png")
        let pngAsJPEG = dir.appendingPathComponent("seghub-sniff-\(UUID().uuidString).jpg")
        try Data(ImageFixtures.bytes(of: "baseline-gray")).write(to: jpegAsPNG)
        try Data(ImageFixtures.bytes(of: "gray8")).write(to: pngAsJPEG)
        defer {
            try? FileManager.default.removeItem(at: jpegAsPNG)
            try? FileManager.default.removeItem(at: pngAsJPEG)
        }
        #expect(try ImageDecoder.info([UInt8](Data(contentsOf: jpegAsPNG))).format == .jpeg)
        #expect(try ImageDecoder.info([UInt8](Data(contentsOf: pngAsJPEG))).format == .png)
        #expect(ImageFormat.sniff([0xFF, 0xD8, 0xFF]) == .jpeg)
        #expect(ImageFormat.sniff([0xFF, 0xD8]) == nil)
        #expect(ImageFormat.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A]) == nil)
        // TIFF (classic and BigTIFF, both byte orders) and BMP by content; a TIFF named .bmp is a TIFF.
        #expect(ImageFormat.sniff([0x49, 0x49, 42, 0]) == .tiff && ImageFormat.sniff([0x4D, 0x4D, 0, 42]) == .tiff)
        #expect(ImageFormat.sniff([0x49, 0x49, 43, 0]) == .tiff && ImageFormat.sniff([0x4D, 0x4D, 0, 43]) == .tiff)
        #expect(ImageFormat.sniff([0x49, 0x49, 42, 1]) == nil && ImageFormat.sniff([0x49, 0x49, 42]) == nil)
        #expect(try ImageDecoder.info(ImageFixtures.bytes(of: "tiff-gray16-lzw")).format == .tiff)
        #expect(try ImageDecoder.info(ImageFixtures.bytes(of: "bmp-rgb24")).format == .bmp)
        // "BM" followed by text is not a bitmap: the reserved words and the header size must fit.
        #expect(ImageFormat.sniff(Array("BMW drivers: see the attached list".utf8)) == nil)
        let bmp = try ImageFixtures.bytes(of: "bmp-rgb24")
        var badHeaderSize = bmp
        badHeaderSize[14] = 41
        #expect(ImageFormat.sniff(badHeaderSize) == nil)
    }
}
