import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SegAuth
import SegHTTP
import Testing

@Suite(.timeLimit(.minutes(5))) struct AuthControllerTests {
    @Test func registerLoginAndMe() async throws {
        try await withTestApp { app in
            // MUT
            let user = try await app.register("Ada@Example.org")
            let me = try await app.request(.get, "/api/v1/auth/me", as: user)

            // validate
            #expect(me.status == .ok)
            struct Me: Decodable {
                var id: UUID
                var email: String
                var role: String
            }
            let body = try me.decode(Me.self)
            #expect(body.id == user.id)
            #expect(body.email == "Ada@Example.org")
            #expect(body.role == "user")
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": "ada@example.org", "password": user.password])
            #expect(login.status == .ok)
            #expect(try login.decode(TestApp.Session.self).user.id == user.id)
        }
    }

    @Test func takenEmailIsAConflictInAnyCase() async throws {
        try await withTestApp { app in
            _ = try await app.register("dup@example.org")
            let again = try await app.request(.post, "/api/v1/auth/register", json: ["email": "DUP@example.org", "password": "another password"])
            #expect(again.status == .conflict)
            #expect(again.problemCode == "EMAIL_TAKEN")
        }
    }

    @Test func badRegistrationsAreValidationProblems() async throws {
        try await withTestApp { app in
            let cases: [[String: String]] = [
                ["email": "not-an-email", "password": "long enough pw"],
                ["email": "a@example.org", "password": "short"],
                ["email": "a@example.org", "password": String(repeating: "p", count: 129)],
                ["password": "long enough pw"],
            ]
            for body in cases {
                let response = try await app.request(.post, "/api/v1/auth/register", json: body)
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.problemCode == "VALIDATION_FAILED", "\(body)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            let garbage = try await app.request(.post, "/api/v1/auth/register", body: ByteBuffer(string: "{not json"))
            #expect(garbage.status == .badRequest)
        }
    }

    /// RELIABILITY P6: unknown email and wrong password are byte-identical answers.
    @Test func unknownEmailAndWrongPasswordLookTheSame() async throws {
        try await withTestApp { app in
            let user = try await app.register("known@example.org")
            let unknown = try await app.request(.post, "/api/v1/auth/login", json: ["email": "nobody@example.org", "password": user.password])
            let wrong = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": "wrong password!"])
            #expect(unknown.status == .unauthorized)
            #expect(wrong.status == .unauthorized)
            #expect(unknown.body == wrong.body)
            #expect(unknown.problemCode == "INVALID_CREDENTIALS")
        }
    }

    @Test func refreshRotatesAndReuseRevokesTheFamily() async throws {
        try await withTestApp { app in
            // setup
            let user = try await app.register()

            // MUT: rotate once, then replay the first token
            let first = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            #expect(first.status == .ok)
            struct Tokens: Decodable {
                var accessToken: String
                var refreshToken: String
                var expiresIn: Int
            }
            let rotated = try first.decode(Tokens.self)
            #expect(rotated.refreshToken != user.refreshToken)
            #expect(rotated.expiresIn == 900)
            let replay = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken])

            // validate: the replay fails and the newest child is dead too
            #expect(replay.status == .unauthorized)
            #expect(replay.problemCode == "REFRESH_TOKEN_REUSED")
            let child = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": rotated.refreshToken])
            #expect(child.status == .unauthorized)
        }
    }

    @Test func parallelRefreshesWithOneTokenGiveExactlyOneSuccess() async throws {
        try await withTestApp { app in
            let user = try await app.register()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .unauthorized }.count == 1)
        }
    }

    @Test func logoutEndsTheSession() async throws {
        try await withTestApp { app in
            let user = try await app.register()
            let logout = try await app.request(.post, "/api/v1/auth/logout", json: ["refreshToken": user.refreshToken])
            #expect(logout.status == .noContent)
            let refresh = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            #expect(refresh.status == .unauthorized)
            // an unknown token gets the same answer
            let unknown = try await app.request(.post, "/api/v1/auth/logout", json: ["refreshToken": "rt_unknown"])
            #expect(unknown.status == .noContent)
        }
    }

    @Test func logoutEndsThatSessionsAccessTokensAtOnceAndNoOtherSessions() async throws {
        try await withTestApp { app in
            // setup: two sessions of one account
            let first = try await app.register()
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": first.email, "password": first.password])
            var second = first
            second.accessToken = try login.decode(TestApp.Session.self).accessToken

            // MUT
            let logout = try await app.request(.post, "/api/v1/auth/logout", json: ["refreshToken": first.refreshToken])
            #expect(logout.status == .noContent)

            // validate: the first session's access token is refused within its 15 minutes; the second still works
            let me = try await app.request(.get, "/api/v1/auth/me", as: first)
            #expect(me.status == .unauthorized)
            #expect(me.problemCode == "TOKEN_REVOKED")
            #expect(try await app.request(.get, "/api/v1/auth/me", as: second).status == .ok)
        }
    }

    @Test func aReplayedRefreshTokenEndsItsSessionsAccessTokens() async throws {
        try await withTestApp { app in
            // setup: rotate once, so the first refresh token is spent
            var user = try await app.register()
            let rotated = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            struct Tokens: Decodable { var accessToken: String }
            let before = user
            user.accessToken = try rotated.decode(Tokens.self).accessToken
            #expect(try await app.request(.get, "/api/v1/auth/me", as: user).status == .ok)

            // MUT: someone replays the spent token
            let replay = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": before.refreshToken])
            #expect(replay.problemCode == "REFRESH_TOKEN_REUSED")

            // validate: both access tokens of the session are dead at once
            for token in [before, user] {
                let me = try await app.request(.get, "/api/v1/auth/me", as: token)
                #expect(me.problemCode == "TOKEN_REVOKED")
            }
        }
    }

    @Test func revocationComparesIssueTimesToTheMicrosecond() async throws {
        try await withTestApp { app in
            // setup: a token of no session issued at a known instant, by the server's own key
            let user = try await app.register()
            let issuedAt = Date()
            let tokens = try await TokenService(
                keys: app.configuration.jwtKeys, activeKeyID: app.configuration.jwtActiveKeyID, issuer: app.configuration.jwtIssuer,
                now: { issuedAt })
            var bearer = user
            bearer.accessToken = try await tokens.issue(userID: user.id, role: "user").token

            for (offset, expected) in [(0.000_5, HTTPResponse.Status.unauthorized), (-0.000_5, .ok), (0.6, .unauthorized)] {
                // MUT: the account's tokens were revoked half a millisecond after, before, or 0.6 s after the token
                let revokedAt = issuedAt.addingTimeInterval(offset)
                try await app.database.query("UPDATE users SET tokens_valid_after = \(revokedAt) WHERE id = \(user.id)")

                // validate: whole seconds would have let the first and the last through
                let me = try await app.request(.get, "/api/v1/auth/me", as: bearer)
                #expect(me.status == expected, "revoked \(offset) s after issue")
            }
        }
    }

    @Test func passwordChangeRevokesTokensAndNeedsTheCurrentPassword() async throws {
        try await withTestApp { app in
            // setup
            var user = try await app.register()
            let wrong = try await app.request(
                .post, "/api/v1/auth/password", as: user, json: ["currentPassword": "not it at all", "newPassword": "new password 1"])
            #expect(wrong.status == .forbidden)

            let change = try await app.request(
                .post, "/api/v1/auth/password", as: user, json: ["currentPassword": user.password, "newPassword": "new password 1"])
            #expect(change.status == .noContent)

            // validate: old access and refresh tokens are dead, the new password works
            let me = try await app.request(.get, "/api/v1/auth/me", as: user)
            #expect(me.status == .unauthorized)
            #expect(me.problemCode == "TOKEN_REVOKED")
            let refresh = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            #expect(refresh.status == .unauthorized)
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": "new password 1"])
            #expect(login.status == .ok)
            user.accessToken = try login.decode(TestApp.Session.self).accessToken
            #expect(try await app.request(.get, "/api/v1/auth/me", as: user).status == .ok)
        }
    }

    @Test func disabledAccountsLoseAccessAtOnce() async throws {
        try await withTestApp { app in
            let user = try await app.register()
            try await app.database.query("UPDATE users SET disabled_at = now() WHERE id = \(user.id)")
            #expect(try await app.request(.get, "/api/v1/auth/me", as: user).status == .unauthorized)
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": user.password])
            #expect(login.status == .unauthorized)
            #expect(login.problemCode == "INVALID_CREDENTIALS")
        }
    }

    /// Forged tokens (RELIABILITY J1, J4, J6, J7, J8): every one is 401 problem+json, never 500.
    @Test func forgedTokensAreRefused() async throws {
        try await withTestApp { app in
            let user = try await app.register()
            let parts = user.accessToken.split(separator: ".").map(String.init)
            let payload = try Self.json(parts[1])
            func token(header: String, payload: [String: Any], secret: String = TestApp.secret, signature: String? = nil) throws -> String {
                let h = Self.base64URL(Data(header.utf8))
                let p = Self.base64URL(try JSONSerialization.data(withJSONObject: payload))
                let mac = HMAC<SHA256>.authenticationCode(for: Data("\(h).\(p)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
                return "\(h).\(p).\(signature ?? Self.base64URL(Data(mac)))"
            }
            let header = #"{"alg":"HS256","typ":"JWT","kid":"default"}"#
            var expired = payload
            expired["exp"] = Date().timeIntervalSince1970 - 3600
            var otherAudience = payload
            otherAudience["aud"] = ["someone-else"]
            var refreshUse = payload
            refreshUse["token_use"] = "refresh"
            let forgeries = [
                try token(header: #"{"alg":"none","typ":"JWT","kid":"default"}"#, payload: payload, signature: ""),
                try token(header: header, payload: payload, secret: TestApp.secret + "!"),
                try token(header: header, payload: expired),
                try token(header: header, payload: otherAudience),
                try token(header: header, payload: refreshUse),
                user.refreshToken,
                "garbage",
            ]
            // the construction is right: the unmodified payload signed the same way is accepted
            var genuine = user
            genuine.accessToken = try token(header: header, payload: payload)
            #expect(try await app.request(.get, "/api/v1/auth/me", as: genuine).status == .ok)
            for forged in forgeries {
                var attacker = user
                attacker.accessToken = forged
                let response = try await app.request(.get, "/api/v1/auth/me", as: attacker)
                #expect(response.status == .unauthorized, "\(forged.prefix(40))")
                #expect(response.problemCode != nil)
            }
            let anonymous = try await app.request(.get, "/api/v1/auth/me")
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
        }
    }

    @Test func unknownRoutesAndMethodsAreProblems() async throws {
        try await withTestApp { app in
            let missing = try await app.request(.get, "/api/v1/nothing-here")
            #expect(missing.status == .notFound)
            #expect(missing.problemCode == "NOT_FOUND")
            let method = try await app.request(.delete, "/api/v1/auth/login")
            #expect(method.status == .methodNotAllowed)
            #expect(method.problemCode == "METHOD_NOT_ALLOWED")
            #expect(method.headers[.allow] == "POST")
            #expect(missing.headers[.xContentTypeOptions] == "nosniff")
            #expect(missing.headers[HTTPField.Name("X-Request-Id")!] != nil)
        }
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ part: String) throws -> [String: Any] {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        let data = try #require(Data(base64Encoded: text))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
