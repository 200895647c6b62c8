import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A streaming `multipart/form-data` parser (RFC 7578 on RFC 2046 section 5.1).
///
/// It is fed the body chunk by chunk and reports each part's header block, its body bytes and its end. Body bytes are
/// found by searching for the delimiter (`CRLF--boundary`) with `memchr` and `memcmp` over the whole buffered chunk, so
/// the cost per byte is a fraction of a byte-at-a-time state machine's (see docs/benchmarks.md, "Uploads"). Memory stays
/// bounded: besides the chunk being parsed, at most a delimiter's length of body bytes, one header block
/// (`maxHeaderBytes`) or the unread part of a boundary line is kept.
///
/// Malformed input (a header line without a colon, a header block or preamble over its limit, text after a boundary
/// other than transport padding) throws `MultipartStreamParser.Malformed`, whose description is safe to show a client.
struct MultipartStreamParser {
    /// What the parser found in a chunk.
    enum Event {
        /// A part begins; its header fields in order (names as sent, values trimmed, folded lines joined).
        case part(headers: [(name: String, value: String)])
        /// Bytes of the current part's body (a slice of the parser's buffer: copy or consume it before the next `feed`).
        case body(ByteBuffer)
        /// The current part's body is complete.
        case partEnd
    }

    /// The body does not follow the multipart syntax; `reason` says how, without echoing the input.
    struct Malformed: Error, CustomStringConvertible {
        /// What is wrong.
        var reason: String
        var description: String { reason }
    }

    /// The longest header block of one part.
    static let maxHeaderBytes = 16 * 1024
    /// The longest preamble (text before the first boundary); clients send none.
    static let maxPreambleBytes = 64 * 1024
    /// The longest transport padding after a boundary.
    static let maxPaddingBytes = 256

