import Foundation
import Testing

@testable import SegHTTP

/// Connections a client opens and does not use: closed after `SEG_HTTP_HEADER_TIMEOUT` (before the first request's
/// headers are complete) or `SEG_HTTP_IDLE_TIMEOUT` (between requests), and no more than `SEG_HTTP_MAX_CONNECTIONS` at
/// once (against a live server on a real socket).
@Suite(.timeLimit(.minutes(5))) struct ConnectionLimitsTests {
    static let health = Array("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)

    /// Sends `GET /health` on `descriptor` and reads until the answer's end of headers or the connection's end.
    static func askHealth(_ descriptor: Int32) -> String {
        RawHTTP.send(health, to: descriptor)
        return RawHTTP.receive(from: descriptor) { $0.contains("\r\n\r\n") }
    }

    @Test func aConnectionThatNeverFinishesItsHeadersIsClosed() async throws {
        try await withLiveTestApp(environment: ["SEG_HTTP_HEADER_TIMEOUT": "1"]) { _, port in
            let outcome = try await RawHTTP.onOwnThread { () -> (String, Int32, Double) in
                let descriptor = try RawHTTP.connect(port: port)
                defer { close(descriptor) }
                let started = Date()
                // MUT: half a request, then silence
                RawHTTP.send(Array("GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".utf8), to: descriptor)
                var byte: UInt8 = 0
                let count = recv(descriptor, &byte, 1, 0)
                return ("", Int32(count), Date().timeIntervalSince(started))
            }
            // validate: the server closed it (0), rather than the 60-second receive guard running out (−1)
            #expect(outcome.1 == 0, "recv gave \(outcome.1) after \(outcome.2) s")
        }
    }

    @Test func anIdleKeptAliveConnectionIsClosedAfterItsAnswer() async throws {
        try await withLiveTestApp(environment: ["SEG_HTTP_IDLE_TIMEOUT": "1"]) { _, port in
            let (answer, rest) = try await RawHTTP.onOwnThread { () -> (String, Int) in
                let descriptor = try RawHTTP.connect(port: port)
                defer { close(descriptor) }
                let answer = Self.askHealth(descriptor)
                // MUT: keep the connection open without another request
                var buffer = [UInt8](repeating: 0, count: 4096)
                var count = 0
                repeat {
                    count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
                } while count > 0
                return (answer, count)
            }
            #expect(answer.hasPrefix("HTTP/1.1 200"))
            #expect(rest == 0, "the connection was not closed by the server")
        }
    }

    @Test func connectionsBeyondTheCapAreClosedAndFreedPlacesAreReused() async throws {
        try await withLiveTestApp(environment: ["SEG_HTTP_MAX_CONNECTIONS": "3"]) { _, port in
            let (answers, later) = try await RawHTTP.onOwnThread { () -> ([String], String) in
                // MUT: five connections kept open at once (the test harness may hold one of the three places itself)
                var open: [Int32] = []
                var answers: [String] = []
                for _ in 0..<5 {
                    let descriptor = try RawHTTP.connect(port: port)
                    open.append(descriptor)
                    answers.append(Self.askHealth(descriptor))
                }
                // Once they close, a new connection is served (the server notices a close a moment later: a few tries).
                for descriptor in open { close(descriptor) }
                var later = ""
                for _ in 0..<50 where !later.hasPrefix("HTTP/1.1 200") {
                    let next = try RawHTTP.connect(port: port)
                    later = Self.askHealth(next)
                    close(next)
                    if !later.hasPrefix("HTTP/1.1 200") { usleep(100_000) }
                }
                return (answers, later)
            }
            // validate: the first ones are served, and from the first refused on, every one is closed unanswered
            let served = answers.prefix { $0.hasPrefix("HTTP/1.1 200") }.count
            #expect((1...3).contains(served), "\(answers.map { $0.prefix(12) })")
            let unanswered = answers.dropFirst(served).allSatisfy { $0.isEmpty }
            #expect(unanswered, "\(answers.map { $0.prefix(12) })")
            #expect(later.hasPrefix("HTTP/1.1 200"))
        }
    }
}
