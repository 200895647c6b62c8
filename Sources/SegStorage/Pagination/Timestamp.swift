import Foundation
import NIOCore
import PostgresNIO

/// A PostgreSQL `timestamptz` kept exactly, as microseconds since 2000-01-01 UTC (the server's own unit).
///
/// postgres-nio's `Date` coding truncates through `Double`, so a `Date` read from a row and written back can
/// differ by a microsecond. Keyset cursors compare against the stored value, so they carry this type instead.
public struct Timestamp: Hashable, Sendable, Comparable, PostgresNonThrowingEncodable, PostgresDecodable {
    /// Microseconds since 2000-01-01 00:00:00 UTC.
    public var microseconds: Int64

    /// Wraps a raw value.
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// The nearest timestamp to `date` (rounded to the microsecond).
    public init(_ date: Date) {
        let seconds = date.timeIntervalSince(Self.epoch)
        self.microseconds = Int64((seconds * 1_000_000).rounded())
    }

    /// The instant as a `Date` (exact to about a microsecond).
    public var date: Date {
        Date(timeInterval: Double(microseconds) / 1_000_000, since: Self.epoch)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    static let epoch = Date(timeIntervalSince1970: 946_684_800)

    public static var psqlType: PostgresDataType { .timestamptz }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<JSONEncoder: PostgresJSONEncoder>(
        into byteBuffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        byteBuffer.writeInteger(microseconds)
    }

    public init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer,
        type: PostgresDataType,
        format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz || type == .timestamp, format == .binary,
            buffer.readableBytes == 8, let value = buffer.readInteger(as: Int64.self)
        else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        self.microseconds = value
    }
}
