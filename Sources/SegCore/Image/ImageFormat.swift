/// The image formats SegHub reads, recognised by their first bytes only.
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    /// JPEG (`FF D8 FF`).
    case jpeg
    /// PNG (`89 50 4E 47 0D 0A 1A 0A`).
    case png

    /// The format the bytes start with, or `nil` when they are neither (file names never count).
    public static func sniff<C: Collection>(_ bytes: C) -> ImageFormat? where C.Element == UInt8 {
        var it = bytes.makeIterator()
        var head = [UInt8]()
        head.reserveCapacity(8)
        while head.count < 8, let b = it.next() { head.append(b) }
        if head.count >= 3, head[0] == 0xFF, head[1] == 0xD8, head[2] == 0xFF { return .jpeg }
        if head == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] { return .png }
        return nil
    }

    /// The MIME type to serve the bytes with.
    public var mimeType: String {
        switch self {
        case .jpeg: return "image/jpeg"
        case .png: return "image/png"
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
}
