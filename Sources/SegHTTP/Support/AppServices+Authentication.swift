import Foundation
import SegAuth
import SegStorage

extension AppServices {
    /// Verifies an access token and the account behind it, for `JWTAuthenticator` and the event socket.
    ///
    /// Besides the token itself (SegAuth checks algorithm, key, signature, issuer, audience, use and time), the
    /// account must exist, not be disabled, and not have invalidated its tokens after this one was issued (password
    /// change, disable: RELIABILITY J15; `iat` and `tokens_valid_after` are compared at full precision, both from the
    /// application's clock), and the token's session (`sid`) must not have ended (logout, a replayed refresh token).
    /// The account and the session are one query.
    /// - Returns: The caller and the token's claims.
    /// - Throws: `AuthError` for a bad or expired token, `Problem` 401 `INVALID_TOKEN` or `TOKEN_REVOKED` for the
    ///   account checks, `StorageError` when the database fails.
    public func authenticate(accessToken: String, on database: Database) async throws -> (identity: Identity, claims: AccessClaims) {
        let claims = try await tokens.verify(accessToken)
        guard let userID = claims.userID, claims.sid == nil || claims.sessionID != nil,
            let (user, sessionLive) = try await UserRepository.find(id: userID, session: claims.sessionID, on: database), !user.isDisabled
        else {
            throw Problem.unauthorized("the access token is invalid", code: "INVALID_TOKEN")
        }
        guard Self.issued(claims.iat.value, after: user.tokensValidAfter), sessionLive else {
            throw Problem.unauthorized("the access token was revoked; please sign in again", code: "TOKEN_REVOKED")
        }
        return (Identity(userID: user.id, role: user.role, email: user.email), claims)
    }

    /// Whether a token issued at `issuedAt` outlives a revocation at `tokensValidAfter`: at or after it, to the
    /// microsecond PostgreSQL keeps.
    static func issued(_ issuedAt: Date, after tokensValidAfter: Date) -> Bool {
        (issuedAt.timeIntervalSince1970 * 1e6).rounded() >= (tokensValidAfter.timeIntervalSince1970 * 1e6).rounded()
    }
}
