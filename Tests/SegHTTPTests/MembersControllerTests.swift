import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SegHTTP
import Testing

@Suite(.timeLimit(.minutes(5))) struct MembersControllerTests {
    /// A member as the API returns it.
    struct MemberJSON: Decodable, Equatable {
        var userId: UUID
        var email: String
        var name: String
        var role: String
        var createdAt: Date
        var pending: Bool
    }

    /// What adding answers.
    struct AddedJSON: Decodable, Equatable {
        var email: String
        var role: String
    }

    @Test func ownerAddsListsAndChangesRoles() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let alice = try await app.register("Alice@Example.org")
            let project = try await app.createProject(as: owner)
            let path = "/api/v1/projects/\(project.id)/members"

            // MUT: add by email in any case, then change the role by adding again
            let added = try await app.request(.post, path, as: owner, json: ["email": "  alice@example.ORG ", "role": "viewer"])
            #expect(added.status == .created)
            // the address as given and the role, nothing of the account (the answer for an address without one is the same)
            #expect(try added.decode(AddedJSON.self) == AddedJSON(email: "alice@example.ORG", role: "viewer"))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(added.body.readableBytesView)) as? [String: Any])
            #expect(Set(object.keys) == ["email", "role"])
            let member = try #require(try await app.request(.get, path, as: owner).decode(PageJSON<MemberJSON>.self).items.last)
            #expect(member.userId == alice.id && member.email == "Alice@Example.org" && member.role == "viewer" && !member.pending)

            let changed = try await app.request(.post, path, as: owner, json: ["email": alice.email, "role": "editor"])
            #expect(changed.status == .created)
            #expect(try changed.decode(AddedJSON.self).role == "editor")
            let same = try await app.request(.post, path, as: owner, json: ["email": alice.email, "role": "editor"])
            #expect(same.status == .created)

            // validate: the owner first, one row for alice with her first join time, her new role works
            let list = try await app.request(.get, path, as: alice)
            #expect(list.status == .ok)
            let members = try list.decode(PageJSON<MemberJSON>.self)
            #expect(members.items.map(\.userId) == [owner.id, alice.id])
            #expect(members.items.map(\.role) == ["owner", "editor"])
            #expect(members.items.last?.createdAt == member.createdAt)
            #expect(members.nextCursor == nil)
            let rename = try await app.request(.patch, "/api/v1/projects/\(project.id)", as: alice, json: ["name": "by alice"])
            #expect(rename.status == .ok)
            #expect(try await app.auditActions(target: project.id) == ["project.create", "member.add", "member.role", "project.update"])
        }
    }

    @Test func membersListAcrossPages() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            var expected = [owner.id]
            for _ in 0..<4 {
                let user = try await app.register()
                try await app.addMember(user, role: "viewer", to: project.id, as: owner)
                expected.append(user.id)
            }
            var seen: [UUID] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
                let response = try await app.request(.get, "/api/v1/projects/\(project.id)/members?limit=2\(query)", as: owner)
                #expect(response.status == .ok)
                let page = try response.decode(PageJSON<MemberJSON>.self)
                seen += page.items.map(\.userId)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == expected)
        }
    }

    @Test func addingIsRefusedWithStableCodes() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let bob = try await app.register()
            let stranger = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.addMember(editor, role: "editor", to: project.id, as: owner)
            let path = "/api/v1/projects/\(project.id)/members"

            // MUT and validate: bodies
            let bodies: [(json: [String: String], field: String)] = [
                (["email": bob.email, "role": "owner"], "role"),
                (["email": bob.email, "role": "admin"], "role"),
                (["email": bob.email], "role"),
                (["role": "viewer"], "email"),
                (["email": " ", "role": "viewer"], "email"),
                (["email": "no-at-sign.example.org", "role": "viewer"], "email"),
                (["email": "@example.org", "role": "viewer"], "email"),
                (["email": "bob@", "role": "viewer"], "email"),
                (["email": "bob smith@example.org", "role": "viewer"], "email"),
                (["email": String(repeating: "b", count: 250) + "@x.org", "role": "viewer"], "email"),
            ]
            for (json, field) in bodies {
                let response = try await app.request(.post, path, as: owner, json: json)
                #expect(response.status == .badRequest, "\(json)")
                #expect(response.problemCode == "VALIDATION_FAILED", "\(json)")
                #expect(try response.decode(ProblemJSON.self).errors?.first?.field == field, "\(json)")
            }
            let garbage = try await app.request(.post, path, as: owner, body: ByteBuffer(string: "[1, 2"))
            #expect(garbage.status == .badRequest)
            #expect(garbage.problemCode == "VALIDATION_FAILED")

            let herself = try await app.request(.post, path, as: owner, json: ["email": owner.email, "role": "viewer"])
            #expect(herself.status == .conflict)
            #expect(herself.problemCode == "OWNER_ROLE_FIXED")

            // callers: only the owner adds; a stranger cannot tell the project exists
            let byEditor = try await app.request(.post, path, as: editor, json: ["email": bob.email, "role": "viewer"])
            #expect(byEditor.status == .forbidden)
            #expect(byEditor.problemCode == "FORBIDDEN")
            let viewer = try await app.register()
            try await app.addMember(viewer, role: "viewer", to: project.id, as: owner)
            let byViewer = try await app.request(.post, path, as: viewer, json: ["email": bob.email, "role": "viewer"])
            #expect(byViewer.status == .forbidden)
            #expect(try await app.request(.delete, "\(path)/\(editor.id)", as: viewer).status == .forbidden)
            let byStranger = try await app.request(.post, path, as: stranger, json: ["email": bob.email, "role": "viewer"])
            let missing = try await app.request(
                .post, "/api/v1/projects/\(UUID())/members", as: stranger, json: ["email": bob.email, "role": "viewer"])
            #expect(byStranger.status == .notFound)
            #expect(byStranger.body == missing.body)
            let anonymous = try await app.request(.post, path, json: ["email": bob.email, "role": "viewer"])
            #expect(anonymous.status == .unauthorized)
            #expect(try await app.request(.get, path).status == .unauthorized)
            #expect(try await app.request(.delete, "\(path)/\(bob.id)").status == .unauthorized)

            // nothing changed
            let members = try await app.request(.get, path, as: owner).decode(PageJSON<MemberJSON>.self)
            #expect(members.items.map(\.userId) == [owner.id, editor.id, viewer.id])
            #expect(members.items.map(\.role) == ["owner", "editor", "viewer"])
        }
    }

    @Test func strangersCannotListMembers() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let viewer = try await app.register()
            let stranger = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.addMember(viewer, role: "viewer", to: project.id, as: owner)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)/members", as: viewer).status == .ok)
            let foreign = try await app.request(.get, "/api/v1/projects/\(project.id)/members", as: stranger)
            let missing = try await app.request(.get, "/api/v1/projects/\(UUID())/members", as: stranger)
            #expect(foreign.status == .notFound)
            #expect(foreign.problemCode == "NOT_FOUND")
            #expect(foreign.body == missing.body)
        }
    }

    @Test func removingAndLeaving() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let viewer = try await app.register()
            let leaver = try await app.register()
            let project = try await app.createProject(as: owner)
            for (user, role) in [(editor, "editor"), (viewer, "viewer"), (leaver, "viewer")] {
                try await app.addMember(user, role: role, to: project.id, as: owner)
            }
            let path = "/api/v1/projects/\(project.id)/members"

            // MUT and validate: the owner cannot leave, others cannot remove anyone but themselves
            let ownerLeaves = try await app.request(.delete, "\(path)/\(owner.id)", as: owner)
            #expect(ownerLeaves.status == .conflict)
            #expect(ownerLeaves.problemCode == "OWNER_CANNOT_LEAVE")
            let editorRemovesOwner = try await app.request(.delete, "\(path)/\(owner.id)", as: editor)
            #expect(editorRemovesOwner.status == .forbidden)
            let editorRemovesViewer = try await app.request(.delete, "\(path)/\(viewer.id)", as: editor)
            #expect(editorRemovesViewer.status == .forbidden)
            #expect(editorRemovesViewer.problemCode == "FORBIDDEN")

            // a member leaves
            let left = try await app.request(.delete, "\(path)/\(leaver.id)", as: leaver)
            #expect(left.status == .noContent)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: leaver).status == .notFound)

            // the owner removes a member, who loses access at once
            let removed = try await app.request(.delete, "\(path)/\(viewer.id)", as: owner)
            #expect(removed.status == .noContent)
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: viewer).status == .notFound)
            let again = try await app.request(.delete, "\(path)/\(viewer.id)", as: owner)
            #expect(again.status == .notFound)
            #expect(again.problemCode == "NOT_FOUND")
            #expect(try await app.request(.delete, "\(path)/not-a-uuid", as: owner).status == .notFound)

            // the removed viewer cannot even tell the project exists
            let gone = try await app.request(.delete, "\(path)/\(viewer.id)", as: viewer)
            let missing = try await app.request(.delete, "/api/v1/projects/\(UUID())/members/\(viewer.id)", as: viewer)
            #expect(gone.status == .notFound)
            #expect(gone.body == missing.body)

            let members = try await app.request(.get, path, as: owner).decode(PageJSON<MemberJSON>.self)
            #expect(members.items.map(\.userId) == [owner.id, editor.id])
            let actions = try await app.auditActions(target: project.id)
            #expect(actions.filter { $0 == "member.remove" }.count == 2)
        }
    }
}
