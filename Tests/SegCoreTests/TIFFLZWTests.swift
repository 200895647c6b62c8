import Testing

@testable import SegCore

/// SegHub reads most LZW strips with its own decoder (`seg_lzw.c`) and gives libtiff what that
/// decoder does not expect. These tests hold it to libtiff's answer on the same bytes: the same
/// image, or the same error, whole, damaged or cut short.
@Suite struct TIFFLZWTests {
    /// Every LZW fixture: 8- and 16-bit gray, RGB, with and without the horizontal predictor, pages,
    /// and the 160×120 strips that reach 12-bit codes and table resets.
    static let fixtures = [
        "tiff-gray8-lzw", "tiff-gray16-lzw", "tiff-rgb8-lzw", "tiff-rgb8-lzw-predictor", "tiff-pages-p2",
        "tiff-gray16-lzw-wide", "tiff-gray16-lzw-wide-predictor",
    ]

    /// What decoding `bytes` gives (gray at full precision, and the raster), with our LZW decoder
    /// or with libtiff's alone: the images, or the kinds of error (the wording may differ: a strip
    /// that runs past the end of the file is reported by the shim, with its number, where libtiff
    /// would name a row it had not reached).
    static func outcome(_ bytes: [UInt8], ownLZW: Bool) -> [String] {
        func kind(_ error: any Error) -> String {
            guard let error = error as? SegCoreError else { return "\(error)" }
            return ["truncatedImage", "corruptImage", "unsupportedImageFeature", "imageTooLarge", "unsupportedImageFormat", "emptyInput"]
                .first { isKind(error, $0) } ?? "\(error)"
        }
        return TIFFDecoder.$ownLZW.withValue(ownLZW) {
            var results: [String] = []
            do { results.append("gray \(try ImageDecoder.decode(bytes))") } catch { results.append("error \(kind(error))") }
            do { results.append("raster \(try ImageDecoder.decodeRaster(bytes))") } catch { results.append("error \(kind(error))") }
            return results
        }
    }

    @Test(arguments: fixtures)
    func ownDecoderReadsTheStripsAndAgreesWithLibtiff(name: String) throws {
        let bytes = try ImageFixtures.bytes(of: name)
        // The fast path is taken (otherwise the comparison below would prove nothing)...
        #expect(try TIFFDecoder.stripsReadByOwnLZW(bytes) > 0)
        #expect(try TIFFDecoder.$ownLZW.withValue(false) { try TIFFDecoder.stripsReadByOwnLZW(bytes) } == 0)
        // ...and gives exactly libtiff's image (ImageDecoderTests compares both with tifffile's).
        #expect(Self.outcome(bytes, ownLZW: true) == Self.outcome(bytes, ownLZW: false))
    }

    /// Damaged compressed data: every byte of the strips flipped in turn (a stride through the
    /// larger file) gives libtiff's image or libtiff's error, never a third answer.
    @Test(arguments: ["tiff-gray16-lzw", "tiff-gray16-lzw-wide-predictor", "tiff-rgb8-lzw-predictor"])
    func damagedStripsGiveLibtiffsAnswer(name: String) throws {
        let file = try ImageFixtures.bytes(of: name)
        let step = file.count > 4096 ? 61 : 1
        for at in stride(from: 8, to: file.count, by: step) {
            var damaged = file
            damaged[at] ^= UInt8(truncatingIfNeeded: 0x5A &+ at)
            #expect(Self.outcome(damaged, ownLZW: true) == Self.outcome(damaged, ownLZW: false), "\(name), byte \(at) changed")
        }
    }

    /// Cut short anywhere: the same answer as libtiff (a strip that ends early is libtiff's to report).
    @Test func truncatedStripsGiveLibtiffsAnswer() throws {
        let file = try ImageFixtures.bytes(of: "tiff-gray16-lzw-wide")
        for cut in stride(from: 64, to: file.count, by: 97) {
            let prefix = Array(file[0..<cut])
            #expect(Self.outcome(prefix, ownLZW: true) == Self.outcome(prefix, ownLZW: false), "cut at \(cut)")
        }
    }
}
