import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import SegHTTP

@Suite(.timeLimit(.minutes(5))) struct MiddlewareTests {
    @Test func authBucketRefusesWithRetryAfterAndForwardedForCannotDodgeIt() async throws {
        try await withTestApp(environment: ["SEG_RATE_AUTH": "3:1/min"]) { app in
            var statuses: [HTTPResponse.Status] = []
            var last: TestResponse?
            for index in 0..<5 {
                // an untrusted client picking a new X-Forwarded-For each time still shares its bucket
                var headers = HTTPFields()
                headers[HTTPField.Name("X-Forwarded-For")!] = "203.0.113.\(index)"
                let response = try await app.request(
                    .post, "/api/v1/auth/login", json: ["email": "x@example.org", "password": "whatever pw"], headers: headers)
                statuses.append(response.status)
                last = response
            }
            #expect(statuses.prefix(3).allSatisfy { $0 == .unauthorized })
            #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
            let limited = try #require(last)
            #expect(limited.problemCode == "RATE_LIMITED")
            let retry = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retry))
            #expect(limited.headers[.xContentTypeOptions] == "nosniff")
            // the API bucket is separate
            #expect(try await app.request(.get, "/health").status == .ok)
        }
    }

    @Test func rateLimiterRefillsOverTime() {
        let clock = ManualClock()
        let limiter = RateLimiter(limit: RateLimit(capacity: 2, refillPerSecond: 0.5), now: { clock.now })
        #expect(limiter.take("a") == nil)
        #expect(limiter.take("a") == nil)
        #expect(limiter.take("a") == 2)
        #expect(limiter.take("b") == nil)
        clock.advance(by: .seconds(2))
        #expect(limiter.take("a") == nil)
        #expect(limiter.take("a") == 2)
    }

    /// On a real socket: the router test client can stall when a handler answers without reading the body it
    /// was handed, which is exactly what this refusal does.
    @Test func declaredOversizeBodyIs413BeforeReading() async throws {
        try await withLiveTestApp(environment: ["SEG_MAX_REQUEST_BYTES": "2048", "SEG_MAX_UPLOAD_BYTES": "1024"]) { _, port in
            let answer = try await RawHTTP.post(
                port: port, path: "/api/v1/auth/register", headers: ["Content-Type": "application/json"],
                body: [UInt8](repeating: UInt8(ascii: "a"), count: 4096))
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
            #expect(answer.contains("PAYLOAD_TOO_LARGE"))
        }
    }

    @Test func corsAnswersAllowedOriginsOnly() async throws {
        try await withTestApp(environment: ["SEG_CORS_ORIGINS": "https://lab.example.org"]) { app in
            var good = HTTPFields()
            good[.origin] = "https://lab.example.org"
            let allowed = try await app.request(.get, "/health", headers: good)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://lab.example.org")
            #expect(allowed.headers[.vary] == "Origin")

            var evil = HTTPFields()
            evil[.origin] = "https://evil.example"
            let refused = try await app.request(.get, "/health", headers: evil)
            #expect(refused.headers[.accessControlAllowOrigin] == nil)

            good[.accessControlRequestMethod] = "POST"
            let preflight = try await app.request(.options, "/api/v1/projects", headers: good)
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            evil[.accessControlRequestMethod] = "POST"
            let badPreflight = try await app.request(.options, "/api/v1/projects", headers: evil)
            #expect(badPreflight.status == .forbidden)
            #expect(badPreflight.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func largeJSONIsGzippedForClientsThatAskAndSmallIsNot() async throws {
        // setup: a router with the middleware and two JSON routes, 10 KB and tiny
        struct Big: ResponseEncodable { var items: [String] }
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: GzipMiddleware())
        router.get("/big") { _, _ in Big(items: Array(repeating: "spheroid", count: 1000)) }
        router.get("/small") { _, _ in Big(items: ["one"]) }
        let app = Application(router: router)

        try await app.test(.router) { client in
            var headers = HTTPFields()
            headers[.acceptEncoding] = "br, gzip;q=0.8"
            // MUT
            let zipped = try await client.execute(uri: "/big", method: .get, headers: headers)
            let plain = try await client.execute(uri: "/big", method: .get)
            let small = try await client.execute(uri: "/small", method: .get, headers: headers)

            // validate: gzip magic, smaller, and the same JSON once inflated
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.body.readableBytes > 10_000)
            #expect(zipped.headers[.contentEncoding] == "gzip")
            #expect(zipped.headers[.vary]?.contains("Accept-Encoding") == true)
            #expect(zipped.body.getBytes(at: 0, length: 2) == [0x1f, 0x8b])
            #expect(zipped.body.readableBytes < plain.body.readableBytes / 10)
            var compressed = zipped.body
            let inflated = try compressed.decompress(with: .gzip())
            #expect(inflated == plain.body)
            #expect(small.headers[.contentEncoding] == nil)
        }
        #expect(!GzipMiddleware.acceptsGzip(["gzip;q=0"]))
        #expect(GzipMiddleware.acceptsGzip(["deflate, GZIP"]))
        #expect(!GzipMiddleware.acceptsGzip(["br"]))
    }

    @Test func requestIDIsEchoedOrCreated() async throws {
        try await withTestApp { app in
            var headers = HTTPFields()
            let name = HTTPField.Name("X-Request-Id")!
            headers[name] = "abc-123"
            #expect(try await app.request(.get, "/health", headers: headers).headers[name] == "abc-123")
            headers[name] = "bad id with spaces"
            let generated = try await app.request(.get, "/health", headers: headers).headers[name]
            #expect(generated != nil && generated != "bad id with spaces")
        }
    }
    /// Clients that ask before sending a body (curl, for bodies over 1 KiB) are told to go on at once, unless the
    /// declared body is over the limit: then the final 413 comes without the body ever being sent.
    @Test func expectContinueIsAnsweredUnlessTheBodyIsTooLarge() async throws {
        try await withLiveTestApp(environment: ["SEG_MAX_REQUEST_BYTES": "4096", "SEG_MAX_UPLOAD_BYTES": "2048"]) { _, port in
            let body = Array(#"{"email": "expect@example.org", "password": "long enough password"}"#.utf8)
            let accepted = try await RawHTTP.postExpectingContinue(
                port: port, path: "/api/v1/auth/register", headers: ["Content-Type": "application/json"], body: body)
            #expect(accepted.interim.hasPrefix("HTTP/1.1 100 Continue"))
            #expect(accepted.answer.hasPrefix("HTTP/1.1 201"))

            let refused = try await RawHTTP.postExpectingContinue(
                port: port, path: "/api/v1/auth/register", headers: ["Content-Type": "application/json"],
                body: [UInt8](repeating: 0x20, count: 5000))
            #expect(refused.interim == "")
            #expect(refused.answer.hasPrefix("HTTP/1.1 413"))
        }
    }
}

/// A clock the test moves.
final class ManualClock: Sendable {
    private let state = Mutex(ContinuousClock.now)
    var now: ContinuousClock.Instant { state.withLock { $0 } }
    func advance(by duration: Duration) { state.withLock { $0 = $0.advanced(by: duration) } }

}
