import Crypto
import Foundation
import Testing

@testable import SegAuth

@Suite struct TokenServiceTests {
    static let secret = "0123456789abcdef0123456789abcdef-test"
    static let user = UUID()

    static func service(
        keys: [JWTSigningKey] = [JWTSigningKey(id: "k1", secret: secret)],
        active: String = "k1",
        audience: String = "seghub-api",
        at date: Date = Date()
    ) async throws -> TokenService {
        try await TokenService(keys: keys, activeKeyID: active, audience: audience, now: { date })
    }

    @Test func issuedTokenVerifiesWithItsClaims() async throws {
        let tokens = try await Self.service()
        let issued = try await tokens.issue(userID: Self.user, role: "admin")
        #expect(issued.expiresIn == 900)
        let claims = try await tokens.verify(issued.token)
        #expect(claims.userID == Self.user)
        #expect(claims.role == "admin")
        #expect(claims.iss.value == "seghub")
        #expect(claims.aud.value == ["seghub-api"])
        #expect(claims.jti.value == issued.id)
        #expect(claims.tokenUse == "access")
    }

    @Test func algNoneIsRefused() async throws {
        let tokens = try await Self.service()
        let payload = try Self.payload(from: try await tokens.issue(userID: Self.user, role: "user").token)
        let forged = Self.base64URL(#"{"alg":"none","typ":"JWT","kid":"k1"}"#.utf8) + "." + payload + "."
        await #expect(throws: AuthError.invalidToken) { try await tokens.verify(forged) }
    }

    @Test func otherAlgorithmsInTheHeaderAreRefusedEvenWithAValidHS256Signature() async throws {
        let tokens = try await Self.service()
        let payload = try Self.payload(from: try await tokens.issue(userID: Self.user, role: "user").token)
        for alg in ["HS512", "RS256", "hs256", ""] {
            let forged = Self.sign(header: #"{"alg":"\#(alg)","typ":"JWT","kid":"k1"}"#, payload: payload, secret: Self.secret)
            await #expect(throws: AuthError.invalidToken) { try await tokens.verify(forged) }
        }
        // The same construction with HS256 is accepted: the forgery helper is right.
        let genuine = Self.sign(header: #"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, payload: payload, secret: Self.secret)
        _ = try await tokens.verify(genuine)
    }

    @Test func wrongSignatureIsRefused() async throws {
        let tokens = try await Self.service()
        let payload = try Self.payload(from: try await tokens.issue(userID: Self.user, role: "user").token)
        let forged = Self.sign(header: #"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, payload: payload, secret: Self.secret + "x")
        await #expect(throws: AuthError.invalidToken) { try await tokens.verify(forged) }
        let issued = try await tokens.issue(userID: Self.user, role: "user").token
        // Change the signature's first character: its last one also carries two padding bits, which a decoder may
        // ignore (A and B then give the same bytes, so that token would still be genuine).
        let signatureStart = try #require(issued.lastIndex(of: ".")).utf16Offset(in: issued) + 1
        var characters = Array(issued)
        characters[signatureStart] = characters[signatureStart] == "A" ? "B" : "A"
        let tampered = String(characters)
        await #expect(throws: AuthError.invalidToken) { try await tokens.verify(tampered) }
    }

    @Test func expiryHonoursAtMostTheLeeway() async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let issued = try await Self.service(at: start).issue(userID: Self.user, role: "user").token
        // 15 min lifetime + 30 s leeway
        _ = try await Self.service(at: start.addingTimeInterval(900 + 29)).verify(issued)
        await #expect(throws: AuthError.tokenExpired) {
            try await Self.service(at: start.addingTimeInterval(900 + 31)).verify(issued)
        }
        // a token issued in the future (beyond the leeway) is refused too
        await #expect(throws: AuthError.invalidToken) {
            try await Self.service(at: start.addingTimeInterval(-120)).verify(issued)
        }
    }

    @Test func leewayIsCappedAtSixtySeconds() async throws {
        let tokens = try await TokenService(
            keys: [JWTSigningKey(id: "k1", secret: Self.secret)], activeKeyID: "k1", leeway: .seconds(3600))
        #expect(tokens.leeway == .seconds(60))
    }

    @Test func wrongAudienceOrIssuerIsRefused() async throws {
        let other = try await Self.service(audience: "another-app")
        let token = try await other.issue(userID: Self.user, role: "user").token
        await #expect(throws: AuthError.invalidToken) { try await Self.service().verify(token) }
        let otherIssuer = try await TokenService(
            keys: [JWTSigningKey(id: "k1", secret: Self.secret)], activeKeyID: "k1", issuer: "someone-else")
        let foreign = try await otherIssuer.issue(userID: Self.user, role: "user").token
        await #expect(throws: AuthError.invalidToken) { try await Self.service().verify(foreign) }
    }

    @Test func refreshTokenIsNeverAnAccessToken() async throws {
        let tokens = try await Self.service()
        await #expect(throws: AuthError.invalidToken) { try await tokens.verify(RefreshTokens.make().token) }
        // nor is a correctly signed JWT whose use is not "access"
        let payload = Self.base64URL(
            Data(
                #"{"iss":"seghub","aud":["seghub-api"],"exp":4102444800,"iat":1700000000,"sub":"\#(Self.user.uuidString)","jti":"x","token_use":"refresh","role":"user"}"#
                    .utf8))
        let forged = Self.sign(header: #"{"alg":"HS256","typ":"JWT","kid":"k1"}"#, payload: payload, secret: Self.secret)
        await #expect(throws: AuthError.invalidToken) { try await tokens.verify(forged) }
    }

    @Test func rotationVerifiesOldTokensAndSignsWithTheActiveKey() async throws {
        let old = try await Self.service()
        let oldToken = try await old.issue(userID: Self.user, role: "user").token
        let rotated = try await Self.service(
            keys: [JWTSigningKey(id: "k1", secret: Self.secret), JWTSigningKey(id: "k2", secret: String(Self.secret.reversed()))],
            active: "k2")
        _ = try await rotated.verify(oldToken)
        let newToken = try await rotated.issue(userID: Self.user, role: "user").token
        #expect(try Self.headerJSON(newToken).contains(#""kid":"k2""#))
        // once k1 is dropped, its tokens stop working
        let dropped = try await Self.service(keys: [JWTSigningKey(id: "k2", secret: String(Self.secret.reversed()))], active: "k2")
        await #expect(throws: AuthError.invalidToken) { try await dropped.verify(oldToken) }
        _ = try await dropped.verify(newToken)
    }

    @Test func unknownOrMissingKeyIDIsRefused() async throws {
        let tokens = try await Self.service()
        let payload = try Self.payload(from: try await tokens.issue(userID: Self.user, role: "user").token)
        for header in [#"{"alg":"HS256","typ":"JWT"}"#, #"{"alg":"HS256","typ":"JWT","kid":"k9"}"#] {
            let forged = Self.sign(header: header, payload: payload, secret: Self.secret)
            await #expect(throws: AuthError.invalidToken) { try await tokens.verify(forged) }
        }
    }

    @Test func badConfigurationsAreRefused() async {
        await #expect(throws: AuthError.self) { try await TokenService(keys: [], activeKeyID: "k1") }
        await #expect(throws: AuthError.self) {
            try await TokenService(keys: [JWTSigningKey(id: "k1", secret: "short")], activeKeyID: "k1")
        }
        await #expect(throws: AuthError.self) {
            try await TokenService(keys: [JWTSigningKey(id: "k1", secret: Self.secret)], activeKeyID: "k2")
        }
        await #expect(throws: AuthError.self) {
            try await TokenService(
                keys: [JWTSigningKey(id: "k1", secret: Self.secret), JWTSigningKey(id: "k1", secret: Self.secret)], activeKeyID: "k1")
        }
    }

    @Test(arguments: ["", "a.b", "a.b.c.d", "....", String(repeating: "x", count: 10_000)])
    func garbageIsAnInvalidToken(token: String) async throws {
        let tokens = try await Self.service()
        await #expect(throws: AuthError.invalidToken) { try await tokens.verify(token) }
    }

    // MARK: Helpers: an independent JWT construction (Crypto's HMAC), not TokenService's.

    static func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func sign(header: String, payload: String, secret: String) -> String {
        let input = base64URL(header.utf8) + "." + payload
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return input + "." + base64URL(Data(mac))
    }

    static func payload(from token: String) throws -> String {
        let parts = token.split(separator: ".")
        try #require(parts.count == 3)
        return String(parts[1])
    }

    static func headerJSON(_ token: String) throws -> String {
        var text = String(token.split(separator: ".")[0]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return String(decoding: try #require(Data(base64Encoded: text)), as: UTF8.self)
    }
}
