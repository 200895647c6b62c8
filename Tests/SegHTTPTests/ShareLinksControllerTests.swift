import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

@testable import SegHTTP
@testable import SegStorage

/// Share links: create, list, revoke (owner only) and accept (any signed-in user), against a real PostgreSQL.
@Suite(.timeLimit(.minutes(5))) struct ShareLinksControllerTests {
    struct Created: Decodable {
        var id: UUID
        var token: String
        var role: String
        var expiresAt: Date
    }

    struct Accepted: Decodable {
        var projectId: UUID
        var userId: UUID
        var role: String
    }

    struct Link: Decodable {
        var id: UUID
        var role: String
        var state: String
    }

    struct List: Decodable {
        var items: [Link]
    }

    struct LinkRequest: Encodable, Sendable {
        var role: String
        var expiresInHours: Double?
    }

    @Test func theOwnerCreatesALinkWhoseTokenIsStoredHashed() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let before = Date()

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/share-links", as: owner, json: LinkRequest(role: "editor", expiresInHours: 48))

            // validate
            #expect(response.status == .created)
            let link = try response.decode(Created.self)
            #expect(link.role == "editor")
            #expect(link.token.hasPrefix("sl_"))
            // 32 random bytes: 43 base64url characters after the prefix.
            #expect(link.token.utf8.count == 46)
            #expect(link.expiresAt > before.addingTimeInterval(48 * 3600 - 60))
            #expect(link.expiresAt < Date().addingTimeInterval(48 * 3600 + 60))
            var stored: [(Data, String)] = []
            let rows = try await app.database.query(
                "SELECT token_hash, role FROM share_links WHERE id = \(link.id)", logger: TestApp.logger)
            for try await row in rows.decode((Data, String).self) { stored.append(row) }
            #expect(stored.count == 1)
            #expect(stored.first?.0 == Data(SHA256.hash(data: Data(link.token.utf8))))
            #expect(stored.first?.1 == "editor")
            // The token itself is nowhere in the table.
            let dump = try await app.tableText("share_links")
            #expect(!dump.contains(link.token))
            #expect(!dump.contains(String(link.token.dropFirst(3))))
            #expect(try await app.auditActions().contains("share_link.create"))

            // Another link has another token.
            let second = try await app.request(
                .post, "/api/v1/projects/\(project)/share-links", as: owner, json: LinkRequest(role: "viewer", expiresInHours: nil))
            let other = try second.decode(Created.self)
            #expect(other.token != link.token)
            // Without expiresInHours: a week.
            #expect(other.expiresAt > before.addingTimeInterval(168 * 3600 - 60))
        }
    }

    @Test(arguments: [
        #"{"role": "owner", "expiresInHours": 1}"#, #"{"role": "admin"}"#, #"{"expiresInHours": 1}"#,
        #"{"role": "viewer", "expiresInHours": 0}"#, #"{"role": "viewer", "expiresInHours": -1}"#,
        #"{"role": "viewer", "expiresInHours": 721}"#, #"{"role": "viewer", "expiresInHours": "1"}"#, "[]",
    ])
    func badLinksAre400(_ body: String) async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)

            let response = try await app.request(.post, "/api/v1/projects/\(project)/share-links", as: owner, jsonText: body)

            #expect(response.status == .badRequest)
            #expect(response.problemCode == "VALIDATION_FAILED")
            #expect(try await app.count("SELECT count(*) FROM share_links") == 0)
        }
    }

    @Test func onlyTheOwnerManagesLinks() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let viewer = try await app.register()
            let stranger = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(editor, to: project, role: .editor)
            try await app.addMember(viewer, to: project, role: .viewer)
            let link = try await app.makeLink(project, by: owner, role: "viewer")
            let base = "/api/v1/projects/\(project)/share-links"

            // MUT and validate
            for user in [editor, viewer] {
                #expect(try await app.request(.post, base, as: user, json: LinkRequest(role: "viewer")).status == .forbidden)
                #expect(try await app.request(.get, base, as: user).status == .forbidden)
                #expect(try await app.request(.delete, "\(base)/\(link.id)", as: user).status == .forbidden)
            }
            #expect(try await app.request(.post, base, as: stranger, json: LinkRequest(role: "viewer")).status == .notFound)
            #expect(try await app.request(.get, base, as: stranger).status == .notFound)
            #expect(try await app.request(.delete, "\(base)/\(link.id)", as: stranger).status == .notFound)
            #expect(try await app.request(.post, base, json: LinkRequest(role: "viewer")).status == .unauthorized)
            #expect(try await app.request(.post, "/api/v1/share-links/\(link.token)/accept").status == .unauthorized)
            #expect(try await app.count("SELECT count(*) FROM share_links") == 1)
        }
    }

    @Test func acceptingMakesAMemberOnce() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let friend = try await app.register()
            let latecomer = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let link = try await app.makeLink(project, by: owner, role: "editor")

            // MUT
            let accepted = try await app.request(.post, "/api/v1/share-links/\(link.token)/accept", as: friend)
            let again = try await app.request(.post, "/api/v1/share-links/\(link.token)/accept", as: latecomer)

            // validate
            #expect(accepted.status == .ok)
            let membership = try accepted.decode(Accepted.self)
            #expect(membership.projectId == project)
            #expect(membership.userId == friend.id)
            #expect(membership.role == "editor")
            #expect(try await app.role(of: friend, in: project) == "editor")
            #expect(again.status == .notFound)
            #expect(again.problemCode == "SHARE_LINK_INVALID")
            #expect(try await app.role(of: latecomer, in: project) == nil)
            // The new member sees the project.
            #expect(try await app.request(.get, "/api/v1/projects/\(project)", as: friend).status == .ok)
            let list = try await app.request(.get, "/api/v1/projects/\(project)/share-links", as: owner)
            #expect(try list.decode(List.self).items.map(\.state) == ["used"])
            #expect(try await app.auditActions().contains("share_link.accept"))
        }
    }

    @Test func everyInvalidTokenGetsTheSameAnswer() async throws {
        try await withTestApp { app in
            // setup: a used link, an expired link, a revoked link, an unknown and a malformed token
            let owner = try await app.register()
            let user = try await app.register()
            let other = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let used = try await app.makeLink(project, by: owner, role: "viewer")
            #expect(try await app.request(.post, "/api/v1/share-links/\(used.token)/accept", as: other).status == .ok)
            let expired = try await app.makeLink(project, by: owner, role: "viewer")
            try await app.execute("UPDATE share_links SET expires_at = now() - interval '1 second' WHERE id = \(expired.id)")
            let revoked = try await app.makeLink(project, by: owner, role: "viewer")
            #expect(try await app.request(.delete, "/api/v1/projects/\(project)/share-links/\(revoked.id)", as: owner).status == .noContent)
            let unknown = "sl_" + String(repeating: "A", count: 43)
            let tokens = [used.token, expired.token, revoked.token, unknown, "sl_short", "rt_" + String(used.token.dropFirst(3)), "%00"]

            // MUT
            var bodies: Set<String> = []
            for token in tokens {
                let response = try await app.request(.post, "/api/v1/share-links/\(token)/accept", as: user)
                #expect(response.status == .notFound, "\(token)")
                #expect(response.problemCode == "SHARE_LINK_INVALID", "\(token)")
                bodies.insert(String(buffer: response.body))
            }

            // validate: indistinguishable, and nothing changed
            #expect(bodies.count == 1)
            #expect(try await app.role(of: user, in: project) == nil)
            let list = try await app.request(.get, "/api/v1/projects/\(project)/share-links", as: owner)
            let states = try list.decode(List.self).items.map(\.state)
            #expect(states.sorted() == ["expired", "used"])
        }
    }

    @Test func revokingRemovesTheLink() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let user = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let otherProject = try await app.makeProject(owner: owner)
            let link = try await app.makeLink(project, by: owner, role: "editor")
            let keep = try await app.makeLink(project, by: owner, role: "viewer")

            // A link is revoked only through its own project.
            #expect(try await app.request(.delete, "/api/v1/projects/\(otherProject)/share-links/\(link.id)", as: owner).status == .notFound)
            let revoked = try await app.request(.delete, "/api/v1/projects/\(project)/share-links/\(link.id)", as: owner)
            #expect(revoked.status == .noContent)
            let twice = try await app.request(.delete, "/api/v1/projects/\(project)/share-links/\(link.id)", as: owner)
            #expect(twice.status == .notFound)

            let list = try await app.request(.get, "/api/v1/projects/\(project)/share-links", as: owner)
            #expect(try list.decode(List.self).items.map(\.id) == [keep.id])
            #expect(!String(buffer: list.body).contains(keep.token))
            #expect(!String(buffer: list.body).contains("token"))
            let accept = try await app.request(.post, "/api/v1/share-links/\(link.token)/accept", as: user)
            #expect(accept.problemCode == "SHARE_LINK_INVALID")
            #expect(try await app.auditActions().contains("share_link.revoke"))
        }
    }

    @Test func acceptingNeverLowersARole() async throws {
        try await withTestApp { app in
            // setup: an editor and the owner accept viewer links; a viewer accepts an editor link
            let owner = try await app.register()
            let editor = try await app.register()
            let viewer = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(editor, to: project, role: .editor)
            try await app.addMember(viewer, to: project, role: .viewer)

            // MUT and validate
            let forEditor = try await app.makeLink(project, by: owner, role: "viewer")
            let editorAnswer = try await app.request(.post, "/api/v1/share-links/\(forEditor.token)/accept", as: editor)
            #expect(try editorAnswer.decode(Accepted.self).role == "editor")
            #expect(try await app.role(of: editor, in: project) == "editor")

            let forOwner = try await app.makeLink(project, by: owner, role: "editor")
            let ownerAnswer = try await app.request(.post, "/api/v1/share-links/\(forOwner.token)/accept", as: owner)
            #expect(try ownerAnswer.decode(Accepted.self).role == "owner")
            #expect(try await app.role(of: owner, in: project) == "owner")

            let forViewer = try await app.makeLink(project, by: owner, role: "editor")
            let viewerAnswer = try await app.request(.post, "/api/v1/share-links/\(forViewer.token)/accept", as: viewer)
            #expect(try viewerAnswer.decode(Accepted.self).role == "editor")
            #expect(try await app.role(of: viewer, in: project) == "editor")
        }
    }

    @Test func twoConcurrentAcceptsGiveOneMember() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            var users: [TestUser] = []
            for _ in 0..<6 { users.append(try await app.register()) }
            let link = try await app.makeLink(project, by: owner, role: "viewer")

            // MUT: everyone accepts the same link at once
            let statuses = try await withThrowingTaskGroup(of: (UUID, HTTPResponse.Status).self) { group in
                for user in users {
                    group.addTask { (user.id, try await app.request(.post, "/api/v1/share-links/\(link.token)/accept", as: user).status) }
                }
                var all: [(UUID, HTTPResponse.Status)] = []
                for try await result in group { all.append(result) }
                return all
            }

            // validate: exactly one success, and exactly that user is a member
            let winners = statuses.filter { $0.1 == .ok }.map(\.0)
            #expect(winners.count == 1)
            #expect(statuses.filter { $0.1 == .notFound }.count == users.count - 1)
            #expect(try await app.count("SELECT count(*) FROM project_members WHERE project_id = \(project) AND role = 'viewer'") == 1)
            if let winner = users.first(where: { $0.id == winners.first }) {
                #expect(try await app.role(of: winner, in: project) == "viewer")
            }
        }
    }

    @Test func theAccessLogHidesTokens() {
        let token = "sl_" + String(repeating: "x", count: 43)
        #expect(RequestIDMiddleware.loggedPath("/api/v1/share-links/\(token)/accept") == "/api/v1/share-links/{token}/accept")
        #expect(RequestIDMiddleware.loggedPath("/api/v1/share-links/\(token)") == "/api/v1/share-links/{token}")
        #expect(RequestIDMiddleware.loggedPath("/api/v1/projects/x/share-links") == "/api/v1/projects/x/share-links")
    }
}

extension TestApp {
    /// Creates a share link through the API.
    func makeLink(_ project: UUID, by owner: TestUser, role: String) async throws -> ShareLinksControllerTests.Created {
        let response = try await request(
            .post, "/api/v1/projects/\(project)/share-links", as: owner,
            json: ShareLinksControllerTests.LinkRequest(role: role, expiresInHours: 24))
        try #require(response.status == .created)
        return try response.decode(ShareLinksControllerTests.Created.self)
    }

    /// The user's role in the project, as stored.
    func role(of user: TestUser, in project: UUID) async throws -> String? {
        var role: String?
        let rows = try await database.query(
            "SELECT role FROM project_members WHERE project_id = \(project) AND user_id = \(user.id)", logger: TestApp.logger)
        for try await value in rows.decode(String.self) { role = value }
        return role
    }

    /// Every row of `table` as text.
    func tableText(_ table: String) async throws -> String {
        var text = ""
        let rows = try await database.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \(table) t"), logger: TestApp.logger)
        for try await row in rows.decode(String.self) { text += row + "\n" }
        return text
    }
}
