import Foundation
import HTTPTypes
import Hummingbird

/// Cookie mode of `/api/v1/auth/*` for the web UI (docs/web.md).
///
/// A request with `X-Auth-Mode: cookie` to register, login or refresh gets its tokens as cookies instead of in the
/// body: the access token in `seg_access` (HttpOnly, path `/`), the refresh token in `seg_refresh` (HttpOnly, path
/// `/api/v1/auth`), and a random `seg_csrf` that page scripts can read. All are `SameSite=Strict`, and `Secure` when
/// the request came over TLS through the proxy (`X-Forwarded-Proto: https`). Requests authenticated by the cookie that
/// change state must echo `seg_csrf` in `X-CSRF-Token` (double-submit), or they get 403 `CSRF_FAILED`.
enum WebSession {
    static let accessCookie = "seg_access"
    static let refreshCookie = "seg_refresh"
    static let csrfCookie = "seg_csrf"
    static let modeHeader = HTTPField.Name("X-Auth-Mode")!
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let refreshPath = "/api/v1/auth"

    /// Whether the request asks for cookie mode.
    static func wantsCookies(_ request: Request) -> Bool {
        request.headers[modeHeader]?.lowercased() == "cookie"
    }

    /// Whether cookies set for this request should carry `Secure`: the client spoke TLS to the proxy (segserver itself
    /// serves plain HTTP).
    static func isSecure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// A new CSRF token: 32 random bytes, base64url.
    static func makeCSRFToken() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Sets the three session cookies on `response`.
    static func setCookies(
        on response: inout Response, request: Request, accessToken: String, accessLifetime: Int, refreshToken: String, refreshLifetime: Int
    ) {
        let secure = isSecure(request)
        response.setCookie(
            Cookie(name: accessCookie, value: accessToken, maxAge: accessLifetime, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
        response.setCookie(
            Cookie(
                name: refreshCookie, value: refreshToken, maxAge: refreshLifetime, path: refreshPath, secure: secure, httpOnly: true,
                sameSite: .strict))
        // The CSRF cookie lives as long as the refresh token; a refresh keeps the one the page already holds.
        let csrf = request.cookies[csrfCookie]?.value ?? ""
        response.setCookie(
            Cookie(
                name: csrfCookie, value: isWellFormedCSRF(csrf) ? csrf : makeCSRFToken(), maxAge: refreshLifetime, path: "/", secure: secure,
                httpOnly: false, sameSite: .strict))
    }

    /// Expires the three session cookies (logout).
    static func clearCookies(on response: inout Response, request: Request) {
        let secure = isSecure(request)
        for (name, path, httpOnly) in [(accessCookie, "/", true), (refreshCookie, refreshPath, true), (csrfCookie, "/", false)] {
            response.setCookie(Cookie(name: name, value: "", maxAge: 0, path: path, secure: secure, httpOnly: httpOnly, sameSite: .strict))
        }
    }

    static func isWellFormedCSRF(_ token: String) -> Bool {
        token.utf8.count == 43 && token.utf8.allSatisfy { $0.isBase64URL }
    }

    /// Whether `method` changes state (and so needs the CSRF header under cookie authentication).
    static func isUnsafe(_ method: HTTPRequest.Method) -> Bool {
        !(method == .get || method == .head || method == .options)
    }

    /// Checks the double-submit token of a cookie-authenticated, state-changing request.
    /// - Throws: 403 `CSRF_FAILED` when `X-CSRF-Token` is missing or differs from the `seg_csrf` cookie.
    static func checkCSRF(_ request: Request) throws {
        guard isUnsafe(request.method) else { return }
        guard let cookie = request.cookies[csrfCookie]?.value, isWellFormedCSRF(cookie), let header = request.headers[csrfHeader],
            constantTimeEquals(Array(header.utf8), Array(cookie.utf8))
        else {
            throw Problem(.forbidden, code: "CSRF_FAILED", detail: "send the seg_csrf cookie's value in an X-CSRF-Token header")
        }
    }

    private static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension UInt8 {
    fileprivate var isBase64URL: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || self == UInt8(ascii: "-") || self == UInt8(ascii: "_")
    }
}
