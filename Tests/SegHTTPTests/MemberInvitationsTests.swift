import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SegHTTP
import SegStorage
import Testing

/// Adding a member by an address without an account (issue 15, point 9): the same answer as for an account, a pending
/// invitation listed to the owner by address only, activated when the address signs up, revocable by the owner.
@Suite(.timeLimit(.minutes(5))) struct MemberInvitationsTests {
    /// The items of the project's member list as `user` sees it (first page of up to 500).
    static func entries(_ app: TestApp, _ project: UUID, as user: TestUser) async throws -> [[String: Any]] {
        let response = try await app.request(.get, "/api/v1/projects/\(project)/members?limit=500", as: user)
        try #require(response.status == .ok, "list answered \(response.status)")
        return try #require(try jsonObject(response)["items"] as? [[String: Any]])
    }

    /// The pending entries of the owner's list.
    static func pending(_ app: TestApp, _ project: UUID, as owner: TestUser) async throws -> [[String: Any]] {
        try await entries(app, project, as: owner).filter { $0["pending"] as? Bool == true }
    }

    @Test func addingAnswersTheSameForAnAccountAndAnAddressWithoutOne() async throws {
        try await withTestApp { app in
            // setup: the two local parts have the same length, so the answers can match byte for byte
            let owner = try await app.register()
            _ = try await app.register("Kim.Account@Example.org")
            let project = try await app.createProject(as: owner)
            let path = "/api/v1/projects/\(project.id)/members"

            for role in ["viewer", "editor"] {
                // MUT: the account typed in another case, and an address nobody has; then again with a new role
                let known = try await app.request(.post, path, as: owner, json: ["email": "  kim.account@EXAMPLE.org ", "role": role])
                let unknown = try await app.request(.post, path, as: owner, json: ["email": "  kim.nothing@EXAMPLE.org ", "role": role])

                // validate: status, header names, length, keys, and the values with the address swapped all agree (the
                // encoder's key order is not fixed, so the objects are compared, not the bytes)
                #expect(known.status == .created && unknown.status == .created, "\(role)")
                #expect(Set(known.headers.map(\.name)) == Set(unknown.headers.map(\.name)), "\(role)")
                #expect(known.headers[.contentLength] == unknown.headers[.contentLength], "\(role)")
                let knownObject = try jsonObject(known)
                let unknownObject = try jsonObject(unknown)
                #expect(Set(knownObject.keys) == ["email", "role"] && Set(unknownObject.keys) == Set(knownObject.keys), "\(role)")
                // the address as typed: the account's own spelling (Kim.Account@Example.org) does not show
                #expect(knownObject["email"] as? String == "kim.account@EXAMPLE.org")
                #expect(unknownObject["email"] as? String == "kim.nothing@EXAMPLE.org")
                #expect(knownObject["role"] as? String == role && unknownObject["role"] as? String == role)
                var knownSwapped = knownObject
                knownSwapped["email"] = (knownObject["email"] as? String)?.replacingOccurrences(of: "kim.account", with: "kim.X")
                var unknownSwapped = unknownObject
                unknownSwapped["email"] = (unknownObject["email"] as? String)?.replacingOccurrences(of: "kim.nothing", with: "kim.X")
                #expect(knownSwapped as NSDictionary == unknownSwapped as NSDictionary, "\(role)")
            }

            // what each did: the account is an editor, the address is invited as one
            let entries = try await Self.entries(app, project.id, as: owner)
            #expect(entries.filter { $0["email"] as? String == "Kim.Account@Example.org" }.map { $0["role"] as? String } == ["editor"])
            let invited = try await Self.pending(app, project.id, as: owner)
            #expect(invited.map { $0["email"] as? String } == ["kim.nothing@EXAMPLE.org"])
            #expect(invited.map { $0["role"] as? String } == ["editor"])
        }
    }

    @Test func theOwnersListShowsAPendingInviteeByAddressOnly() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.addMember(editor, role: "editor", to: project.id, as: owner)
            let invite = try await app.request(
                .post, "/api/v1/projects/\(project.id)/members", as: owner, json: ["email": "Lou.Pending@Example.org", "role": "viewer"])
            #expect(invite.status == .created)

            // MUT
            let ownersView = try await Self.entries(app, project.id, as: owner)
            let editorsView = try await Self.entries(app, project.id, as: editor)

            // validate: members with their account, the invitee by address only, after them (newest last)
            #expect(ownersView.count == 3)
            for member in ownersView.prefix(2) {
                #expect(Set(member.keys) == ["userId", "email", "name", "role", "createdAt", "pending"])
                #expect(member["pending"] as? Bool == false)
            }
            let invitee = try #require(ownersView.last)
            #expect(Set(invitee.keys) == ["invitationId", "email", "role", "createdAt", "pending"])
            #expect(invitee["pending"] as? Bool == true)
            #expect(invitee["email"] as? String == "Lou.Pending@Example.org" && invitee["role"] as? String == "viewer")
            #expect(UUID(uuidString: invitee["invitationId"] as? String ?? "") != nil)
            // other members see the members only
            #expect(editorsView.map { $0["userId"] as? String } == ownersView.prefix(2).map { $0["userId"] as? String })
            #expect(editorsView.allSatisfy { $0["pending"] as? Bool == false })
        }
    }

    @Test func signingUpActivatesTheInvitationWithItsRole() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let added = try await app.request(
                .post, "/api/v1/projects/\(project.id)/members", as: owner, json: ["email": "Pat.New@Example.org", "role": "editor"])
            #expect(added.status == .created)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: owner).status == .ok)

            // MUT: sign up with the address in another letter case
            let pat = try await app.register("pat.new@EXAMPLE.ORG")

            // validate: an editor at once, the invitation gone, the activation audited
            let seen = try await app.request(.get, "/api/v1/projects/\(project.id)", as: pat)
            #expect(seen.status == .ok)
            #expect(try seen.decode(ProjectJSON.self).myRole == "editor")
            let entries = try await Self.entries(app, project.id, as: owner)
            #expect(entries.count == 2)
            #expect(entries.allSatisfy { $0["pending"] as? Bool == false })
            #expect(entries.last?["userId"] as? String == pat.id.uuidString.lowercased())
            #expect(entries.last?["role"] as? String == "editor")
            #expect(try await app.auditActions(target: project.id) == ["project.create", "invitation.create", "invitation.activate"])
            let rename = try await app.request(.patch, "/api/v1/projects/\(project.id)", as: pat, json: ["name": "by pat"])
            #expect(rename.status == .ok)
        }
    }

    @Test func aRevokedInvitationGrantsNothing() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let path = "/api/v1/projects/\(project.id)"
            #expect(
                try await app.request(.post, "\(path)/members", as: owner, json: ["email": "ray@example.org", "role": "editor"]).status == .created)
            let invitation = try #require(try await Self.pending(app, project.id, as: owner).first?["invitationId"] as? String)

            // MUT
            let revoked = try await app.request(.delete, "\(path)/invitations/\(invitation)", as: owner)

            // validate: gone from the list, a second revoke finds nothing, and signing up grants nothing
            #expect(revoked.status == .noContent)
            #expect(try await Self.pending(app, project.id, as: owner).isEmpty)
            let again = try await app.request(.delete, "\(path)/invitations/\(invitation)", as: owner)
            #expect(again.status == .notFound && again.problemCode == "NOT_FOUND")
            #expect(try await app.request(.delete, "\(path)/invitations/not-a-uuid", as: owner).status == .notFound)
            let ray = try await app.register("ray@example.org")
            #expect(try await app.request(.get, path, as: ray).status == .notFound)
            #expect(try await Self.entries(app, project.id, as: owner).count == 1)
            #expect(try await app.auditActions(target: project.id) == ["project.create", "invitation.create", "invitation.revoke"])
        }
    }

    @Test func onlyTheOwnerInvitesAndRevokes() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let viewer = try await app.register()
            let stranger = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.addMember(editor, role: "editor", to: project.id, as: owner)
            try await app.addMember(viewer, role: "viewer", to: project.id, as: owner)
            let path = "/api/v1/projects/\(project.id)"
            #expect(
                try await app.request(.post, "\(path)/members", as: owner, json: ["email": "sam@example.org", "role": "viewer"]).status == .created)
            let invitation = try #require(try await Self.pending(app, project.id, as: owner).first?["invitationId"] as? String)
            let body = ["email": "tess@example.org", "role": "viewer"]

            // MUT + validate: editors and viewers are refused (403), strangers cannot tell the project exists (404)
            for member in [editor, viewer] {
                let invite = try await app.request(.post, "\(path)/members", as: member, json: body)
                #expect(invite.status == .forbidden && invite.problemCode == "FORBIDDEN")
                let revoke = try await app.request(.delete, "\(path)/invitations/\(invitation)", as: member)
                #expect(revoke.status == .forbidden && revoke.problemCode == "FORBIDDEN")
            }
            let foreign = try await app.request(.delete, "\(path)/invitations/\(invitation)", as: stranger)
            let missing = try await app.request(.delete, "/api/v1/projects/\(UUID())/invitations/\(invitation)", as: stranger)
            #expect(foreign.status == .notFound && foreign.body == missing.body)
            let foreignInvite = try await app.request(.post, "\(path)/members", as: stranger, json: body)
            #expect(foreignInvite.status == .notFound)
            #expect(try await app.request(.delete, "\(path)/invitations/\(invitation)").status == .unauthorized)
            // another project's owner cannot reach it through their own project
            let elsewhere = try await app.createProject(as: stranger)
            let crossed = try await app.request(.delete, "/api/v1/projects/\(elsewhere.id)/invitations/\(invitation)", as: stranger)
            #expect(crossed.status == .notFound)

            // nothing changed: one invitation, for sam
            #expect(try await Self.pending(app, project.id, as: owner).map { $0["email"] as? String } == ["sam@example.org"])
        }
    }

    @Test func invitingAgainChangesTheRoleWithoutADuplicate() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let path = "/api/v1/projects/\(project.id)/members"

            // MUT: three adds of one address, in two spellings
            for (email, role) in [("uma@example.org", "viewer"), ("UMA@Example.org", "editor"), ("uma@example.ORG", "editor")] {
                let answer = try await app.request(.post, path, as: owner, json: ["email": email, "role": role])
                #expect(answer.status == .created, "\(email)")
            }

            // validate: one invitation with the last role and spelling; the role change audited once
            let invited = try await Self.pending(app, project.id, as: owner)
            #expect(invited.count == 1)
            #expect(invited.first?["role"] as? String == "editor" && invited.first?["email"] as? String == "uma@example.ORG")
            #expect(try await app.auditActions(target: project.id) == ["project.create", "invitation.create", "invitation.role"])
            let uma = try await app.register("Uma@example.org")
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: uma).decode(ProjectJSON.self).myRole == "editor")
        }
    }

    @Test func deletingTheProjectRemovesItsInvitations() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let kept = try await app.createProject(as: owner)
            for id in [project.id, kept.id] {
                let answer = try await app.request(
                    .post, "/api/v1/projects/\(id)/members", as: owner, json: ["email": "vic@example.org", "role": "viewer"])
                #expect(answer.status == .created)
            }

            // MUT
            #expect(try await app.request(.delete, "/api/v1/projects/\(project.id)", as: owner).status == .noContent)

            // validate: no row left for the deleted project; signing up joins only the other one
            #expect(try await app.count("SELECT count(*)::int8 FROM project_invitations WHERE project_id = \(project.id)") == 0)
            #expect(try await app.count("SELECT count(*)::int8 FROM project_invitations WHERE project_id = \(kept.id)") == 1)
            let vic = try await app.register("vic@example.org")
            let projects = try await app.request(.get, "/api/v1/projects", as: vic).decode(PageJSON<ProjectJSON>.self)
            #expect(projects.items.map(\.id) == [kept.id])
        }
    }

    @Test func theLimitAnswersTheSameForAnAccountAndAnAddressWithoutOne() async throws {
        try await withTestApp { app in
            // setup: the owner and 999 invitations fill the project
            let owner = try await app.register()
            let member = try await app.register()
            let outsider = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.addMember(member, role: "viewer", to: project.id, as: owner)
            _ = try await app.database.query(
                """
                INSERT INTO project_invitations (project_id, email, role)
                SELECT \(project.id), 'filler-' || n || '@example.org', 'viewer' FROM generate_series(1, 998) AS n
                """)
            let path = "/api/v1/projects/\(project.id)/members"

            // MUT
            let known = try await app.request(.post, path, as: owner, json: ["email": outsider.email, "role": "viewer"])
            let unknown = try await app.request(.post, path, as: owner, json: ["email": "nobody-at-all@example.org", "role": "viewer"])

            // validate: one answer for both; existing entries still change role
            #expect(known.status == .conflict && known.problemCode == "MEMBER_LIMIT_REACHED")
            #expect(unknown.status == .conflict && known.body == unknown.body)
            #expect(try await app.request(.post, path, as: owner, json: ["email": member.email, "role": "editor"]).status == .created)
            #expect(try await app.request(.post, path, as: owner, json: ["email": "FILLER-7@example.org", "role": "editor"]).status == .created)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: outsider).status == .notFound)
        }
    }

    @Test func loggingInActivatesInvitationsLeftForAnExistingAccount() async throws {
        try await withTestApp { app in
            // setup: an invitation for an address that already has an account, as an older release's sign-up leaves it
            let owner = try await app.register()
            let wes = try await app.register("wes@example.org")
            let project = try await app.createProject(as: owner)
            _ = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "WES@example.org", role: .editor, invitedBy: owner.id,
                on: Database(client: app.database, logger: TestApp.logger))
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: wes).status == .notFound)

            // MUT
            let login = try await app.request(.post, "/api/v1/auth/login", json: ["email": wes.email, "password": wes.password])

            // validate
            #expect(login.status == .ok)
            let seen = try await app.request(.get, "/api/v1/projects/\(project.id)", as: wes)
            #expect(seen.status == .ok)
            #expect(try seen.decode(ProjectJSON.self).myRole == "editor")
            #expect(try await Self.pending(app, project.id, as: owner).isEmpty)
            #expect(try await app.auditActions(target: project.id) == ["project.create", "invitation.activate"])
        }
    }
}
