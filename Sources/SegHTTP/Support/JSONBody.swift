import Foundation
import Hummingbird
import NIOCore

/// How SegHub reads a JSON request body: at most the route's ``AppRequestContext/bodyLimit`` bytes (more is 413
/// `PAYLOAD_TOO_LARGE`), no control character in any string (400 `VALIDATION_FAILED` naming the field: PostgreSQL
/// refuses NUL in text, and no name, email or class needs the others), then decoded (a mismatch is 400 naming the
/// field). `request.decode(as:context:)` comes here through ``AppRequestContext/requestDecoder``.
enum JSONBody {
    /// Collects the body of `request` up to the route's limit and decodes it as `type`.
    static func decode<Body: Decodable>(_ type: Body.Type, from request: Request, context: AppRequestContext) async throws -> Body {
        try decode(type, from: try await collect(request, context: context))
    }

    /// The body of `request`, at most `context.bodyLimit` bytes.
    /// - Throws: 413 `PAYLOAD_TOO_LARGE` past the limit (without reading the rest when `Content-Length` says so).
    static func collect(_ request: Request, context: AppRequestContext) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > context.bodyLimit {
            throw tooLarge(context.bodyLimit)
        }
        do {
            return try await request.body.collect(upTo: context.bodyLimit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(context.bodyLimit)
        }
    }

    /// Decodes collected `bytes` as `type`.
    static func decode<Body: Decodable>(_ type: Body.Type, from bytes: ByteBuffer) throws -> Body {
        if let found = bytes.readableBytesView.withContiguousStorageIfAvailable({ controlCharacter(in: UnsafeRawBufferPointer($0)) })
            ?? Array(bytes.readableBytesView).withUnsafeBytes({ controlCharacter(in: $0) })
        {
            let scalar = "U+" + String(found.scalar, radix: 16, uppercase: true).leftPadded(to: 4)
            throw Problem.validation(
                "\(found.path) contains a control character (\(scalar))",
                errors: [.init(field: found.path, detail: "must not contain control characters (\(scalar))")])
        }
        do {
            return try JSONDecoder().decode(Body.self, from: Data(bytes.readableBytesView))
        } catch let error as DecodingError {
            throw Problem.validation(for: error)
        }
    }

    /// 413 `PAYLOAD_TOO_LARGE` for a body over `limit` bytes.
    static func tooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, code: "PAYLOAD_TOO_LARGE", detail: "the request body is larger than this route accepts (\(limit) bytes)")
    }

    /// Whether a string may not hold `scalar`: C0 controls other than tab, line feed and carriage return.
    static func isForbidden(_ scalar: UInt32) -> Bool {
        scalar < 0x20 && scalar != 0x09 && scalar != 0x0A && scalar != 0x0D
    }

    /// The path (`polygons[3].class`; `body` for a top-level string) and code point of the first forbidden control
    /// character in a string of the JSON text `bytes`, escaped (`\u0000`, `\b`, `\f`) or raw; `nil` when there is none.
    /// Malformed JSON is left to the decoder.
    static func controlCharacter(in bytes: UnsafeRawBufferPointer) -> (path: String, scalar: UInt32)? {
        enum Level {
            case object(key: String)
            case array(index: Int)
        }
        var levels: [Level] = []
        var expectingKey = false
        var i = 0
        let count = bytes.count
        while i < count {
            switch bytes[i] {
            case UInt8(ascii: "{"):
                levels.append(.object(key: ""))
                expectingKey = true
            case UInt8(ascii: "["):
                levels.append(.array(index: 0))
                expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = levels.popLast()
                expectingKey = false
            case UInt8(ascii: ","):
                if case .array(let index) = levels.last {
                    levels[levels.count - 1] = .array(index: index + 1)
                } else {
                    expectingKey = true
                }
            case UInt8(ascii: ":"):
                expectingKey = false
            case UInt8(ascii: "\""):
                let start = i + 1
                var j = start
                var found: UInt32?
                while j < count, bytes[j] != UInt8(ascii: "\"") {
                    let byte = bytes[j]
                    guard byte == UInt8(ascii: "\\"), j + 1 < count else {
                        if found == nil, isForbidden(UInt32(byte)) { found = UInt32(byte) }
                        j += 1
                        continue
                    }
                    switch bytes[j + 1] {
                    case UInt8(ascii: "u"):
                        if let scalar = hex4(bytes, at: j + 2) {
                            if found == nil, isForbidden(scalar) { found = scalar }
                            j += 6
                            continue
                        }
                    case UInt8(ascii: "b"): found = found ?? 0x08
                    case UInt8(ascii: "f"): found = found ?? 0x0C
                    default: break
                    }
                    j += 2
                }
                if expectingKey, case .object = levels.last {
                    let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<min(j, count)]), as: UTF8.self)
                    levels[levels.count - 1] = .object(key: key)
                    if let found { return (path(levels), found) }
                } else if let found {
                    return (path(levels), found)
                }
                i = j + 1
                continue
            default:
                break
            }
            i += 1
        }
        return nil

        func path(_ levels: [Level]) -> String {
            var text = ""
            for level in levels {
                switch level {
                case .object(let key): text += text.isEmpty ? key : ".\(key)"
                case .array(let index): text += "[\(index)]"
                }
            }
            return text.isEmpty ? "body" : text
        }
    }

    /// The four hex digits at `offset`, if there are four.
    private static func hex4(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt32? {
        guard offset + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for k in offset..<(offset + 4) {
            let c = bytes[k]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}

/// `request.decode(as:context:)` for SegHub's routes: ``JSONBody``.
public struct JSONBodyDecoder: RequestDecoder {
    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        guard let context = context as? AppRequestContext else {
            return try await JSONDecoder().decode(type, from: request, context: context)
        }
        return try await JSONBody.decode(type, from: request, context: context)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
