import NIOCore
import Testing

@testable import SegHTTP

/// The multipart parser on its own: syntax of RFC 2046 section 5.1 (preamble, padding, epilogue, folded headers) and the
/// malformed bodies it refuses.
@Suite struct MultipartStreamParserTests {
    /// A part as the tests see it: its header fields and its body.
    struct Part: Equatable {
        var headers: [String]
        var body: [UInt8]
    }

    /// Parses `text` cut into chunks of `chunkSize` bytes.
    static func parse(_ text: String, boundary: String = "b0undary", chunkSize: Int = .max) throws -> (parts: [Part], complete: Bool) {
        try parse(Array(text.utf8), boundary: boundary, chunkSize: chunkSize)
    }

    static func parse(
        _ bytes: [UInt8], boundary: String = "b0undary", chunkSize: Int = .max
    ) throws -> (
        parts: [Part], complete: Bool
    ) {
        var parser = MultipartStreamParser(boundary: boundary)
        var parts: [Part] = []
        var ended = true
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + max(1, min(chunkSize, bytes.count)))
            var events: [MultipartStreamParser.Event] = []
            try parser.feed(ByteBuffer(bytes: bytes[offset..<end]), into: &events)
            for event in events {
                switch event {
                case .part(let headers):
                    #expect(ended, "a part began before the previous one ended")
                    ended = false
                    parts.append(Part(headers: headers.map { "\($0.name)=\($0.value)" }, body: []))
                case .body(let buffer):
                    parts[parts.count - 1].body += buffer.readableBytesView
                case .partEnd:
                    ended = true
                }
            }
            offset = end
        } while offset < bytes.count
        return (parts, parser.isComplete)
    }

    @Test(arguments: [1, 3, 11, Int.max])
    func preamblePaddingFoldedHeadersAndEpilogue(chunkSize: Int) throws {
        // The example of RFC 2046 section 5.1.1, with transport padding after a boundary and a folded header line.
        let body =
            "This is the preamble.  It is to be ignored.\r\n"
            + "--b0undary \t\r\n"
            + "Content-Disposition: form-data;\r\n name=\"a\"\r\n"
            + "\r\n"
            + "first\r\nline\r\n"
            + "--b0undary\r\n"
            + "\r\n"
            + "no headers\r\n"
            + "--b0undary--\r\n"
            + "This is the epilogue.  It is also to be ignored.\r\n--b0undary\r\n"
        let (parts, complete) = try Self.parse(body, chunkSize: chunkSize)
        #expect(complete)
        #expect(
            parts == [
                Part(headers: ["Content-Disposition=form-data; name=\"a\""], body: Array("first\r\nline".utf8)),
                Part(headers: [], body: Array("no headers".utf8)),
            ])
    }

    @Test func bodyStartingWithTheBoundaryAndEmptyParts() throws {
        let (parts, complete) = try Self.parse("--b0undary\r\nA: 1\r\n\r\n\r\n--b0undary\r\nB:2\r\n\r\n\r\n--b0undary--")
        #expect(complete)
        #expect(parts == [Part(headers: ["A=1"], body: []), Part(headers: ["B=2"], body: [])])
    }

    /// Bytes that resemble the delimiter without being it stay in the body, whatever the chunking.
    @Test(arguments: [1, 2, 5, 13, Int.max])
    func nearDelimitersAreBodyBytes(chunkSize: Int) throws {
        let tricky: [UInt8] = Array("\r\n--b0undar\r\r\n--b0undarx\r\n-\r\n--b0\r".utf8) + [0, 0x0D, 0xFF, 0x0A]
        let body = Array("--b0undary\r\nX: y\r\n\r\n".utf8) + tricky + Array("\r\n--b0undary--".utf8)
        let (parts, complete) = try Self.parse(body, chunkSize: chunkSize)
        #expect(complete)
        #expect(parts == [Part(headers: ["X=y"], body: tricky)])
    }

    @Test func incompleteBodiesAreNotComplete() throws {
        #expect(try Self.parse("--b0undary\r\nX: y\r\n\r\nhalf a bo").complete == false)
        #expect(try Self.parse("--b0undary\r\nX: y\r\n").complete == false)
        #expect(try Self.parse("only a preamble").complete == false)
        #expect(try Self.parse("").complete == false)
        // The CRLF before a boundary belongs to the delimiter: without it, the boundary is body text.
        #expect(try Self.parse("--b0undary\r\nB: 2\r\n\r\n--b0undary--").complete == false)
    }

    @Test func malformedBodiesAreRefused() {
        let malformed = [
            // a header line without a colon
            "--b0undary\r\nnot a header\r\n\r\nx\r\n--b0undary--",
            // a header block starting with a continuation line
            "--b0undary\r\n folded: x\r\n\r\nx\r\n--b0undary--",
            // a boundary followed by text (a longer boundary than the declared one)
            "--b0undary\r\nA: 1\r\n\r\nx\r\n--b0undaryX\r\n\r\n--b0undary--",
            // a header line without a name
            "--b0undary\r\n: value\r\n\r\nx\r\n--b0undary--",
        ]
        for body in malformed {
            #expect(throws: MultipartStreamParser.Malformed.self, "\(body.debugDescription)") { try Self.parse(body) }
        }
    }

    @Test func oversizedHeadersAndPreamblesAreRefusedWithoutEndlessBuffering() {
        let longHeader = "--b0undary\r\nX: " + String(repeating: "a", count: MultipartStreamParser.maxHeaderBytes) + "\r\n\r\n"
        #expect(throws: MultipartStreamParser.Malformed.self) { try Self.parse(longHeader, chunkSize: 1000) }
        // Without the blank line that would end it: refused as soon as it is longer than the limit.
        let endless = "--b0undary\r\nX: " + String(repeating: "a", count: MultipartStreamParser.maxHeaderBytes + 10)
        #expect(throws: MultipartStreamParser.Malformed.self) { try Self.parse(endless, chunkSize: 1000) }
        let preamble = String(repeating: "p", count: MultipartStreamParser.maxPreambleBytes + 1) + "\r\n--b0undary--"
        #expect(throws: MultipartStreamParser.Malformed.self) { try Self.parse(preamble, chunkSize: 4096) }
        let padding = "--b0undary" + String(repeating: " ", count: MultipartStreamParser.maxPaddingBytes + 1)
        #expect(throws: MultipartStreamParser.Malformed.self) { try Self.parse(padding) }
    }

    @Test func searchFindsTheFirstOccurrence() {
        let haystack = ByteBuffer(bytes: Array("aab\r\r\nab\r\n".utf8))
        #expect(MultipartStreamParser.firstIndex(of: Array("\r\n".utf8), in: haystack) == 4)
        #expect(MultipartStreamParser.firstIndex(of: Array("ab".utf8), in: haystack) == 1)
        #expect(MultipartStreamParser.firstIndex(of: Array("b\r\n".utf8), in: haystack) == 7)
        #expect(MultipartStreamParser.firstIndex(of: Array("abc".utf8), in: haystack) == nil)
        #expect(MultipartStreamParser.firstIndex(of: Array("aab\r\r\nab\r\n!".utf8), in: haystack) == nil)
    }
}
