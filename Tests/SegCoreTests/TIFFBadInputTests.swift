import Foundation
import Testing

@testable import SegCore

/// A little-endian TIFF written here: one IFD of (tag, type, count, value) entries (values that fit
/// in 4 bytes only) followed by `data`; `StripOffsets` may point at `data` with the value `-1`.
func handmadeTIFF(_ entries: [(tag: UInt16, type: UInt16, count: UInt32, value: Int64)], data: [UInt8] = [], nextIFD: UInt32 = 0) -> [UInt8] {
    func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
    let ifdSize = 2 + 12 * entries.count + 4
    let dataOffset = UInt32(8 + ifdSize)
    var out: [UInt8] = [0x49, 0x49, 42, 0] + le32(8) + le16(UInt16(entries.count))
    for e in entries.sorted(by: { $0.tag < $1.tag }) {
        let value = e.value < 0 ? dataOffset : UInt32(truncatingIfNeeded: e.value)
        out += le16(e.tag) + le16(e.type) + le32(e.count) + (e.type == 3 && e.count == 1 ? le16(UInt16(value)) + [0, 0] : le32(value))
    }
    return out + le32(nextIFD) + data
}

/// Tags of a `width`×`height` 8-bit gray strip image stored after the IFD.
func grayTIFFTags(width: Int64, height: Int64, rowsPerStrip: Int64? = nil, bytes: Int64) -> [(tag: UInt16, type: UInt16, count: UInt32, value: Int64)]
{
    [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, -1),
        (277, 3, 1, 1), (278, 4, 1, rowsPerStrip ?? height), (279, 4, 1, bytes),
    ]
}

@Suite struct TIFFBadInputTests {
    static let truncationFixtures = [
        "tiff-gray16-lzw", "tiff-gray8-tiles", "tiff-rgb8-lzw", "tiff-pages-p2", "tiff-float32", "bmp-rgb24", "bmp-rle8",
    ]

    /// Offsets to flip: every byte of the headers and directories (the first 512 bytes, where
    /// tifffile and Pillow put them) and every 7th byte of the rest (compressed data, which the
    /// codecs' own fuzzing covers byte by byte).
    static func offsets(_ count: Int) -> [Int] {
        Array(0..<min(512, count)) + Array(stride(from: 512, to: count, by: 7))
    }

    /// Every strict prefix (the file cut at every offset) is refused, or (when only trailing
    /// bytes are missing, or later pages) decodes to exactly what the whole file gives: never a
    /// partial image.
    @Test(arguments: truncationFixtures)
    func everyTruncationIsRefusedOrComplete(name: String) throws {
        let file = try ImageFixtures.bytes(of: name)
        let whole = try ImageDecoder.decode(file)
        let signature = ImageFormat.sniff(file) == .bmp ? 18 : 4
        for cut in 0..<file.count {
            let prefix = Array(file[0..<cut])
            do {
                let image = try ImageDecoder.decode(prefix)
                #expect(image == whole, "\(name) cut at \(cut)/\(file.count) decoded to a different image")
            } catch {
                if cut == 0 {
                    #expect(error == .emptyInput)
                } else if cut < signature {
                    #expect(error == .unsupportedImageFormat, "\(name) cut at \(cut): \(error)")
                } else {
                    #expect(isKind(error, "truncatedImage") || isKind(error, "corruptImage"), "\(name) cut at \(cut)/\(file.count): \(error)")
                }
            }
            _ = try? ImageDecoder.decodeRaster(prefix)
        }
    }

    static let flipFixtures = [
        "tiff-gray16-lzw", "tiff-gray16-tiles", "tiff-float32", "tiff-pages-p2", "tiff-jpeg-ycbcr", "tiff-palette8", "bmp-rle4", "bmp-palette8",
    ]

    /// Flipping any byte (or one bit of it) gives an image of the size the header says, or a
    /// SegCoreError: never a crash, never a different size.
    @Test(arguments: flipFixtures)
    func flippedBytesNeverCrash(name: String) throws {
        let file = try ImageFixtures.bytes(of: name)
        for at in Self.offsets(file.count) {
            var damaged = file
            damaged[at] ^= 0xFF
            decodeConsistently(damaged)
            var bit = file
            bit[at] ^= UInt8(1 << (at % 8))
            decodeConsistently(bit)
        }
    }

