import NIOCore
import PostgresNIO

/// Object keys are stored as their bare hex digits in `text` columns; reading anything else fails.
extension ObjectKey: PostgresNonThrowingEncodable, PostgresDecodable {
    /// Bound as `text`.
    public static var psqlType: PostgresDataType { .text }
    /// In the binary wire format.
    public static var psqlFormat: PostgresFormat { .binary }

    /// Writes the value for a bind parameter.
    public func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeString(hex)
    }

    /// Reads a column value; fails on any other column type or a malformed value.
    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        let text = try String(from: &buffer, type: type, format: format, context: context)
        guard Self.isValid(text) else { throw PostgresDecodingError.Code.failure }
        self.hex = text
    }
}
