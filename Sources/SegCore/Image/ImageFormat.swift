/// The image formats SegHub reads, recognised by their first bytes only.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    /// JPEG (`FF D8 FF`).
    case jpeg
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    case png
    /// TIFF (`II*\0` or `MM\0*`; BigTIFF `II+\0` or `MM\0+`).
    case tiff
    /// Windows bitmap (`BM` followed by a plausible header).
    case bmp

    /// The format the bytes start with, or `nil` when they are neither (file names never count).
    public static func sniff<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        var it = bytes.makeIterator()
        var head = [UInt8]()
        head.reserveCapacity(8)
        while head.count < 8, let b = it.next() { head.append(b) }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        if head.count >= 4 {
            let little = head[0] == 0x49 && head[1] == 0x49 && (head[2] == 42 || head[2] == 43) && head[3] == 0
            let big = head[0] == 0x4D && head[1] == 0x4D && head[2] == 0 && (head[3] == 42 || head[3] == 43)
            if little || big { return .tiff }
        }
        // "BM" alone is too weak (plenty of text starts so); the file header's reserved words must be zero.
        if head.count >= 2, head[0] == 0x42, head[1] == 0x4D {
            var rest = [UInt8]()
            while rest.count < 10, let b = it.next() { rest.append(b) }
            let all = head + rest
            if all.count >= 18, all[6] == 0, all[7] == 0, all[8] == 0, all[9] == 0 {
                let headerSize = Int(all[14]) | Int(all[15]) << 8 | Int(all[16]) << 16 | Int(all[17]) << 24
                if [12, 16, 40, 52, 56, 64, 108, 124].contains(headerSize) { return .bmp }
            }
        }
        return nil
    }

    /// The MIME type to serve the bytes with.
    public var mimeType: String {
        switch self {
        case .jpeg: return "image/jpeg"
        case .png: return "image/png"
        case .tiff: return "image/tiff"
        case .bmp: return "image/bmp"
        }
    }
}

/// What an image's header says, read without decoding pixels.
public struct ImageInfo: Sendable, Equatable {
    /// The sniffed format.
    public var format: ImageFormat
    /// Width in pixels.
    public var width: Int
    /// Height in pixels.
    public var height: Int
    /// Channels stored in the file after palette expansion (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA or CMYK).
    public var channels: Int
    /// Bits per stored sample (PNG: 1–16; JPEG: 8).
    public var bitDepth: Int
    /// Whether the file is progressive (JPEG) or interlaced (PNG).
    public var isInterlaced: Bool
    /// Pages in the file (TIFF directories; 1 for the other formats).
    public var pages: Int = 1
}