    private enum State {
        case preamble
        case afterBoundary
        case headers
        case body
        case epilogue
    }

    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let blankLine: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]

    /// `CRLF--boundary`: what ends a body (RFC 2046: the CRLF before the boundary belongs to it).
    private let delimiter: [UInt8]
    private var buffer: ByteBuffer
    private var state = State.preamble
    private var preambleBytes = 0

    /// A parser for parts separated by `boundary` (from the `Content-Type`'s parameter, already validated).
    init(boundary: String) {
        delimiter = Array("\r\n--\(boundary)".utf8)
        // A body normally starts with the boundary itself: a CRLF in front lets one search find the first and the rest.
        buffer = ByteBuffer(bytes: Self.crlf)
    }

    /// Whether the closing boundary (`--boundary--`) was read: anything after it is ignored.
    var isComplete: Bool {
        if case .epilogue = state { return true }
        return false
    }

    /// Whether the body so far ends inside a part (its headers or body).
    var isInsidePart: Bool {
        switch state {
        case .headers, .body: return true
        case .preamble, .afterBoundary, .epilogue: return false
        }
    }

    /// Parses `chunk`, appending what it completes to `events`.
    mutating func feed(_ chunk: ByteBuffer, into events: inout [Event]) throws(Malformed) {
        if case .epilogue = state { return }
        var chunk = chunk
        buffer.writeBuffer(&chunk)
        while try step(&events) {}
        // Whatever is left is short (a possible delimiter start or an incomplete header block): move it to the front.
        buffer.discardReadBytes()
    }

    /// One step of the state machine; `false` when it needs more input.
    private mutating func step(_ events: inout [Event]) throws(Malformed) -> Bool {
        switch state {
        case .preamble, .body:
            let inBody: Bool
            if case .body = state { inBody = true } else { inBody = false }
            if let found = Self.firstIndex(of: delimiter, in: buffer) {
                if inBody {
                    if found > 0, let bytes = buffer.readSlice(length: found) { events.append(.body(bytes)) }
                    events.append(.partEnd)
                } else {
                    try countPreamble(found)
                    buffer.moveReaderIndex(forwardBy: found)
                }
                buffer.moveReaderIndex(forwardBy: delimiter.count)
                state = .afterBoundary
                return true
            }
            // Keep what could be the start of a delimiter cut by the chunk's end; the rest is body (or preamble).
            let safe = buffer.readableBytes - (delimiter.count - 1)
            guard safe > 0 else { return false }
            if inBody {
                if let bytes = buffer.readSlice(length: safe) { events.append(.body(bytes)) }
            } else {
                try countPreamble(safe)
                buffer.moveReaderIndex(forwardBy: safe)
            }
            return false

        case .afterBoundary:
            // `--` closes the body; otherwise optional spaces or tabs (transport padding), then CRLF and a part.
            guard buffer.readableBytes >= 2 else { return false }
            if buffer.readableBytesView.starts(with: [0x2D, 0x2D]) {
                state = .epilogue
                buffer.clear()
                return false
            }
            guard let lineEnd = Self.firstIndex(of: Self.crlf, in: buffer) else {
                guard buffer.readableBytes <= Self.maxPaddingBytes else { throw Malformed(reason: "a boundary is followed by text") }
                return false
            }
            guard buffer.readableBytesView.prefix(lineEnd).allSatisfy({ $0 == 0x20 || $0 == 0x09 }) else {
                throw Malformed(reason: "a boundary is followed by text")
            }
            buffer.moveReaderIndex(forwardBy: lineEnd + 2)
            state = .headers
            return true

        case .headers:
            // A part without header fields has its blank line right away.
            guard buffer.readableBytes >= 2 else { return false }
            let headers: [(name: String, value: String)]
            if buffer.readableBytesView.starts(with: Self.crlf) {
                headers = []
                buffer.moveReaderIndex(forwardBy: 2)
            } else if let end = Self.firstIndex(of: Self.blankLine, in: buffer) {
                guard end <= Self.maxHeaderBytes else { throw Malformed(reason: "a part's header block is too long") }
                let text = buffer.readString(length: end) ?? ""
                buffer.moveReaderIndex(forwardBy: 4)
                headers = try Self.headerFields(text)
            } else {
                guard buffer.readableBytes <= Self.maxHeaderBytes else {
                    throw Malformed(reason: "a part's header block is too long")
                }
                return false
            }
            events.append(.part(headers: headers))
            state = .body
            return true

        case .epilogue:
            buffer.clear()
            return false
        }
    }

    private mutating func countPreamble(_ bytes: Int) throws(Malformed) {
        preambleBytes += bytes
        // The CRLF put in front by `init` is not the client's.
        guard preambleBytes <= Self.maxPreambleBytes + 2 else { throw Malformed(reason: "the text before the first part is too long") }
    }

    /// Header fields of one block: `name: value` lines, continuation lines (starting with a space or tab) joined.
    private static func headerFields(_ text: String) throws(Malformed) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t" {
                guard !fields.isEmpty else { throw Malformed(reason: "a part's header block starts with a continuation line") }
                fields[fields.count - 1].value += " " + line.trimmingSpaces
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw Malformed(reason: "a part's header line has no colon") }
            let name = line[..<colon].trimmingSpaces
            guard !name.isEmpty else { throw Malformed(reason: "a part's header line has no name") }
            fields.append((name, line[line.index(after: colon)...].trimmingSpaces))
        }
        return fields
    }

    /// The offset of the first occurrence of `needle` (non-empty) in `buffer`'s readable bytes: `memchr` finds each
    /// candidate first byte, `memcmp` checks the rest.
    static func firstIndex(of needle: [UInt8], in buffer: ByteBuffer) -> Int? {
        buffer.withUnsafeReadableBytes { haystack -> Int? in
            guard let base = haystack.baseAddress, haystack.count >= needle.count, let head = needle.first else { return nil }
            return needle.withUnsafeBytes { pattern -> Int? in
                guard let patternBase = pattern.baseAddress else { return nil }
                let lastStart = haystack.count - needle.count
                var offset = 0
                while offset <= lastStart {
                    guard let hit = memchr(base + offset, Int32(head), lastStart - offset + 1) else { return nil }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, patternBase, needle.count) == 0 { return position }
                    offset = position + 1
                }
                return nil
            }
        }
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
