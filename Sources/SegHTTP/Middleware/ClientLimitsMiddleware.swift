import HTTPTypes
import Hummingbird

/// Applies the per-client rate limits and the request-size limit.
///
/// The client's address comes from `RequestIDMiddleware` (`ClientAddress`). `/api/v1/auth/*` has its own,
/// stricter bucket. A `Content-Length` over `SEG_MAX_REQUEST_BYTES` is refused with 413 before the body is read.
struct ClientLimitsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let authLimiter: RateLimiter?
    let apiLimiter: RateLimiter?
    let maxRequestBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxRequestBytes {
            throw Problem(.contentTooLarge, code: "PAYLOAD_TOO_LARGE", detail: "the request body is larger than \(maxRequestBytes) bytes")
        }
        let path = request.uri.path
        if path.hasPrefix("/api/") {
            let isAuth = path.hasPrefix("/api/v1/auth/")
            if let limiter = isAuth ? authLimiter : apiLimiter {
                let key = (isAuth ? "auth " : "api ") + (context.clientAddress ?? "unknown")
                if let retryAfter = limiter.take(key) {
                    var headers = HTTPFields()
                    headers[.retryAfter] = String(retryAfter)
                    throw Problem(
                        .tooManyRequests, code: "RATE_LIMITED", detail: "too many requests; retry in \(retryAfter) s", headers: headers)
                }
            }
        }
        return try await next(request, context)
    }
}
