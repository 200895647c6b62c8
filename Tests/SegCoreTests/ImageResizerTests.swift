import Testing

@testable import SegCore

@Suite struct ImageResizerTests {
    @Test func integerShrinkIsTheBoxMean() throws {
        // setup: 4×2 → 2×1; each output pixel averages a 2×2 block (hand-computed means).
        let image = try GrayImage(width: 4, height: 2, pixels: [0, 10, 100, 200, 20, 30, 50, 51])

        // MUT
        let small = try ImageResizer.resize(image, width: 2, height: 1)

        // validate: (0+10+20+30)/4 = 15, (100+200+50+51)/4 = 100.25 → 100
        #expect(small.pixels == [15, 100])
    }

    @Test func fractionalCoverageIsWeighted() throws {
        // 3 → 2 pixels: output 0 covers source [0, 1.5) and output 1 covers [1.5, 3).
        // out0 = (0·1 + 255·0.5) / 1.5 = 85; out1 = (255·0.5 + 0·1) / 1.5 = 85.
        let image = try GrayImage(width: 3, height: 1, pixels: [0, 255, 0])
        #expect(try ImageResizer.resize(image, width: 2, height: 1).pixels == [85, 85])
    }

    @Test func colourChannelsStaySeparate() throws {
        let rgb: [UInt8] = [255, 0, 0, 0, 0, 255]
        let out = try ImageResizer.resize(pixels: rgb, width: 2, height: 1, channels: 3, toWidth: 1, toHeight: 1)
        #expect(out == [128, 0, 128])
    }

    @Test(arguments: [
        (4000, 3000, 256, 256, 192), (3000, 4000, 256, 192, 256), (100, 50, 256, 100, 50), (10000, 1, 256, 256, 1),
    ])
    func fittedSizeKeepsAspectAndNeverEnlarges(w: Int, h: Int, side: Int, ew: Int, eh: Int) {
        let size = ImageResizer.fittedSize(width: w, height: h, maxSide: side)
        #expect(size.width == ew && size.height == eh)
    }

    @Test func rejectsNonsenseSizes() throws {
        let image = GrayImage(width: 2, height: 2)
        #expect(throws: SegCoreError.self) { try ImageResizer.resize(image, width: 0, height: 1) }
        #expect(throws: SegCoreError.self) {
            try ImageResizer.resize(pixels: [1, 2, 3], width: 2, height: 2, channels: 1, toWidth: 1, toHeight: 1)
        }
    }

    @Test func thumbnailIsAFreshJPEGWithinTheLongestSide() throws {
        // setup: a 600×300 RGB PNG
        var rgb = [UInt8](repeating: 0, count: 600 * 300 * 3)
        for i in stride(from: 0, to: rgb.count, by: 3) { rgb[i] = UInt8(i / 3 % 256) }
        let png = try PNGEncoder.encode(pixels: rgb, width: 600, height: 300, channels: 3)

        // MUT
        let thumb = try Thumbnailer.jpegThumbnail(of: png, maxSide: 256)

        // validate
        #expect(ImageFormat.sniff(thumb) == .jpeg)
        let info = try ImageDecoder.info(thumb)
        #expect(info.width == 256 && info.height == 128 && info.channels == 3)
        // No APP1 (EXIF) segment: the marker FF E1 never appears in the header area.
        let header = thumb.prefix(64)
        #expect(!zip(header, header.dropFirst()).contains { $0 == 0xFF && $1 == 0xE1 })
    }
}
