import Foundation
import JWTKit

/// The claims of a SegHub access token.
public struct AccessClaims: JWTPayload, Equatable {
    /// Who issued it (`SEG_JWT_ISSUER`, "seghub" by default).
    public var iss: IssuerClaim
    /// Who it is for ("seghub-api").
    public var aud: AudienceClaim
    /// When it stops being valid.
    public var exp: ExpirationClaim
    /// When it was issued.
    public var iat: IssuedAtClaim
    /// The user's id.
    public var sub: SubjectClaim
    /// A unique id for this token.
    public var jti: IDClaim
    /// Always "access": a token of another use is refused even if correctly signed.
    public var tokenUse: String
    /// The account role when the token was issued ("user" or "admin").
    public var role: String
    /// The session it belongs to: the family of the refresh token issued with it. Ending the session (logout, a
    /// replayed refresh token) ends its access tokens at once. Absent in tokens of no session.
    public var sid: String?

    enum CodingKeys: String, CodingKey {
        case iss, aud, exp, iat, sub, jti, role, sid
        case tokenUse = "token_use"
    }

    /// The session id in `sid`, if it is a UUID.
    public var sessionID: UUID? { sid.flatMap(UUID.init(uuidString:)) }

    /// The user id in `sub`, if it is a UUID.
    public var userID: UUID? { UUID(uuidString: sub.value) }

    /// Checks only what the signature check cannot: `TokenService` checks time, issuer and audience with its own clock.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
