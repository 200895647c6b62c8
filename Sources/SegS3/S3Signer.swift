import Crypto
import Foundation

/// An access key pair for an S3-compatible store.
public struct S3Credentials: Sendable, Equatable {
    /// The access key id (sent in every request's `Authorization`).
    public var accessKeyID: String
    /// The secret key (never sent; it only signs).
    public var secretAccessKey: String

    /// A key pair.
    public init(accessKeyID: String, secretAccessKey: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
    }
}

/// AWS Signature Version 4 for S3 requests, in the `Authorization` header
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
///
/// The caller gives the request as it will be sent: the method, the path (not yet encoded: each segment is encoded here
/// as S3 wants, once, keeping `/`), the query items, the headers to sign (at least `host`) and the payload's SHA-256 in
/// hex (or `UNSIGNED-PAYLOAD`). `sign` returns the headers to add: `x-amz-date`, `x-amz-content-sha256` and
/// `authorization`.
public struct S3Signer: Sendable {
    /// The key pair.
    public var credentials: S3Credentials
    /// The region in the credential scope (`us-east-1` for most S3-compatible stores).
    public var region: String
    /// The service in the credential scope.
    public var service = "s3"

    /// The SHA-256 of an empty payload, in hex.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// A signer for `region`.
    public init(credentials: S3Credentials, region: String) {
        self.credentials = credentials
        self.region = region
    }

    /// The headers that sign the request: `x-amz-date`, `x-amz-content-sha256` (`payloadHash`) and `authorization`.
    public func sign(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String, date: Date
    ) -> [(String, String)] {
        let stamp = Self.timestamp(date)
        var signed = headers
        signed.append(("x-amz-date", stamp))
        signed.append(("x-amz-content-sha256", payloadHash))
        let canonical = canonicalRequest(method: method, path: path, query: query, headers: signed, payloadHash: payloadHash)
        let scope = "\(stamp.prefix(8))/\(region)/\(service)/aws4_request"
        let toSign = stringToSign(canonicalRequest: canonical.text, timestamp: stamp, scope: scope)
        let signature = Self.hex(Self.hmac(signingKey(day: String(stamp.prefix(8))), Array(toSign.utf8)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope),SignedHeaders=\(canonical.signedHeaders),Signature=\(signature)"
        return [("x-amz-date", stamp), ("x-amz-content-sha256", payloadHash), ("authorization", authorization)]
    }

    /// The canonical request and its `SignedHeaders` list: method, encoded path, sorted encoded query, the headers
    /// lower-cased, trimmed, sorted (repeated ones joined by commas), and the payload hash.
    public func canonicalRequest(
        method: String, path: String, query: [(String, String)], headers: [(String, String)], payloadHash: String
    ) -> (text: String, signedHeaders: String) {
        var grouped: [String: [String]] = [:]
        for (name, value) in headers {
            grouped[name.lowercased(), default: []].append(Self.trimmed(value))
        }
        let names = grouped.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(grouped[$0, default: []].joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let text = [
            method, Self.encodedPath(path), Self.canonicalQuery(query), canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        return (text, signedHeaders)
    }

    /// `AWS4-HMAC-SHA256`, the timestamp, the scope and the canonical request's SHA-256, one per line.
    public func stringToSign(canonicalRequest: String, timestamp: String, scope: String) -> String {
        "AWS4-HMAC-SHA256\n\(timestamp)\n\(scope)\n\(Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8))))"
    }

    /// The key of one day's signatures: HMACs of the day, region, service and `aws4_request`, from `AWS4` + secret.
    func signingKey(day: String) -> [UInt8] {
        let date = Self.hmac(Array("AWS4\(credentials.secretAccessKey)".utf8), Array(day.utf8))
        let region = Self.hmac(date, Array(self.region.utf8))
        let service = Self.hmac(region, Array(self.service.utf8))
        return Self.hmac(service, Array("aws4_request".utf8))
    }

    // MARK: - Encoding

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters (`A-Z a-z 0-9 - . _ ~`), and of `/`
    /// too unless `keepingSlashes`.
    public static func percentEncoded(_ text: String, keepingSlashes: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlashes:
                out.append("/")
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// The path as sent and signed: each segment encoded once (S3 does not encode twice), `/` kept; empty is `/`.
    public static func encodedPath(_ path: String) -> String {
        path.isEmpty ? "/" : percentEncoded(path, keepingSlashes: true)
    }

    /// The query as sent and signed: names and values encoded, sorted by name then value, `name=value` joined by `&`.
    public static func canonicalQuery(_ query: [(String, String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (percentEncoded($0.0), percentEncoded($0.1)) }
        let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
        return sorted.map { item -> String in item.name + "=" + item.value }.joined(separator: "&")
    }

    /// A header value with its ends trimmed and inner runs of spaces made one.
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    /// Lower-case hex of `bytes`.
    public static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

extension S3Credentials: CustomStringConvertible, CustomDebugStringConvertible {
    /// The access key id; never the secret.
    public var description: String { "S3Credentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>)" }
    public var debugDescription: String { description }
}
