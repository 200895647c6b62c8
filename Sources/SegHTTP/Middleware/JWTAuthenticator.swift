import Foundation
import HTTPTypes
import Hummingbird
import SegAuth
import SegStorage

/// Requires `Authorization: Bearer <access JWT>` and sets `context.identity`.
///
/// Besides the token itself (SegAuth checks algorithm, key, signature, issuer, audience, use and time), the
/// account must exist, not be disabled, and not have invalidated its tokens after this one was issued (password
/// change, disable: RELIABILITY J15). `iat` has whole seconds, so a token issued in the same second as the
/// invalidation stays valid; anything earlier is refused.
struct JWTAuthenticator: RouterMiddleware {
    typealias Context = AppRequestContext

    let services: AppServices

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw Problem.unauthorized() }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("use an Authorization: Bearer <access token> header", code: "INVALID_TOKEN")
        }
        let claims = try await services.tokens.verify(String(parts[1]))
        guard let userID = claims.userID, let user = try await services.users.find(id: userID), !user.isDisabled else {
            throw Problem.unauthorized("the access token is invalid", code: "INVALID_TOKEN")
        }
        guard claims.iat.value.timeIntervalSince1970 >= user.tokensValidAfter.timeIntervalSince1970.rounded(.down) else {
            throw Problem.unauthorized("the access token was revoked; please sign in again", code: "TOKEN_REVOKED")
        }
        var context = context
        context.identity = Identity(userID: user.id, role: user.role, email: user.email)
        context.logger[metadataKey: "user.id"] = "\(user.id)"
        return try await next(request, context)
    }
}
