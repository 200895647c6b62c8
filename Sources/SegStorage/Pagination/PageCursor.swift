import Foundation

/// A keyset position in a list ordered by `(created_at, id)`: the last row of the previous page.
///
/// Sent to clients as an opaque base64url string. A cursor cannot be forged into anything but a position:
/// it decodes to a timestamp and a UUID or is rejected with `StorageError.invalidCursor`.
public struct PageCursor: Hashable, Sendable {
    /// The `created_at` (or other ordering time) of the last row already returned.
    public var timestamp: Timestamp
    /// The id of the last row already returned; breaks ties between equal timestamps.
    public var id: UUID

    /// A position after (or before, for descending lists) the row `(timestamp, id)`.
    public init(timestamp: Timestamp, id: UUID) {
        self.timestamp = timestamp
        self.id = id
    }

    /// Decodes a cursor a client sent back.
    /// - Throws: `StorageError.invalidCursor` when `encoded` is not one this type produced.
    public init(encoded: String) throws {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard encoded.utf8.count == 32, let data = Data(base64Encoded: base64), data.count == 24 else {
            throw StorageError.invalidCursor
        }
        let bytes = [UInt8](data)
        var micros: UInt64 = 0
        for byte in bytes[0..<8] { micros = micros << 8 | UInt64(byte) }
        let u = Array(bytes[8..<24])
        self.timestamp = Timestamp(microseconds: Int64(bitPattern: micros))
        self.id = UUID(uuid: (u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]))
    }

    /// The opaque form handed to clients: 32 base64url characters.
    public var encoded: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        let micros = UInt64(bitPattern: timestamp.microseconds)
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: micros >> UInt64(shift))) }
        withUnsafeBytes(of: id.uuid) { bytes.append(contentsOf: $0) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
