import Foundation
import JWTKit

/// One HMAC signing key and its id (the JWT `kid`).
public struct JWTSigningKey: Sendable, Equatable {
    /// The key id written in each token's header.
    public var id: String
    /// The secret (its UTF-8 bytes are the HMAC key; at least 32 bytes).
    public var secret: String

    /// A key `id` with `secret`.
    public init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }
}

/// Issues and verifies access tokens (JWT, HS256).
///
/// The algorithm is fixed here, never taken from a token: a token whose header names another algorithm
/// (`none`, `RS256`, …) is refused before its signature is looked at. Tokens are signed with the active key and
/// verified with the key their `kid` names, so keys can rotate: add the new key, make it active, drop the old one
/// after the access-token lifetime.
///
/// ## Usage
/// ```swift
/// let tokens = try await TokenService(keys: [JWTSigningKey(id: "k1", secret: secret)], activeKeyID: "k1")
/// let issued = try await tokens.issue(userID: user.id, role: "user")
/// let claims = try await tokens.verify(issued.token)
/// ```
public struct TokenService: Sendable {
    /// The issued token and its lifetime in seconds.
    public struct Issued: Sendable, Equatable {
        /// The compact JWT.
        public var token: String
        /// Seconds until it expires.
        public var expiresIn: Int
        /// The token's `jti`.
        public var id: String
    }

    /// The `iss` written and required.
    public let issuer: String
    /// The `aud` written and required.
    public let audience: String
    /// How long an access token lasts.
    public let lifetime: Duration
    /// Clock skew tolerated on `exp` and `iat` (at most 60 s).
    public let leeway: Duration
    private let activeKeyID: String
    private let keyIDs: Set<String>
    private let keys: JWTKeyCollection
    private let now: @Sendable () -> Date

    /// A service with `keys`, signing with `activeKeyID`.
    /// - Parameters:
    ///   - keys: Every key that may have signed a token still in use; each secret at least 32 bytes.
    ///   - activeKeyID: The key that signs new tokens.
    ///   - issuer: `iss`.
    ///   - audience: `aud`.
    ///   - lifetime: Access-token lifetime (15 min by default).
    ///   - leeway: Clock skew tolerated, capped at 60 s.
    ///   - now: The clock (tests move it).
    /// - Throws: `AuthError.invalidConfiguration` for no keys, a short secret, duplicate ids or an unknown active id.
    public init(
        keys: [JWTSigningKey],
        activeKeyID: String,
        issuer: String = "seghub",
        audience: String = "seghub-api",
        lifetime: Duration = .seconds(15 * 60),
        leeway: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws(AuthError) {
        guard !keys.isEmpty else { throw .invalidConfiguration("no JWT signing key") }
        var ids = Set<String>()
        let collection = JWTKeyCollection()
        for key in keys {
            guard !key.id.isEmpty, key.id.utf8.count <= 64 else { throw .invalidConfiguration("a JWT key id must have 1 to 64 characters") }
            guard ids.insert(key.id).inserted else { throw .invalidConfiguration("JWT key id \(key.id) is given twice") }
            guard key.secret.utf8.count >= 32 else {
                throw .invalidConfiguration("the JWT secret of key \(key.id) is shorter than 32 bytes")
            }
            await collection.add(hmac: HMACKey(from: Array(key.secret.utf8)), digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.id))
        }
        guard ids.contains(activeKeyID) else { throw .invalidConfiguration("the active JWT key id \(activeKeyID) is not among the keys") }
        self.keys = collection
        self.keyIDs = ids
        self.activeKeyID = activeKeyID
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        self.leeway = min(leeway, .seconds(60))
        self.now = now
    }

    /// Signs an access token for `userID`, of the session `session` (its refresh-token family) if it has one.
    public func issue(userID: UUID, role: String, session: UUID? = nil) async throws -> Issued {
        let issuedAt = now()
        let seconds = Int(lifetime.components.seconds)
        let id = UUID().uuidString.lowercased()
        let claims = AccessClaims(
            iss: IssuerClaim(value: issuer), aud: AudienceClaim(value: [audience]),
            exp: ExpirationClaim(value: issuedAt.addingTimeInterval(TimeInterval(seconds))),
            iat: IssuedAtClaim(value: issuedAt), sub: SubjectClaim(value: userID.uuidString.lowercased()), jti: IDClaim(value: id),
            tokenUse: "access", role: role, sid: session?.uuidString.lowercased())
        var header = JWTHeader()
        header.alg = "HS256"
        header.typ = "JWT"
        let token = try await keys.sign(claims, kid: JWKIdentifier(string: activeKeyID), header: header)
        return Issued(token: token, expiresIn: seconds, id: id)
    }

    /// Verifies an access token: algorithm, key, signature, issuer, audience, use, expiry and issue time.
    /// - Throws: `AuthError.tokenExpired` past `exp` plus the leeway, `AuthError.invalidToken` for anything else.
    public func verify(_ token: String) async throws(AuthError) -> AccessClaims {
        guard token.utf8.count <= 8192 else { throw .invalidToken }
        let header = try Self.header(of: token)
        guard header.alg == "HS256", let kid = header.kid, keyIDs.contains(kid) else { throw .invalidToken }
        let claims: AccessClaims
        do {
            claims = try await keys.verify(token, as: AccessClaims.self)
        } catch {
            throw .invalidToken
        }
        let current = now()
        let skew = TimeInterval(leeway.components.seconds)
        guard claims.tokenUse == "access", claims.iss.value == issuer, claims.aud.value.contains(audience),
            claims.userID != nil
        else { throw .invalidToken }
        guard claims.iat.value.timeIntervalSince(current) <= skew else { throw .invalidToken }
        guard current.timeIntervalSince(claims.exp.value) <= skew else { throw .tokenExpired }
        return claims
    }

    private struct Header: Decodable {
        var alg: String?
        var kid: String?
    }

    /// Decodes the JOSE header without trusting it.
    private static func header(of token: String) throws(AuthError) -> Header {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .invalidToken }
        var text = parts[0].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.utf8.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), let header = try? JSONDecoder().decode(Header.self, from: data) else {
            throw .invalidToken
        }
        return header
    }
}
