import Foundation
import HTTPTypes
import Hummingbird
import SegAuth
import SegStorage

/// Requires `Authorization: Bearer <access JWT>` and sets `context.identity`.
///
/// The token and the account behind it are checked by `AppServices.authenticate(accessToken:)`, which the event
/// socket shares.
struct JWTAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext

    let services: AppServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw Problem.unauthorized() }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("use an Authorization: Bearer <access token> header", code: "INVALID_TOKEN")
        }
        let (identity, _) = try await services.authenticate(accessToken: String(parts[1]))
        var context = context
        context.identity = identity
        context.logger[metadataKey: "user.id"] = "\(identity.userID)"
        return try await next(request, context)
    }
}
