import SegCore

/// Writes test masks with SegCore's PNG encoder (its own tests check it against other decoders).
enum PNGEncoderBridge {
    static func encodeGray(_ pixels: [UInt8], width: Int, height: Int) throws -> [UInt8] {
        try PNGEncoder.encode(GrayImage(width: width, height: height, pixels: pixels))
    }
}
