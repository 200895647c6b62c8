import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SegHTTP
import SegStorage
import Testing

/// What adding a member and creating a share link mail (issue 16): an invitation whose link signs up or signs in and
/// joins; a notice to an account that was added; invitations wait for a confirmed address; a share link mailed.
@Suite(.timeLimit(.minutes(5))) struct InvitationMailTests {
    static func add(_ app: TestApp, _ email: String, as role: String, to project: UUID, by owner: TestUser) async throws {
        let answer = try await app.request(.post, "/api/v1/projects/\(project)/members", as: owner, json: ["email": email, "role": role])
        try #require(answer.status == .created, "add answered \(answer.status)")
    }

    @Test func anInvitationsLinkShowsItAndSignsUpAConfirmedMember() async throws {
        try await withTestApp(environment: ["SEG_PUBLIC_URL": "https://seghub.lab.example"]) { app in
            // setup
            let owner = try await app.register("Inviting.Owner@example.org")
            let project = try await app.createProject(as: owner, name: "Spheroids ✓")
            try await Self.add(app, "Fresh.Invitee@Example.org", as: "editor", to: project.id, by: owner)

            // the message: who, what, and a link of the public URL
            let mails = try await MailOutboxRepository.list(state: nil, limit: 10, on: Database(client: app.database, logger: TestApp.logger))
            let mail = try #require(mails.first { $0.mail.template == "invitation" }?.mail)
            #expect(mail.recipient == "Fresh.Invitee@Example.org")
            #expect(mail.subject == "Inviting.Owner@example.org invited you to \"Spheroids ✓\" on SegHub")
            #expect(mail.text.contains("https://seghub.lab.example/invitations?token=") && mail.text.contains("as editor"))
            let token = try await app.mailedToken(to: "fresh.invitee@example.org", template: "invitation")

            // MUT: the page's preview, then a sign-up with the token
            let preview = try await app.request(.post, "/api/v1/invitations/preview", json: ["token": token])
            let signUp = try await app.request(
                .post, "/api/v1/auth/register",
                json: ["email": "fresh.invitee@example.org", "password": "correct horse battery", "invitationToken": token])

            // validate
            #expect(preview.status == .ok)
            let shown = try jsonObject(preview)
            #expect(shown["projectName"] as? String == "Spheroids ✓" && shown["role"] as? String == "editor")
            #expect(shown["email"] as? String == "Fresh.Invitee@Example.org" && shown["invitedByEmail"] as? String == owner.email)
            #expect(signUp.status == .created)
            let session = try signUp.decode(TestApp.Session.self)
            let bearer: HTTPFields = [.authorization: "Bearer \(session.accessToken)"]
            let me = try jsonObject(try await app.request(.get, "/api/v1/auth/me", headers: bearer))
            #expect(me["emailVerified"] as? Bool == true)
            let opened = try await app.request(.get, "/api/v1/projects/\(project.id)", headers: bearer)
            #expect(opened.status == .ok && String(buffer: opened.body).contains("\"myRole\":\"editor\""))
            // no confirmation message: the invitation's link proved the address; the link is used up
            #expect(try await app.outboxCount(to: "fresh.invitee@example.org", template: "verify-email") == 0)
            let again = try await app.request(.post, "/api/v1/invitations/preview", json: ["token": token])
            #expect(again.status == .notFound && again.problemCode == "INVITATION_INVALID")
        }
    }

    @Test func anAccountThatHasNotConfirmedItsAddressIsInvitedNotAdded() async throws {
        try await withTestApp { app in
            // setup: someone signs up with the address first, and does not (cannot) confirm it
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let squatter = try await app.register("colleague@example.org", verified: false)

            // MUT
            try await Self.add(app, "colleague@example.org", as: "viewer", to: project.id, by: owner)

            // validate: pending, no access, an invitation (not a notice) mailed to the address
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: squatter).status == .notFound)
            #expect(try await app.outboxCount(to: "colleague@example.org", template: "invitation") == 1)
            #expect(try await app.outboxCount(to: "colleague@example.org", template: "member-added") == 0)
            let list = try jsonObject(try await app.request(.get, "/api/v1/projects/\(project.id)/members", as: owner))
            let pending = (list["items"] as? [[String: Any]] ?? []).filter { $0["pending"] as? Bool == true }
            #expect(pending.map { $0["email"] as? String } == ["colleague@example.org"])

            // the address's owner confirms (the verification link reached the mailbox): then the invitation joins
            let token = try await app.mailedToken(to: "colleague@example.org", template: "verify-email")
            #expect(try await app.request(.post, "/api/v1/auth/verify-email", json: ["token": token]).status == .noContent)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: squatter).status == .ok)
        }
    }

    @Test func aSignedInAccountAcceptsWithTheLinkAndOnlyForItsOwnAddress() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let invitee = try await app.register("invitee.later@example.org", verified: false)
            let other = try await app.register()
            try await Self.add(app, "Invitee.Later@example.org", as: "editor", to: project.id, by: owner)
            let token = try await app.mailedToken(to: invitee.email, template: "invitation")

            // MUT
            let wrong = try await app.request(.post, "/api/v1/invitations/accept", as: other, json: ["token": token])
            let anonymous = try await app.request(.post, "/api/v1/invitations/accept", json: ["token": token])
            let right = try await app.request(.post, "/api/v1/invitations/accept", as: invitee, json: ["token": token])

            // validate
            #expect(wrong.status == .forbidden && wrong.problemCode == "INVITATION_OTHER_ADDRESS")
            #expect(anonymous.status == .unauthorized)
            #expect(right.status == .ok)
            let accepted = try jsonObject(right)
            #expect(accepted["projectId"] as? String == project.id.uuidString.lowercased() && accepted["role"] as? String == "editor")
            #expect(try jsonObject(try await app.request(.get, "/api/v1/auth/me", as: invitee))["emailVerified"] as? Bool == true)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: other).status == .notFound)
        }
    }

    @Test func aRevokedOrReplacedInvitationsLinkIsInvalid() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            try await Self.add(app, "gone@example.org", as: "viewer", to: project.id, by: owner)
            let first = try await app.mailedToken(to: "gone@example.org", template: "invitation")

            // inviting again within ten minutes mails nothing more, and the first link still works
            try await Self.add(app, "gone@example.org", as: "editor", to: project.id, by: owner)
            #expect(try await app.outboxCount(to: "gone@example.org", template: "invitation") == 1)
            #expect(try await app.request(.post, "/api/v1/invitations/preview", json: ["token": first]).status == .ok)

            // ten minutes later a new message replaces the link
            try await app.database.query("UPDATE project_invitations SET mailed_at = mailed_at - interval '11 minutes'")
            try await Self.add(app, "gone@example.org", as: "editor", to: project.id, by: owner)
            #expect(try await app.outboxCount(to: "gone@example.org", template: "invitation") == 2)
            let second = try await app.mailedToken(to: "gone@example.org", template: "invitation")
            let replaced = try await app.request(.post, "/api/v1/invitations/preview", json: ["token": first])
            #expect(replaced.status == .notFound && replaced.problemCode == "INVITATION_INVALID")

            // revoked: the newer link is invalid too, and so is a sign-up with it
            let list = try jsonObject(try await app.request(.get, "/api/v1/projects/\(project.id)/members", as: owner))
            let invitation = try #require((list["items"] as? [[String: Any]])?.first { $0["pending"] as? Bool == true }?["invitationId"] as? String)
            let revoke = try await app.request(.delete, "/api/v1/projects/\(project.id)/invitations/\(invitation)", as: owner)
            #expect(revoke.status == .noContent)
            let revoked = try await app.request(.post, "/api/v1/invitations/preview", json: ["token": second])
            #expect(revoked.status == .notFound && revoked.problemCode == "INVITATION_INVALID")
            let signUp = try await app.request(
                .post, "/api/v1/auth/register", json: ["email": "gone@example.org", "password": "correct horse battery", "invitationToken": second])
            #expect(signUp.status == .notFound && signUp.problemCode == "INVITATION_INVALID")
        }
    }

    @Test func aSignUpWithAnotherAddressThanTheInvitedOneIsRefused() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            try await Self.add(app, "invited@example.org", as: "viewer", to: project.id, by: owner)
            let token = try await app.mailedToken(to: "invited@example.org", template: "invitation")

            let signUp = try await app.request(
                .post, "/api/v1/auth/register",
                json: ["email": "someone.else@example.org", "password": "correct horse battery", "invitationToken": token])

            #expect(signUp.status == .forbidden && signUp.problemCode == "INVITATION_OTHER_ADDRESS")
            let rows = try await app.database.query("SELECT count(*)::int8 FROM users WHERE email = 'someone.else@example.org'")
            for try await count in rows.decode(Int64.self) { #expect(count == 0) }
        }
    }

    @Test func anAccountThatIsAddedIsToldOnce() async throws {
        try await withTestApp(environment: ["SEG_PUBLIC_URL": "https://seghub.lab.example"]) { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner, name: "Organoids")
            let member = try await app.register("Added.Member@example.org")

            try await Self.add(app, member.email, as: "viewer", to: project.id, by: owner)
            try await Self.add(app, member.email, as: "editor", to: project.id, by: owner)

            #expect(try await app.outboxCount(to: member.email, template: "member-added") == 1)
            #expect(try await app.outboxCount(to: member.email, template: "invitation") == 0)
            let mails = try await MailOutboxRepository.list(state: nil, limit: 20, on: Database(client: app.database, logger: TestApp.logger))
            let notice = try #require(mails.first { $0.mail.template == "member-added" }?.mail)
            #expect(notice.text.contains("\"Organoids\"") && notice.text.contains("as viewer"))
            #expect(notice.text.contains("https://seghub.lab.example/#/projects/\(project.id.uuidString.lowercased())"))
        }
    }

    @Test func aShareLinkCanBeMailedAndTheMailedLinkJoins() async throws {
        try await withTestApp(environment: ["SEG_PUBLIC_URL": "https://seghub.lab.example"]) { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner, name: "Shared by mail")
            let reader = try await app.register("link.reader@example.org")
            let path = "/api/v1/projects/\(project.id)/share-links"

            // MUT
            let created = try await app.request(.post, path, as: owner, json: ["role": "viewer", "email": " link.reader@example.org "])
            let bad = try await app.request(.post, path, as: owner, json: ["role": "viewer", "email": "not an address"])

            // validate: the answer names the recipient; the message carries the link; accepting it joins
            #expect(created.status == .created)
            let body = try jsonObject(created)
            #expect(body["mailedTo"] as? String == "link.reader@example.org")
            let token = try await app.mailedToken(to: reader.email, template: "share-link")
            #expect(token == body["token"] as? String)
            let mails = try await MailOutboxRepository.list(state: nil, limit: 20, on: Database(client: app.database, logger: TestApp.logger))
            let mail = try #require(mails.first { $0.mail.template == "share-link" }?.mail)
            #expect(mail.text.contains("https://seghub.lab.example/#/share/\(token)") && mail.text.contains("7 day(s)"))
            let accept = try await app.request(.post, "/api/v1/share-links/\(token)/accept", as: reader)
            #expect(accept.status == .ok)
            // a bad address: 400, and neither a link nor a message
            #expect(bad.status == .badRequest && bad.problemCode == "VALIDATION_FAILED")
            let links = try jsonObject(try await app.request(.get, path, as: owner))
            #expect((links["items"] as? [Any])?.count == 1)
        }
    }
}
