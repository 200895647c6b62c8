import Foundation
import HTTPTypes
import PostgresNIO
import SegAuth
import SegStorage
import SegTestSupport
import Testing

@testable import SegHTTP

/// Password reset by mail: the same answer for every address, a link in the outbox, single use, an hour, and every
/// session of the account ended.
@Suite(.timeLimit(.minutes(5))) struct PasswordResetTests {
    /// The outbox rows of `template` for `address`.
    static func mails(to address: String, template: String = "password-reset", _ app: TestApp) async throws -> [MailRecord] {
        try await MailOutboxRepository.list(state: nil, limit: 100, on: Database(client: app.database, logger: TestApp.logger))
            .filter { $0.mail.recipient.lowercased() == address.lowercased() && $0.mail.template == template }
    }

    /// The token in a message's link.
    static func token(in mail: MailRecord) throws -> String {
        let text = mail.mail.text
        let range = try #require(text.range(of: "/reset-password?token="))
        return String(text[range.upperBound...].prefix { !$0.isWhitespace })
    }

    @Test func aKnownAndAnUnknownAddressGetTheSameAnswerAndOnlyTheAccountGetsMail() async throws {
        try await withTestApp(environment: ["SEG_PUBLIC_URL": "https://seghub.lab.example"]) { app in
            let user = try await app.register("Reset.Me@example.org")

            // MUT
            let known = try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": "reset.me@EXAMPLE.org"])
            let unknown = try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": "nobody@example.org"])

            // validate: the same status and body; one message, to the account, with an https link of the public URL
            #expect(known.status == .accepted && unknown.status == .accepted)
            let knownBody = try JSONSerialization.jsonObject(with: Data(String(buffer: known.body).utf8)) as? [String: String]
            let unknownBody = try JSONSerialization.jsonObject(with: Data(String(buffer: unknown.body).utf8)) as? [String: String]
            #expect(knownBody != nil && knownBody == unknownBody)
            let mails = try await Self.mails(to: user.email, app)
            #expect(mails.count == 1)
            #expect(try await Self.mails(to: "nobody@example.org", app).isEmpty)
            let mail = try #require(mails.first)
            #expect(mail.mail.template == "password-reset" && mail.mail.subject == "Reset your SegHub password")
            #expect(mail.mail.text.contains("https://seghub.lab.example/reset-password?token="))
            #expect(mail.mail.html?.contains("href=\"https://seghub.lab.example/reset-password?token=") == true)
            #expect(RefreshTokens.isWellFormed(try Self.token(in: mail)))
            // A second request within a minute answers the same and sends nothing more.
            let again = try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": user.email])
            let after = try await Self.mails(to: user.email, app)
            #expect(again.status == .accepted && after.count == 1)
        }
    }

    @Test func requestsAtTheSameMomentSendOneMessage() async throws {
        try await withTestApp { app in
            let user = try await app.register("hasty@example.org")

            // MUT: eight requests at once
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": user.email]).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            // validate: all answered alike, one message and one token
            #expect(statuses == Array(repeating: .accepted, count: 8))
            #expect(try await Self.mails(to: user.email, app).count == 1)
            var tokens = -1
            for try await count in try await app.database.query("SELECT count(*)::int8 FROM account_tokens WHERE purpose = 'password-reset'").decode(
                Int64.self)
            {
                tokens = Int(count)
            }
            #expect(tokens == 1)
        }
    }

    @Test func theLinkSetsTheNewPasswordOnceAndEndsEverySession() async throws {
        try await withTestApp { app in
            // setup: an account with a session, and its reset link
            let user = try await app.register("forgetful@example.org", password: "the old password")
            _ = try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": user.email])
            let token = try Self.token(in: try #require(try await Self.mails(to: user.email, app).first))

            // MUT
            let confirm = try await app.request(
                .post, "/api/v1/auth/password-reset/confirm", json: ["token": token, "password": "a brand new password"])

            // validate: the new password works, the old one does not, the old session's tokens are dead, the link is used
            #expect(confirm.status == .noContent)
            let newLogin = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": "a brand new password"])
            #expect(newLogin.status == .ok)
            let oldLogin = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": "the old password"])
            #expect(oldLogin.status == .unauthorized)
            #expect(try await app.request(.get, "/api/v1/auth/me", as: user).status == .unauthorized)
            let refresh = try await app.request(.post, "/api/v1/auth/refresh", json: ["refreshToken": user.refreshToken])
            #expect(refresh.status == .unauthorized)
            let twice = try await app.request(
                .post, "/api/v1/auth/password-reset/confirm", json: ["token": token, "password": "yet another password"])
            #expect(twice.status == .badRequest && twice.problemCode == "RESET_TOKEN_INVALID")
        }
    }

    @Test func aResetLinkAlsoConfirmsTheAddressAndJoinsWhatInvitedIt() async throws {
        try await withTestApp { app in
            // setup: an account that never confirmed its address, invited to a project meanwhile
            let owner = try await app.register("reset-owner@example.org")
            let project = try await app.createProject(as: owner, name: "Reset")
            let user = try await app.register("unconfirmed@example.org", verified: false)
            let add = try await app.request(
                .post, "/api/v1/projects/\(project.id)/members", as: owner, json: ["email": user.email, "role": "editor"])
            #expect(add.status == .created)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: user).status == .notFound)
            _ = try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": user.email])

            // MUT: the reset link reached the mailbox, which proves the address
            let token = try await app.mailedToken(to: user.email, template: "password-reset")
            let confirm = try await app.request(.post, "/api/v1/auth/password-reset/confirm", json: ["token": token, "password": "a new one here"])

            // validate
            #expect(confirm.status == .noContent)
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": user.email, "password": "a new one here"])
            let session = try login.decode(TestApp.Session.self)
            let me = try await app.request(.get, "/api/v1/auth/me", headers: [.authorization: "Bearer \(session.accessToken)"])
            #expect(String(buffer: me.body).contains("\"emailVerified\":true"))
            let opened = try await app.request(.get, "/api/v1/projects/\(project.id)", headers: [.authorization: "Bearer \(session.accessToken)"])
            #expect(opened.status == .ok)
        }
    }

    @Test func anExpiredMadeUpOrMalformedTokenGetsOneAnswerAndABadPasswordKeepsTheLink() async throws {
        try await withTestApp { app in
            let user = try await app.register("late@example.org")
            _ = try await app.request(.post, "/api/v1/auth/password-reset", json: ["email": user.email])
            let token = try Self.token(in: try #require(try await Self.mails(to: user.email, app).first))

            // A password the policy refuses answers as for registration and leaves the link usable.
            let short = try await app.request(.post, "/api/v1/auth/password-reset/confirm", json: ["token": token, "password": "short"])
            #expect(short.status == .badRequest && short.problemCode != "RESET_TOKEN_INVALID")

            // Made up and malformed tokens: the same answer.
            for bad in [String(repeating: "A", count: 43), "not a token", ""] {
                let answer = try await app.request(
                    .post, "/api/v1/auth/password-reset/confirm", json: ["token": bad, "password": "a long enough one"])
                #expect(answer.status == .badRequest && answer.problemCode == "RESET_TOKEN_INVALID", "\(bad)")
            }

            // Expired (an hour has passed, by the database's clock): the same answer.
            try await app.database.query("UPDATE account_tokens SET expires_at = now() - interval '1 second'")
            let expired = try await app.request(
                .post, "/api/v1/auth/password-reset/confirm", json: ["token": token, "password": "a long enough one"])
            #expect(expired.status == .badRequest && expired.problemCode == "RESET_TOKEN_INVALID")
        }
    }
}
