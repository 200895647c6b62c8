import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SegHTTP
import Testing

/// The web UI's static files and the cookie mode of `/api/v1/auth` (docs/web.md).
@Suite(.timeLimit(.minutes(5))) struct WebUITests {
    static let cookieMode: HTTPFields = [HTTPField.Name("X-Auth-Mode")!: "cookie"]

    /// The `Set-Cookie` header whose cookie is `name`.
    static func setCookie(_ response: TestResponse, _ name: String) -> String? {
        response.headers[values: .setCookie].first { $0.hasPrefix("\(name)=") }
    }

    /// The value of cookie `name` in a `Set-Cookie` header.
    static func cookieValue(_ response: TestResponse, _ name: String) -> String? {
        setCookie(response, name).map { String($0.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }

    /// Signs up in cookie mode; returns the three cookies' values.
    static func cookieSession(
        _ app: TestApp, email: String = "web-\(UUID().uuidString.prefix(8))@example.org"
    ) async throws -> (
        access: String, refresh: String, csrf: String
    ) {
        let response = try await app.request(
            .post, "/api/v1/auth/register", json: ["email": email, "password": "correct horse battery"], headers: cookieMode)
        try #require(response.status == .created, "\(String(buffer: response.body))")
        return (
            try #require(cookieValue(response, "seg_access")), try #require(cookieValue(response, "seg_refresh")),
            try #require(cookieValue(response, "seg_csrf"))
        )
    }

    static func cookies(_ pairs: [(String, String)], csrfHeader: String? = nil) -> HTTPFields {
        var fields = HTTPFields()
        fields[.cookie] = pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "; ")
        if let csrfHeader { fields[HTTPField.Name("X-CSRF-Token")!] = csrfHeader }
        fields[HTTPField.Name("X-Auth-Mode")!] = "cookie"
        return fields
    }

    // MARK: static files

    @Test func indexIsNoCacheWithAStrictPolicyAndHashedImmutableAssets() async throws {
        try await withTestApp { app in
            // MUT
            let index = try await app.request(.get, "/")
            let html = String(buffer: index.body)

            // validate: the page
            #expect(index.status == .ok)
            #expect(index.headers[.contentType] == "text/html; charset=utf-8")
            #expect(index.headers[.cacheControl] == "no-cache")
            let policy = try #require(index.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'"))
            #expect(policy.contains("default-src 'none'"))
            #expect(!policy.contains("unsafe-inline"))
            // RELIABILITY U7 on the page too
            for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
                #expect(policy.contains(directive), "\(directive)")
            }
            #expect(index.headers[.xContentTypeOptions] == "nosniff")
            #expect(!html.contains("{{assets}}"))
            // no inline script, no external origin
            #expect(html.range(of: #"<script(?![^>]*\bsrc=)"#, options: .regularExpression) == nil)
            #expect(!html.contains("http://") && !html.contains("https://"))
            let match = try #require(html.range(of: #"/assets/[0-9a-f]{16}/app\.js"#, options: .regularExpression))
            let script = String(html[match])
            let hash = script.split(separator: "/")[1]

            // the assets: immutable under the current hash, 404 under another or for an unknown name
            for (name, type) in [
                ("app.js", "text/javascript; charset=utf-8"), ("api.js", "text/javascript; charset=utf-8"),
                ("editor.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8"),
            ] {
                let asset = try await app.request(.get, "/assets/\(hash)/\(name)")
                #expect(asset.status == .ok, "\(name)")
                #expect(asset.headers[.contentType] == type, "\(name)")
                #expect(asset.headers[.cacheControl] == "public, max-age=31536000, immutable", "\(name)")
                #expect(asset.body.readableBytes > 100, "\(name)")
            }
            let stale = try await app.request(.get, "/assets/0000000000000000/app.js")
            #expect(stale.status == .notFound)
            #expect(stale.problemCode == "NOT_FOUND")
            let unknown = try await app.request(.get, "/assets/\(hash)/index.html")
            #expect(unknown.status == .notFound)
        }
    }

    // MARK: cookie mode

    @Test func cookieModeSetsHttpOnlyStrictCookiesAndNoTokensInTheBody() async throws {
        try await withTestApp { app in
            // setup
            let user = try await app.register()
            var overTLS = Self.cookieMode
            overTLS[HTTPField.Name("X-Forwarded-Proto")!] = "https"

            // MUT
            let plain = try await app.request(
                .post, "/api/v1/auth/login", json: ["email": user.email, "password": user.password], headers: Self.cookieMode)
            let secure = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": user.password], headers: overTLS)
            let bearer = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": user.password])

            // validate
            #expect(plain.status == .ok)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(plain.body.readableBytesView)) as? [String: Any])
            #expect(Set(body.keys) == ["user", "expiresIn"])
            let access = try #require(Self.setCookie(plain, "seg_access"))
            #expect(access.contains("HttpOnly") && access.contains("SameSite=Strict") && access.contains("Path=/"))
            #expect(!access.contains("Secure"))
            let refresh = try #require(Self.setCookie(plain, "seg_refresh"))
            #expect(refresh.contains("HttpOnly") && refresh.contains("SameSite=Strict") && refresh.contains("Path=/api/v1/auth"))
            let csrf = try #require(Self.setCookie(plain, "seg_csrf"))
            #expect(!csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"))
            for name in ["seg_access", "seg_refresh", "seg_csrf"] {
                #expect(Self.setCookie(secure, name)?.contains("Secure") == true, "\(name)")
            }
            // bearer mode is unchanged
            #expect(bearer.headers[values: .setCookie].isEmpty)
            _ = try bearer.decode(TestApp.Session.self)
            // wrong credentials: the same problem as in bearer mode
            let wrong = try await app.request(
                .post, "/api/v1/auth/login", json: ["email": user.email, "password": "wrong password!"], headers: Self.cookieMode)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.problemCode == "INVALID_CREDENTIALS")
            #expect(wrong.headers[values: .setCookie].isEmpty)
        }
    }

    @Test func theAccessCookieAuthenticatesAndWritesNeedTheCSRFToken() async throws {
        try await withTestApp { app in
            // setup
            let session = try await Self.cookieSession(app)
            let access = ("seg_access", session.access)
            let csrf = ("seg_csrf", session.csrf)

            // MUT + validate: a GET needs no CSRF token
            let me = try await app.request(.get, "/api/v1/auth/me", headers: Self.cookies([access]))
            #expect(me.status == .ok)
            // a write without the header, with a wrong one, or without the CSRF cookie is refused
            let cases: [HTTPFields] = [
                Self.cookies([access, csrf]), Self.cookies([access, csrf], csrfHeader: String(repeating: "A", count: 43)),
                Self.cookies([access], csrfHeader: session.csrf), Self.cookies([access, ("seg_csrf", "short")], csrfHeader: "short"),
            ]
            for headers in cases {
                let refused = try await app.request(.post, "/api/v1/projects", json: ["name": "p"], headers: headers)
                #expect(refused.status == .forbidden)
                #expect(refused.problemCode == "CSRF_FAILED")
            }
            let created = try await app.request(
                .post, "/api/v1/projects", json: ["name": "p"], headers: Self.cookies([access, csrf], csrfHeader: session.csrf))
            #expect(created.status == .created)
            // a bad cookie is a 401 like a bad bearer token; a bearer header wins over the cookie
            let forged = try await app.request(.get, "/api/v1/auth/me", headers: Self.cookies([("seg_access", "not.a.jwt")]))
            #expect(forged.status == .unauthorized)
            var both = Self.cookies([("seg_access", "not.a.jwt")])
            both[.authorization] = "Bearer \(session.access)"
            #expect(try await app.request(.get, "/api/v1/auth/me", headers: both).status == .ok)
        }
    }

    @Test func cookieRefreshRotatesAndLogoutRevokesAndClears() async throws {
        try await withTestApp { app in
            // setup
            let session = try await Self.cookieSession(app)
            let csrf = ("seg_csrf", session.csrf)

            // MUT: refresh without the CSRF header, then with it
            let unchecked = try await app.request(.post, "/api/v1/auth/refresh", headers: Self.cookies([("seg_refresh", session.refresh), csrf]))
            let refreshed = try await app.request(
                .post, "/api/v1/auth/refresh", headers: Self.cookies([("seg_refresh", session.refresh), csrf], csrfHeader: session.csrf))

            // validate
            #expect(unchecked.status == .forbidden)
            #expect(unchecked.problemCode == "CSRF_FAILED")
            #expect(refreshed.status == .ok, "\(String(buffer: refreshed.body))")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(refreshed.body.readableBytesView)) as? [String: Any])
            #expect(Set(body.keys) == ["expiresIn"])
            let newRefresh = try #require(Self.cookieValue(refreshed, "seg_refresh"))
            let newAccess = try #require(Self.cookieValue(refreshed, "seg_access"))
            #expect(newRefresh != session.refresh)
            #expect(Self.cookieValue(refreshed, "seg_csrf") == session.csrf, "a refresh keeps the page's CSRF token")
            #expect(try await app.request(.get, "/api/v1/auth/me", headers: Self.cookies([("seg_access", newAccess)])).status == .ok)

            // logout revokes the family and expires the cookies
            let logout = try await app.request(
                .post, "/api/v1/auth/logout", headers: Self.cookies([("seg_refresh", newRefresh), csrf], csrfHeader: session.csrf))
            #expect(logout.status == .noContent)
            for name in ["seg_access", "seg_refresh", "seg_csrf"] {
                #expect(Self.setCookie(logout, name)?.contains("Max-Age=0") == true, "\(name)")
            }
            let after = try await app.request(
                .post, "/api/v1/auth/refresh", headers: Self.cookies([("seg_refresh", newRefresh), csrf], csrfHeader: session.csrf))
            #expect(after.status == .unauthorized)
            let none = try await app.request(.post, "/api/v1/auth/refresh", headers: Self.cookies([csrf], csrfHeader: session.csrf))
            #expect(none.status == .unauthorized)
        }
    }

    @Test func theEventSocketAuthenticatesWithTheAccessCookieFromTheOwnOrigin() async throws {
        try await withLiveTestApp { app, port in
            // setup
            let session = try await Self.cookieSession(app)
            var headers = HTTPFields()
            headers[.origin] = "http://localhost:\(port)"
            headers[.cookie] = "seg_access=\(session.access)"
            let socket = TestEventSocket(port: port, headers: headers)

            // MUT: no auth message is sent
            let first = try await socket.next()

            // validate
            #expect(first["type"] as? String == "ready")
            await socket.close()
        }
    }
}
