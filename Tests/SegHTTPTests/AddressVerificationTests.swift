import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SegHTTP
import SegStorage
import Testing

/// Confirming an account's address by mail (issue 16): the link on sign-up, `SEG_REQUIRE_EMAIL_VERIFICATION`, the resend
/// route, and a taken address answered like a new one while confirmation is required.
@Suite(.timeLimit(.minutes(5))) struct AddressVerificationTests {
    /// Settings under which sign-ups must confirm first. The SMTP server is never reached here: the tests read the
    /// outbox (SEG_WORKERS=0 leaves the rows queued), and SMTPClientTests and e2e deliver to a real one.
    static let required = [
        "SEG_REQUIRE_EMAIL_VERIFICATION": "true", "SEG_SMTP_URL": "smtp://127.0.0.1:9?starttls=required",
        "SEG_MAIL_FROM": "SegHub <seghub@lab.example>", "SEG_PUBLIC_URL": "https://seghub.lab.example",
    ]

    static func me(_ app: TestApp, _ user: TestUser) async throws -> [String: Any] {
        let response = try await app.request(.get, "/api/v1/auth/me", as: user)
        try #require(response.status == .ok)
        return try jsonObject(response)
    }

    @Test func aSignUpIsMailedALinkThatConfirmsTheAddressOnce() async throws {
        try await withTestApp(environment: ["SEG_PUBLIC_URL": "https://seghub.lab.example"]) { app in
            // MUT: sign up; without SEG_REQUIRE_EMAIL_VERIFICATION the session comes at once
            let user = try await app.register("New.Person@example.org", verified: false)

            // validate: one message with a link of the public URL; the account is not confirmed yet
            #expect(try await app.outboxCount(to: user.email, template: "verify-email") == 1)
            let text = try #require(
                try await MailOutboxRepository.list(state: nil, limit: 10, on: Database(client: app.database, logger: TestApp.logger)).first?.mail)
            #expect(text.subject == "Confirm your address for SegHub")
            #expect(text.text.contains("https://seghub.lab.example/verify-email?token=") && text.text.contains("New.Person@example.org"))
            #expect(text.html?.contains("href=\"https://seghub.lab.example/verify-email?token=") == true)
            #expect(try await Self.me(app, user)["emailVerified"] as? Bool == false)

            let token = try await app.mailedToken(to: user.email, template: "verify-email")
            let first = try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": token])
            #expect(first.status == .noContent)
            #expect(try await Self.me(app, user)["emailVerified"] as? Bool == true)
            let again = try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": token])
            #expect(again.status == .badRequest && again.problemCode == "VERIFICATION_TOKEN_INVALID")
            for bad in ["", "rt_nothing", String(repeating: "x", count: 46)] {
                let answer = try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": bad])
                #expect(answer.status == .badRequest && answer.problemCode == "VERIFICATION_TOKEN_INVALID", "\(bad)")
            }
        }
    }

    @Test func anExpiredLinkConfirmsNothing() async throws {
        try await withTestApp { app in
            let user = try await app.register(verified: false)
            let token = try await app.mailedToken(to: user.email, template: "verify-email")
            // 24 hours have passed, by the database's clock
            try await app.database.query("UPDATE account_tokens SET expires_at = now() - interval '1 second'")

            let answer = try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": token])

            #expect(answer.status == .badRequest && answer.problemCode == "VERIFICATION_TOKEN_INVALID")
            #expect(try await Self.me(app, user)["emailVerified"] as? Bool == false)
        }
    }

    @Test func whenConfirmationIsRequiredASignUpGetsNoSessionUntilItConfirms() async throws {
        try await withTestApp(environment: Self.required) { app in
            // MUT: sign up
            let signUp = try await app.request(
                .post, "/api/v1/auth/register", json: ["email": "careful@example.org", "password": "correct horse battery"])

            // validate: 202 without tokens; sign-in refused with its own code only once the password is right
            #expect(signUp.status == .accepted)
            let body = try jsonObject(signUp)
            #expect(body["status"] as? String == "confirmation_sent" && body["accessToken"] == nil && body["user"] == nil)
            let early = try await app.request(
                .post, "/api/v1/auth/login", json: ["email": "careful@example.org", "password": "correct horse battery"])
            #expect(early.status == .forbidden && early.problemCode == "EMAIL_NOT_VERIFIED")
            let wrong = try await app.request(.post, "/api/v1/auth/login", json: ["email": "careful@example.org", "password": "not the password"])
            #expect(wrong.status == .unauthorized && wrong.problemCode == "INVALID_CREDENTIALS")

            let token = try await app.mailedToken(to: "careful@example.org", template: "verify-email")
            #expect(try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": token]).status == .noContent)
            let later = try await app.request(
                .post, "/api/v1/auth/login", json: ["email": "careful@example.org", "password": "correct horse battery"])
            #expect(later.status == .ok)
        }
    }

    @Test func whenConfirmationIsRequiredATakenAddressAnswersAsANewOneAndItsOwnerIsMailed() async throws {
        try await withTestApp(environment: Self.required) { app in
            // setup: an account made by an administrator (confirmed)
            let database = Database(client: app.database, logger: TestApp.logger)
            _ = try await UserRepository.register(NewUser(email: "Owner.Taken@example.org", passwordHash: "x", emailVerified: true), on: database)

            // MUT: the same address in another case, and a new address of the same length
            let taken = try await app.request(
                .post, "/api/v1/auth/register", json: ["email": "owner.taken@EXAMPLE.org", "password": "a guess at it"])
            let fresh = try await app.request(
                .post, "/api/v1/auth/register", json: ["email": "owner.fresh@EXAMPLE.org", "password": "a guess at it"])

            // validate: the same status and body once the address is swapped
            #expect(taken.status == .accepted && fresh.status == .accepted)
            var takenBody = try jsonObject(taken)
            var freshBody = try jsonObject(fresh)
            takenBody["email"] = nil
            freshBody["email"] = nil
            #expect(takenBody as NSDictionary == freshBody as NSDictionary)
            // the owner got a notice with a reset link (which works); the new address got its confirmation link
            #expect(try await app.outboxCount(to: "owner.taken@example.org", template: "account-exists") == 1)
            #expect(try await app.outboxCount(to: "owner.taken@example.org", template: "verify-email") == 0)
            #expect(try await app.outboxCount(to: "owner.fresh@example.org", template: "verify-email") == 1)
            let reset = try await app.mailedToken(to: "owner.taken@example.org", template: "account-exists")
            let confirm = try await app.request(.post, "/api/v1/auth/password-reset/confirm", json: ["token": reset, "password": "mine again now"])
            #expect(confirm.status == .noContent)
            // a second try within a minute mails nothing more
            _ = try await app.request(.post, "/api/v1/auth/register", json: ["email": "owner.taken@example.org", "password": "a guess at it"])
            #expect(try await app.outboxCount(to: "owner.taken@example.org", template: "account-exists") == 1)
        }
    }

    @Test func withoutTheRequirementATakenAddressIsStillAConflict() async throws {
        try await withTestApp { app in
            let user = try await app.register()
            let again = try await app.request(.post, "/api/v1/auth/register", json: ["email": user.email, "password": "another password"])
            #expect(again.status == .conflict && again.problemCode == "EMAIL_TAKEN")
            #expect(try await app.outboxCount(to: user.email, template: "account-exists") == 0)
        }
    }

    @Test func resendAnswersAlikeAndMailsOnlyAnUnconfirmedAccountOnceAMinute() async throws {
        try await withTestApp { app in
            let confirmed = try await app.register()
            let unconfirmed = try await app.register(verified: false)
            // The sign-up's own link counts: a minute later a new one may be sent.
            try await app.database.query("UPDATE account_tokens SET created_at = created_at - interval '2 minutes'")

            // MUT
            var answers: [String: TestResponse] = [:]
            for address in [confirmed.email, unconfirmed.email, "nobody.here@example.org"] {
                answers[address] = try await app.request(.post, "/api/v1/auth/verify-email/resend", json: ["email": address])
            }
            let again = try await app.request(.post, "/api/v1/auth/verify-email/resend", json: ["email": unconfirmed.email])

            // validate: 202 with one body for all; one new message (not two), to the unconfirmed account only
            let bodies = try answers.values.map { try jsonObject($0) as NSDictionary }
            #expect(answers.values.allSatisfy { $0.status == .accepted } && again.status == .accepted)
            #expect(Set(bodies).count == 1)
            #expect(try await app.outboxCount(to: unconfirmed.email, template: "verify-email") == 2)
            #expect(try await app.outboxCount(to: confirmed.email, template: "verify-email") == 1)
            #expect(try await app.outboxCount(to: "nobody.here@example.org", template: "verify-email") == 0)
            // the new link works
            let token = try await app.mailedToken(to: unconfirmed.email, template: "verify-email")
            #expect(try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": token]).status == .noContent)
        }
    }

    @Test func resendIsLimitedPerClient() async throws {
        try await withTestApp(environment: ["SEG_RATE_AUTH": "3:1/min"]) { app in
            var statuses: [HTTPResponse.Status] = []
            for index in 0..<5 {
                let answer = try await app.request(.post, "/api/v1/auth/verify-email/resend", json: ["email": "someone\(index)@example.org"])
                statuses.append(answer.status)
            }
            #expect(statuses.prefix(3).allSatisfy { $0 == .accepted })
            #expect(statuses.suffix(2).allSatisfy { $0 == .tooManyRequests })
        }
    }
}
