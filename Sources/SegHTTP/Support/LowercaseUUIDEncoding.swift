import Foundation

// Ids in SegHub's JSON are lowercase (`3f2c…`), as PostgreSQL prints them, as the events carried by NOTIFY hold them
// and as RFC 9562 asks generators to write them; Foundation's `UUID` encodes itself in uppercase. These overloads are
// more specific than the generic `encode(_:forKey:)`, so every Codable conformance synthesised in SegHTTP (and every
// hand-written one that encodes a `UUID` by key) writes lowercase ids. Decoding accepts either case, as `UUID` does.
// Arrays of ids are not covered (the standard library encodes their elements itself): encode those as strings.

extension KeyedEncodingContainer {
    /// Encodes `value` as its lowercase string.
    mutating func encode(_ value: UUID, forKey key: Key) throws {
        try encode(value.uuidString.lowercased(), forKey: key)
    }

    /// Encodes `value` as its lowercase string, or `null`.
    mutating func encode(_ value: UUID?, forKey key: Key) throws {
        if let value {
            try encode(value.uuidString.lowercased(), forKey: key)
        } else {
            try encodeNil(forKey: key)
        }
    }

    /// Encodes `value` as its lowercase string; nothing when it is `nil`.
    mutating func encodeIfPresent(_ value: UUID?, forKey key: Key) throws {
        if let value { try encode(value.uuidString.lowercased(), forKey: key) }
    }
}
