import Foundation
import Testing

@testable import SegCore

/// CRC-32 (ISO-HDLC, as PNG and zlib use it), to build and repair chunks.
func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}

func bigEndian32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

/// A PNG chunk with its length and a correct CRC.
func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian32(UInt32(data.count)) + body + bigEndian32(crc32(body))
}

/// A PNG chunk as found in a file: where it starts and where its data are.
struct PNGChunkRange {
    var type: String
    var start: Int
    var data: Range<Int>
    var end: Int { data.upperBound + 4 }
}

func pngChunks(_ bytes: [UInt8]) -> [PNGChunkRange] {
    var chunks: [PNGChunkRange] = []
    var at = 8
    while at + 12 <= bytes.count {
        let length = bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) }
        let type = String(decoding: bytes[at + 4..<at + 8], as: UTF8.self)
        guard at + 12 + length <= bytes.count else { break }
        chunks.append(PNGChunkRange(type: type, start: at, data: at + 8..<at + 8 + length))
        at += 12 + length
    }
    return chunks
}

/// Recomputes the CRC of the chunk that holds `range` so that libpng sees the damage inside it.
func fixCRC(_ bytes: inout [UInt8], of chunk: PNGChunkRange) {
    let crc = crc32(bytes[chunk.start + 4..<chunk.data.upperBound])
    bytes.replaceSubrange(chunk.data.upperBound..<chunk.end, with: bigEndian32(crc))
}

/// Decodes with every entry point; each must either succeed with a picture matching the header
/// or throw (a crash fails the whole run). Returns the errors thrown.
@discardableResult
func decodeConsistently(_ bytes: [UInt8], limits: ImageLimits = .default) -> [SegCoreError] {
    var errors: [SegCoreError] = []
    let info: ImageInfo?
    do { info = try ImageDecoder.info(bytes, limits: limits) } catch {
        info = nil
        errors.append(error)
    }
    do {
        let g = try ImageDecoder.decodeGray(bytes, limits: limits)
        #expect(g.width == info?.width && g.height == info?.height && g.pixels.count == g.width * g.height)
    } catch { errors.append(error) }
    do {
        let g = try ImageDecoder.decodeGray16(bytes, limits: limits)
        #expect(g.width == info?.width && g.height == info?.height && g.pixels.count == g.width * g.height)
    } catch { errors.append(error) }
    do {
        let r = try ImageDecoder.decodeRaster(bytes, limits: limits)
        #expect(r.width == info?.width && r.height == info?.height)
    } catch { errors.append(error) }
    return errors
}

@Suite struct BadInputTests {
    // MARK: truncation (I6)

    static let truncationFixtures = [
        "baseline-gray", "baseline-color", "progressive", "arithmetic", "restart", "cmyk-adobe", "gray8", "gray1", "rgba16",
        "palette-trns", "adam7-rgb8", "text-chunks", "apng",
    ]

    /// Every strict prefix of a valid file is refused as truncated: never a partial image.
    @Test(arguments: truncationFixtures)
    func everyTruncationIsRefused(name: String) throws {
        let file = try ImageFixtures.bytes(of: name)
        let signature = ImageFormat.sniff(file) == .png ? 8 : 3
        for cut in 0..<file.count {
            let prefix = Array(file[0..<cut])
            for error in decodeErrors(prefix) {
                if cut == 0 {
                    #expect(error == .emptyInput)
                } else if cut < signature {
                    #expect(error == .unsupportedImageFormat)
                } else {
                    #expect(isKind(error, "truncatedImage"), "\(name) cut at \(cut)/\(file.count): \(String(describing: error))")
                }
            }
        }
    }

    @Test(arguments: ["baseline-color", "progressive", "arithmetic"])
    func jpegCutInTheMiddleOfItsScanDataIsTruncated(name: String) throws {
        let file = try ImageFixtures.bytes(of: name)
        let sos = try #require(jpegMarker(0xDA, in: file))
        let cut = Array(file[0..<(sos + (file.count - sos) / 2)])
        #expect(try ImageDecoder.info(cut).width == 37)  // the header is intact
        for error in decodeErrors(cut) {
            #expect(isKind(error, "truncatedImage"), "\(String(describing: error))")
        }
        // Cut at half the file (inside the tables for these small files): still "truncated".
        for error in decodeErrors(Array(file[0..<file.count / 2])) {
            #expect(isKind(error, "truncatedImage"), "\(String(describing: error))")
        }
    }

    @Test func pngWithoutIENDIsTruncated() throws {
        let file = try ImageFixtures.bytes(of: "gray8")
        let iend = try #require(pngChunks(file).last)
        #expect(iend.type == "IEND")
        let error = #expect(throws: SegCoreError.self) { try ImageDecoder.decodeGray(Array(file[0..<iend.start])) }
        #expect(isKind(error, "truncatedImage"))
    }