    // MARK: Sizes and layouts that would allocate too much (RELIABILITY I2, I3)

    @Test(arguments: [(100_000, 100_000), (40_001, 1), (30_000, 30_000), (4_000_000_000, 2)])
    func pixelFloodIsRefusedFromTheHeader(width: Int64, height: Int64) {
        let bytes = handmadeTIFF(grayTIFFTags(width: width, height: height, bytes: 1), data: [0])
        let error = #expect(throws: SegCoreError.self) { try ImageDecoder.info(bytes) }
        #expect(isKind(error, "imageTooLarge") || isKind(error, "corruptImage"), "\(String(describing: error))")
        for error in decodeErrors(bytes) {
            #expect(isKind(error, "imageTooLarge") || isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    @Test func hugeTilesOnASmallImageAreRefusedBeforeAllocating() {
        // A 16×16 image in 32768×32768 tiles: one tile would be 1 GiB.
        let tags: [(tag: UInt16, type: UInt16, count: UInt32, value: Int64)] = [
            (256, 4, 1, 16), (257, 4, 1, 16), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (277, 3, 1, 1),
            (322, 4, 1, 32768), (323, 4, 1, 32768), (324, 4, 1, -1), (325, 4, 1, 256),
        ]
        let bytes = handmadeTIFF(tags, data: [UInt8](repeating: 7, count: 256))
        for error in decodeErrors(bytes) {
            #expect(isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    @Test func aStripLongerThanTheFileIsTruncated() {
        let bytes = handmadeTIFF(grayTIFFTags(width: 64, height: 64, bytes: 4096), data: [UInt8](repeating: 9, count: 100))
        for error in decodeErrors(bytes) {
            #expect(isKind(error, "truncatedImage") || isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    /// Found by the fuzzer: a 16-bit BMP whose red mask has a gap (0xF807) made the field scaling
    /// overflow. A mask must be one run of bits; a gapped one is corrupt, and a contiguous one
    /// still decodes.
    @Test func aGappedBitFieldMaskIsCorrupt() throws {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16) }
        func bmp(red: Int) -> [UInt8] {
            // 2×1 pixels of 16 bits (one 4-byte row), BI_BITFIELDS with the masks after a 40-byte header
            let header = le32(40) + le32(2) + le32(1) + le16(1) + le16(16) + le32(3) + le32(4) + le32(2835) + le32(2835) + le32(0) + le32(0)
            let masks = le32(red) + le32(0x07E0) + le32(0x001F)
            return [0x42, 0x4D] + le32(14 + 40 + 12 + 4) + le32(0) + le32(14 + 40 + 12) + header + masks + [0xFF, 0xFF, 0x1F, 0x00]
        }
        for error in decodeErrors(bmp(red: 0xF807)) {
            #expect(isKind(error, "corruptImage"), "\(String(describing: error))")
        }
        let good = try ImageDecoder.decodeRaster(bmp(red: 0xF800))
        guard case .uint8(let samples) = good.samples else { throw SegCoreError.invalidArgument("not 8-bit") }
        #expect(good.channels == 3 && samples == [255, 255, 255, 0, 0, 255])
    }

    @Test func aLoopingPageChainEndsAtTheLoop() throws {
        // The IFD's next-IFD pointer points back at itself (offset 8).
        let bytes = handmadeTIFF(grayTIFFTags(width: 4, height: 4, bytes: 16), data: [UInt8](0..<16), nextIFD: 8)
        #expect(try ImageDecoder.info(bytes).pages == 1)
        #expect(try ImageDecoder.decodeGray(bytes).pixels == [UInt8](0..<16))
        #expect(throws: SegCoreError.self) { try ImageDecoder.decode(bytes, selection: ImageSelection(page: 1)) }
    }

    @Test func unsupportedCompressionIsNamed() {
        var tags = grayTIFFTags(width: 4, height: 4, bytes: 16)
        tags[3] = (259, 3, 1, 60_000)  // no such codec
        let bytes = handmadeTIFF(tags, data: [UInt8](0..<16))
        for error in decodeErrors(bytes) {
            #expect(isKind(error, "unsupportedImageFeature") || isKind(error, "corruptImage"), "\(String(describing: error))")
        }
    }

    // MARK: Pages and planes

    @Test func pagesOutOfRangeAreInvalidArguments() throws {
        let bytes = try ImageFixtures.bytes(of: "tiff-pages-p2")
        #expect(try ImageDecoder.info(bytes).pages == 3)
        #expect(throws: SegCoreError.invalidArgument("page 3 is out of range: the file has 3 pages (0–2)")) {
            try ImageDecoder.decode(bytes, selection: ImageSelection(page: 3))
        }
        #expect(throws: SegCoreError.self) { try ImageDecoder.decode(bytes, selection: ImageSelection(page: -1)) }
        // A page and a plane at once are refused before the file is read.
        #expect(throws: SegCoreError.self) { try ImageDecoder.decode(bytes, selection: ImageSelection(page: 0, z: 1)) }
        // This file has pages but no hyperstack description.
        #expect(throws: SegCoreError.self) { try ImageDecoder.decode(bytes, selection: ImageSelection(channel: 1)) }
        #expect(try ImageDecoder.decode(bytes, selection: ImageSelection(channel: 0)) == (try ImageDecoder.decode(bytes)))
    }

    @Test func hyperstackIndicesAreChecked() throws {
        let ome = try ImageFixtures.bytes(of: "tiff-ome-c1-z0")
        #expect(throws: SegCoreError.invalidArgument("channel 2 is out of range: the file has 2 (0–1)")) {
            try ImageDecoder.decode(ome, selection: ImageSelection(channel: 2))
        }
        #expect(throws: SegCoreError.self) { try ImageDecoder.decode(ome, selection: ImageSelection(t: 1)) }
        // Every plane of the OME file is a different page: all six are distinct.
        var planes: [AnyGrayImage] = []
        for c in 0..<2 { for z in 0..<3 { planes.append(try ImageDecoder.decode(ome, selection: ImageSelection(channel: c, z: z))) } }
        for i in planes.indices { for j in planes.indices where j > i { #expect(planes[i] != planes[j], "planes \(i) and \(j)") } }
        let imagej = try ImageFixtures.bytes(of: "tiff-imagej-t1-z0-c1")
        #expect(
            try ImageDecoder.decode(imagej, selection: ImageSelection(channel: 1, z: 0, t: 1))
                == (try ImageDecoder.decode(imagej, selection: ImageSelection(page: 5))))
    }

    @Test func singlePageFormatsRefuseOtherPages() throws {
        for name in ["baseline-gray", "gray8", "bmp-rgb24"] {
            let bytes = try ImageFixtures.bytes(of: name)
            #expect(throws: SegCoreError.self) { try ImageDecoder.decode(bytes, selection: ImageSelection(page: 1)) }
            #expect(throws: SegCoreError.self) { try ImageDecoder.decodeRaster(bytes, selection: ImageSelection(z: 2)) }
            #expect(try ImageDecoder.decode(bytes, selection: ImageSelection(page: 0)) == (try ImageDecoder.decode(bytes)))
        }
    }

    @Test func omeDescriptionsAreReadTolerantly() {
        // Namespace prefixes, single quotes, a UUID naming another file.
        let xml = """
            <?xml version='1.0'?><ome:OME xmlns:ome='x' UUID='urn:uuid:a'><ome:Image><ome:Pixels DimensionOrder='XYZTC' SizeC='2'
            SizeZ='2' SizeT='3'><ome:TiffData IFD='0' PlaneCount='6'/><ome:TiffData FirstC='1' IFD='0' PlaneCount='6'>
            <ome:UUID FileName='other.ome.tif'>urn:uuid:b</ome:UUID></ome:TiffData></ome:Pixels></ome:Image></ome:OME>
            """
        let stack = TIFFHyperstack.parse(xml, pageCount: 6)
        #expect(stack?.sizeC == 2 && stack?.sizeZ == 2 && stack?.sizeT == 3 && stack?.order == [.z, .t, .channel])
        #expect((try? stack?.page(channel: 0, z: 1, t: 2, pageCount: 6)) == 5)
        #expect(throws: SegCoreError.self) { try stack?.page(channel: 1, z: 0, t: 0, pageCount: 6) }
        #expect(TIFFHyperstack.parse("Photo taken with a camera", pageCount: 1) == nil)
    }
}
