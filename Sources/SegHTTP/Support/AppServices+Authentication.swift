import Foundation
import SegAuth
import SegStorage

extension AppServices {
    /// Verifies an access token and the account behind it, for `JWTAuthenticator` and the event socket.
    ///
    /// Besides the token itself (SegAuth checks algorithm, key, signature, issuer, audience, use and time), the
    /// account must exist, not be disabled, and not have invalidated its tokens after this one was issued (password
    /// change, disable: RELIABILITY J15). `iat` has whole seconds, so a token issued in the same second as the
    /// invalidation stays valid; anything earlier is refused.
    /// - Returns: The caller and the token's claims.
    /// - Throws: `AuthError` for a bad or expired token, `Problem` 401 `INVALID_TOKEN` or `TOKEN_REVOKED` for the
    ///   account checks, `StorageError` when the database fails.
    public func authenticate(accessToken: String, on database: Database) async throws -> (identity: Identity, claims: AccessClaims) {
        let claims = try await tokens.verify(accessToken)
        guard let userID = claims.userID, let user = try await UserRepository.find(id: userID, on: database), !user.isDisabled else {
            throw Problem.unauthorized("the access token is invalid", code: "INVALID_TOKEN")
        }
        guard claims.iat.value.timeIntervalSince1970 >= user.tokensValidAfter.timeIntervalSince1970.rounded(.down) else {
            throw Problem.unauthorized("the access token was revoked; please sign in again", code: "TOKEN_REVOKED")
        }
        return (Identity(userID: user.id, role: user.role, email: user.email), claims)
    }
}