    @Test func pngWithTruncatedIDATStreamIsRefused() throws {
        // setup: keep only the first half of the zlib stream, in a well-formed IDAT chunk
        let file = try ImageFixtures.bytes(of: "rgb8")
        let idat = try #require(pngChunks(file).first { $0.type == "IDAT" })
        let half = Array(file[idat.data].prefix(idat.data.count / 2))
        let damaged = Array(file[0..<idat.start]) + pngChunk("IDAT", half) + pngChunk("IEND", [])
        // MUT + validate
        for error in decodeErrors(damaged) {
            #expect(isKind(error, "truncatedImage") || isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    // MARK: corruption (I7)

    @Test func emptyInputIsReported() {
        #expect(throws: SegCoreError.emptyInput) { try ImageDecoder.info([]) }
        #expect(decodeErrors([]) == [.emptyInput, .emptyInput, .emptyInput])
    }

    @Test(arguments: [
        [UInt8](repeating: 0, count: 64), Array("plain text, not an image".utf8), [0xFF, 0xD9], [0x89, 0x50, 0x4E, 0x47],
        [0x00, 0xFF, 0xD8, 0xFF],
    ])
    func nonImagesAreUnsupported(bytes: [UInt8]) {
        #expect(throws: SegCoreError.unsupportedImageFormat) { try ImageDecoder.info(bytes) }
        #expect(decodeErrors(bytes) == [.unsupportedImageFormat, .unsupportedImageFormat, .unsupportedImageFormat])
    }

    @Test func signatureOnlyIsTruncated() {
        for bytes: [UInt8] in [[0xFF, 0xD8, 0xFF], [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]] {
            let error = #expect(throws: SegCoreError.self) { try ImageDecoder.info(bytes) }
            #expect(isKind(error, "truncatedImage"), "\(String(describing: error))")
        }
    }

    static let flipFixtures = ["baseline-gray", "baseline-color", "progressive", "arithmetic", "gray4", "rgb16", "palette-trns", "adam7-gray1"]

    /// Flipping any byte yields a decoded image or a SegCoreError, never a crash or a size mismatch.
    @Test(arguments: flipFixtures)
    func flippedBytesNeverCrash(name: String) throws {
        let file = try ImageFixtures.bytes(of: name)
        let chunks = ImageFormat.sniff(file) == .png ? pngChunks(file) : []
        for at in 0..<file.count {
            var damaged = file
            damaged[at] ^= 0xFF
            decodeConsistently(damaged)
            // PNG: also repair the CRC, so that the damage reaches zlib, the filters and the header checks.
            if let chunk = chunks.first(where: { $0.start + 4 <= at && at < $0.data.upperBound }) {
                fixCRC(&damaged, of: chunk)
                decodeConsistently(damaged)
            }
            var bit = file
            bit[at] ^= UInt8(1 << (at % 8))
            decodeConsistently(bit)
        }
    }

    @Test func pngWithBadCRCIsCorrupt() throws {
        let file = try ImageFixtures.bytes(of: "rgb8")
        for type in ["IHDR", "IDAT"] {
            let chunk = try #require(pngChunks(file).first { $0.type == type })
            var damaged = file
            damaged[chunk.end - 1] ^= 0x01
            for error in decodeErrors(damaged) {
                #expect(isKind(error, "corruptImage"), "\(type): \(String(describing: error))")
            }
        }
    }

    @Test func pngWithBadAdler32IsCorrupt() throws {
        // setup: the zlib stream's last four bytes are its Adler-32; damage it, keep the chunk CRC valid
        var file = try ImageFixtures.bytes(of: "rgb8")
        let idat = try #require(pngChunks(file).first { $0.type == "IDAT" })
        file[idat.data.upperBound - 1] ^= 0x5A
        fixCRC(&file, of: idat)
        // MUT + validate: the pixels may all be there, but the stream is damaged
        for error in decodeErrors(file) {
            #expect(isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    @Test func pngWithBadAdler32AloneInTheLastIDATIsCorrupt() throws {
        // setup: split the zlib stream so that its Adler-32 is the only content of a second IDAT;
        // libpng has every row before it reads that chunk, and treats a zlib error there as benign
        let file = try ImageFixtures.bytes(of: "rgb8")
        let idat = try #require(pngChunks(file).first { $0.type == "IDAT" })
        var stream = Array(file[idat.data])
        stream[stream.count - 1] ^= 0x5A
        let split =
            Array(file[0..<idat.start]) + pngChunk("IDAT", Array(stream.dropLast(4))) + pngChunk("IDAT", Array(stream.suffix(4)))
            + pngChunk("IEND", [])
        // MUT + validate
        for error in decodeErrors(split) {
            #expect(isKind(error, "corruptImage"), "\(String(describing: error))")
        }
        // The same split with an intact checksum decodes to the original image.
        stream[stream.count - 1] ^= 0x5A
        let intact =
            Array(file[0..<idat.start]) + pngChunk("IDAT", Array(stream.dropLast(4))) + pngChunk("IDAT", Array(stream.suffix(4)))
            + pngChunk("IEND", [])
        #expect(try ImageDecoder.decodeRaster(intact) == ImageDecoder.decodeRaster(file))
    }

    @Test func jpegWithUndefinedQuantizationTableIsCorrupt() throws {
        var file = try ImageFixtures.bytes(of: "baseline-gray")
        let sof = try #require(jpegMarker(0xC0, in: file))
        file[sof + 12] = 3  // component 1's Tq: table 3 is never defined
        for error in decodeErrors(file) {
            #expect(isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    @Test func jpegWithBogusMarkerLengthIsRefused() throws {
        var file = try ImageFixtures.bytes(of: "baseline-gray")
        let dqt = try #require(jpegMarker(0xDB, in: file))
        file[dqt + 2] = 0
        file[dqt + 3] = 1  // a length of 1 is shorter than the length field itself
        for error in decodeErrors(file) {
            #expect(isKind(error, "corruptImage") || isKind(error, "truncatedImage"), "\(String(describing: error))")
        }
    }

    @Test func jpegWithGarbageInTheEntropyDataIsRefusedOrDecoded() throws {
        // Bad Huffman codes: libjpeg warns ("corrupt JPEG data"), which SegCore turns into an error.
        let file = try ImageFixtures.bytes(of: "baseline-color")
        let sos = try #require(jpegMarker(0xDA, in: file))
        var damaged = file
        for i in stride(from: sos + 20, to: file.count - 2, by: 7) where damaged[i] != 0xFF && damaged[i] != 0x00 {
            damaged[i] = 0xFF  // an 0xFF not followed by 0x00 is a marker in the middle of the data
        }
        for error in decodeErrors(damaged) {
            #expect(isKind(error, "corruptImage") || isKind(error, "truncatedImage"), "\(String(describing: error))")
        }
    }

    // MARK: pixel floods (I2) and scan bombs (I4)

    /// A PNG declaring `width`×`height`: valid signature, IHDR with a correct CRC, a 1-row IDAT, IEND.
    static func floodPNG(width: UInt32, height: UInt32) -> [UInt8] {
        let ihdr = bigEndian32(width) + bigEndian32(height) + [8, 0, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]  // stored block: 2 zero bytes
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", ihdr) + pngChunk("IDAT", idat) + pngChunk("IEND", [])
    }

    /// baseline-gray with its SOF0 claiming `width`×`height`.
    static func floodJPEG(width: Int, height: Int) throws -> [UInt8] {
        var file = try ImageFixtures.bytes(of: "baseline-gray")
        let sof = try #require(jpegMarker(0xC0, in: file))
        file[sof + 5] = UInt8(height >> 8)
        file[sof + 6] = UInt8(height & 0xFF)
        file[sof + 7] = UInt8(width >> 8)
        file[sof + 8] = UInt8(width & 0xFF)
        return file
    }

    @Test(arguments: [(100_000, 100_000), (40_001, 1), (30_000, 30_000), (1_000_000, 1_000_000)])
    func pngPixelFloodIsRefusedFromTheHeader(width: Int, height: Int) {
        let bytes = Self.floodPNG(width: UInt32(width), height: UInt32(height))
        let expected = SegCoreError.imageTooLarge(width: width, height: height, limits: .default)
        #expect(throws: expected) { try ImageDecoder.info(bytes) }  // info never touches pixel data
        #expect(decodeErrors(bytes) == [expected, expected, expected])
    }

    @Test(arguments: [(65_000, 65_000), (40_001, 8), (20_000, 20_000)])
    func jpegPixelFloodIsRefusedFromTheHeader(width: Int, height: Int) throws {
        let bytes = try Self.floodJPEG(width: width, height: height)
        let expected = SegCoreError.imageTooLarge(width: width, height: height, limits: .default)
        #expect(throws: expected) { try ImageDecoder.info(bytes) }
        #expect(decodeErrors(bytes) == [expected, expected, expected])
    }

    @Test func jpegOverLibjpegsOwnMaximumIsTooLarge() throws {
        // 65 535 exceeds JPEG_MAX_DIMENSION (65 500): libjpeg refuses it itself.
        let bytes = try Self.floodJPEG(width: 65_535, height: 65_535)
        let error = #expect(throws: SegCoreError.self) { try ImageDecoder.info(bytes) }
        #expect(isKind(error, "imageTooLarge"), "\(String(describing: error))")
    }

    @Test func smallLimitsApplyToValidFiles() throws {
        let small = ImageLimits(maxPixels: 1000, maxDimension: 36)
        for name in ["baseline-color", "gray8"] {
            let expected = SegCoreError.imageTooLarge(width: 37, height: 29, limits: small)
            #expect(throws: expected) { try ImageDecoder.info(ImageFixtures.bytes(of: name), limits: small) }
        }
    }

    @Test func progressiveScanBombIsRefused() throws {
        let bomb = try ImageFixtures.bytes(of: "scans-1000")
        for error in decodeErrors(bomb) {
            #expect(error == .corruptImage("decoder limit reached: more than 500 progressive scans"))
        }
    }
}

/// Offset of the first `FF xx` marker in `bytes`.
func jpegMarker(_ code: UInt8, in bytes: [UInt8]) -> Int? {
    var i = 2
    while i + 1 < bytes.count {
        if bytes[i] == 0xFF, bytes[i + 1] == code { return i }
        i += 1
    }
    return nil
}
