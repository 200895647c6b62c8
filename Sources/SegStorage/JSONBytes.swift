import NIOCore
import PostgresNIO

/// The UTF-8 text of a JSON document, bound to and read from a `jsonb` column without being parsed in Swift.
///
/// PostgreSQL validates and normalises the document (key order, whitespace); its meaning is kept exactly,
/// including numbers, which `jsonb` stores as decimals.
public struct JSONBytes: Hashable, Sendable, PostgresNonThrowingEncodable, PostgresDecodable {
    /// The document's UTF-8 bytes.
    public var bytes: [UInt8]

    /// Wraps the UTF-8 bytes of a JSON document.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The empty JSON object `{}`.
    public static let emptyObject = JSONBytes(Array("{}".utf8))

    /// The `jsonb` binary format's version byte.
    static let version: UInt8 = 1

    /// Bound as `jsonb`.
    public static var psqlType: PostgresDataType { .jsonb }
    /// In the binary wire format.
    public static var psqlFormat: PostgresFormat { .binary }

    /// Writes the value for a bind parameter.
    public func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeInteger(Self.version)
        byteBuffer.writeBytes(bytes)
    }

    /// Reads a column value; fails on any other column type or a malformed value.
    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        switch (format, type) {
        case (.binary, .jsonb):
            guard buffer.readInteger(as: UInt8.self) == Self.version else {
                throw PostgresDecodingError.Code.failure
            }
            self.bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        case (_, .json), (.text, .jsonb):
            self.bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        default:
            throw PostgresDecodingError.Code.typeMismatch
        }
    }
}
