import HTTPTypes
import Hummingbird

/// CORS for the origins in `SEG_CORS_ORIGINS` only (RELIABILITY U8).
///
/// An allowed `Origin` is echoed with `Vary: Origin` and credentials allowed; any other origin gets no CORS
/// header at all, so browsers block its reads. Preflights (`OPTIONS` with `Access-Control-Request-Method`) from an
/// allowed origin are answered 204 here; from any other origin 403 `CORS_ORIGIN_NOT_ALLOWED`. Never `*`.
struct CORSAllowlistMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let origins: Set<String>

    static let allowMethods = "GET, POST, PUT, PATCH, DELETE"
    static let allowHeaders = "Authorization, Content-Type, X-Request-Id, X-CSRF-Token"
    static let exposeHeaders = "X-Request-Id, Retry-After, Content-Disposition"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        let allowed = origin.map { origins.contains($0) } ?? false
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed, let origin else {
                throw Problem(.forbidden, code: "CORS_ORIGIN_NOT_ALLOWED", detail: "this origin may not call the API")
            }
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = Self.allowMethods
            headers[.accessControlAllowHeaders] = Self.allowHeaders
            headers[.accessControlAllowCredentials] = "true"
            headers[.accessControlMaxAge] = "600"
            headers[.vary] = "Origin"
            return Response(status: .noContent, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        if allowed, let origin {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowCredentials] = "true"
            response.headers[.accessControlExposeHeaders] = Self.exposeHeaders
            response.headers[.vary] = "Origin"
        }
        return response
    }
}
