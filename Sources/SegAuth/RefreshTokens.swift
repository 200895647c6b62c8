import Crypto
import Foundation

/// Opaque refresh tokens: 32 random bytes in base64url for the client, only their SHA-256 in the database.
///
/// They are not JWTs, so one can never pass for an access token.
public enum RefreshTokens {
    /// A new token and the hash to store.
    public static func make() -> (token: String, hash: [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let token = "rt_" + base64URL(bytes)
        return (token, hash(token))
    }

    /// The stored form of a token a client presented.
    public static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(token.utf8)))
    }

    /// Whether `token` has the shape `make()` produces (a cheap check before any database work).
    public static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 46 && token.hasPrefix("rt_")
            && token.utf8.dropFirst(3).allSatisfy { isBase64URL($0) }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D
            || byte == 0x5F
    }
}
