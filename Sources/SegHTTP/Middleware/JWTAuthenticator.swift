import Foundation
import HTTPTypes
import Hummingbird
import SegAuth
import SegStorage

/// Requires `Authorization: Bearer <access JWT>` (or the web UI's `seg_access` cookie) and sets `context.identity`.
///
/// A request authenticated by the cookie that changes state must also carry the CSRF header (`WebSession.checkCSRF`);
/// a Bearer header always wins over the cookie.
///
/// The token and the account behind it are checked by `AppServices.authenticate(accessToken:)`, which the event
/// socket shares.
struct JWTAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext

    let services: AppServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            guard let cookie = request.cookies[WebSession.accessCookie]?.value, !cookie.isEmpty else { throw Problem.unauthorized() }
            try WebSession.checkCSRF(request)
            return try await next(request, try await authenticated(context, token: cookie))
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("use an Authorization: Bearer <access token> header", code: "INVALID_TOKEN")
        }
        return try await next(request, try await authenticated(context, token: String(parts[1])))
    }

    private func authenticated(_ context: Context, token: String) async throws -> Context {
        let (identity, _) = try await services.authenticate(accessToken: token, on: services.database(context.logger))
        var context = context
        context.identity = identity
        context.logger[metadataKey: "user.id"] = "\(identity.userID)"
        context.logFields.userID = identity.userID
        return context
    }
}
