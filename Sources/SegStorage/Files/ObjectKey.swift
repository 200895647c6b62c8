import SegS3

/// The content address of an object in the file store: the SHA-256 of its bytes as 64 lowercase hex digits.
///
/// Only that exact form is accepted, so a key can never name a path outside the store
/// (no `/`, `.`, uppercase or other characters).
public struct ObjectKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The 64 lowercase hex digits.
    public let hex: String

    /// Validates `hex` as a key.
    /// - Parameter hex: Exactly 64 characters from `0-9a-f`.
    /// - Throws: `StorageError.invalidObjectKey` for anything else.
    public init(_ hex: String) throws {
        guard Self.isValid(hex) else { throw StorageError.invalidObjectKey }
        self.hex = hex
    }

    /// Builds the key for a digest's bytes (must be 32 bytes).
    init<Digest: Sequence>(digest: Digest) throws where Digest.Element == UInt8 {
        try self.init(Self.hex(digest))
    }

    /// Lower-case hex of `bytes`.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        S3Signer.hex(bytes)
    }

    /// Whether `text` is 64 lowercase hex digits.
    public static func isValid(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == 64 else { return false }
        return utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// The fan-out directory name: the first two hex digits.
    public var prefix: String { String(hex.prefix(2)) }

    /// The file name inside the fan-out directory: the remaining 62 hex digits.
    public var remainder: String { String(hex.dropFirst(2)) }

    /// The path relative to the store's root: `objects/ab/cdef…`.
    public var relativePath: String { "objects/\(prefix)/\(remainder)" }

    public var description: String { hex }

    public static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool { lhs.hex < rhs.hex }
}
