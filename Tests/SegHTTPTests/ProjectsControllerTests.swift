import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import SegHTTP
import SegTestSupport
import Testing

@testable import SegStorage

@Suite(.timeLimit(.minutes(5))) struct ProjectsControllerTests {
    @Test func createReadRenameAndDelete() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()

            // MUT: create (the name is trimmed), read, rename
            let created = try await app.request(
                .post, "/api/v1/projects", as: owner, json: ["name": "  Spheroids  ", "description": "HeLa, day 3"])
            #expect(created.status == .created)
            let project = try created.decode(ProjectJSON.self)
            #expect(project.name == "Spheroids")
            #expect(project.description == "HeLa, day 3")
            #expect(project.ownerId == owner.id)
            #expect(project.myRole == "owner")
            #expect(project.imageCounts == ProjectJSON.Counts())
            #expect(abs(project.createdAt.timeIntervalSinceNow) < 300)

            let read = try await app.request(.get, "/api/v1/projects/\(project.id)", as: owner)
            #expect(read.status == .ok)
            #expect(try read.decode(ProjectJSON.self) == project)

            let renamed = try await app.request(.patch, "/api/v1/projects/\(project.id)", as: owner, json: ["name": "Organoids"])
            #expect(renamed.status == .ok)
            let after = try renamed.decode(ProjectJSON.self)
            #expect(after.name == "Organoids")
            #expect(after.description == "HeLa, day 3")
            let described = try await app.request(.patch, "/api/v1/projects/\(project.id)", as: owner, json: ["description": ""])
            #expect(try described.decode(ProjectJSON.self).description == "")

            let deleted = try await app.request(.delete, "/api/v1/projects/\(project.id)", as: owner)
            #expect(deleted.status == .noContent)

            // validate
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: owner).status == .notFound)
            let actions = try await app.auditActions(target: project.id)
            #expect(actions == ["project.create", "project.update", "project.update", "project.delete"])
        }
    }

    /// The exact shape of DESIGN.md section 3: these keys and no others, camelCase, ISO-8601 dates.
    @Test func projectShapeIsTheContract() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let created = try await app.request(.post, "/api/v1/projects", as: owner, json: ["name": "Shape"])
            #expect(created.status == .created)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(created.body.readableBytesView)) as? [String: Any])
            #expect(Set(object.keys) == ["id", "name", "description", "ownerId", "myRole", "createdAt", "imageCounts", "defaultSegmenter"])
            #expect(object["description"] as? String == "")
            let counts = try #require(object["imageCounts"] as? [String: Any])
            #expect(Set(counts.keys) == ["new", "queued", "processing", "segmented", "failed"])
            let createdAt = try #require(object["createdAt"] as? String)
            #expect(ISO8601DateFormatter().date(from: createdAt) != nil)
            // ids are written as PostgreSQL prints them (lowercase), the same text the realtime events carry
            let row = try #require(try await app.database.query("SELECT id::text, owner_id::text FROM projects").collect().first)
            let (id, ownerID) = try row.decode((String, String).self)
            #expect(object["id"] as? String == id)
            #expect(object["ownerId"] as? String == ownerID)
        }
    }

    @Test func badBodiesAreValidationProblemsNamingTheField() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let cases: [(body: String, field: String)] = [
                (#"{}"#, "name"),
                (#"{"name": "   "}"#, "name"),
                (#"{"name": 5}"#, "name"),
                (#"{"name": null}"#, "name"),
                (#"{"name": "\#(String(repeating: "n", count: 201))"}"#, "name"),
                (#"{"name": "tab\tin name"}"#, "name"),
                (#"{"name": "ok", "description": "\#(String(repeating: "d", count: 5_001))"}"#, "description"),
                (#"{"name": "ok", "description": "nul\u0000"}"#, "description"),
                (#"{"name": "ok", "description": ["x"]}"#, "description"),
                (#"{not json"#, "body"),
                (#""#, "body"),
            ]
            for (body, field) in cases {
                let response = try await app.request(.post, "/api/v1/projects", as: owner, body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body.prefix(60))")
                #expect(response.problemCode == "VALIDATION_FAILED", "\(body.prefix(60))")
                #expect(try response.decode(ProblemJSON.self).errors?.first?.field == field, "\(body.prefix(60))")
            }
            // the limits themselves are accepted
            let longest = try await app.request(
                .post, "/api/v1/projects", as: owner,
                json: ["name": String(repeating: "n", count: 200), "description": String(repeating: "d", count: 5_000)])
            #expect(longest.status == .created)
            // and a rename is checked the same way
            let project = try longest.decode(ProjectJSON.self)
            let rename = try await app.request(.patch, "/api/v1/projects/\(project.id)", as: owner, json: ["name": ""])
            #expect(rename.status == .badRequest)
            #expect(try rename.decode(ProblemJSON.self).errors?.first?.field == "name")
            let listed = try await app.request(.get, "/api/v1/projects", as: owner).decode(PageJSON<ProjectJSON>.self)
            #expect(listed.items.count == 1)
        }
    }

    @Test func anonymousCallersAreUnauthorized() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let calls: [(HTTPRequest.Method, String)] = [
                (.get, "/api/v1/projects"), (.post, "/api/v1/projects"), (.get, "/api/v1/projects/\(project.id)"),
                (.patch, "/api/v1/projects/\(project.id)"), (.delete, "/api/v1/projects/\(project.id)"),
            ]
            for (method, path) in calls {
                let response = try await app.request(method, path, json: ["name": "x"])
                #expect(response.status == .unauthorized, "\(method) \(path)")
                #expect(response.problemCode == "UNAUTHORIZED", "\(method) \(path)")
            }
            #expect(try await app.request(.get, "/api/v1/projects/\(project.id)", as: owner).status == .ok)
        }
    }

    @Test func viewersReadEditorsRenameOnlyTheOwnerDeletes() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let viewer = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.addMember(editor, role: "editor", to: project.id, as: owner)
            try await app.addMember(viewer, role: "viewer", to: project.id, as: owner)
            let path = "/api/v1/projects/\(project.id)"

            // MUT and validate
            let seen = try await app.request(.get, path, as: viewer)
            #expect(seen.status == .ok)
            #expect(try seen.decode(ProjectJSON.self).myRole == "viewer")
            #expect(try seen.decode(ProjectJSON.self).ownerId == owner.id)

            let viewerRename = try await app.request(.patch, path, as: viewer, json: ["name": "mine now"])
            #expect(viewerRename.status == .forbidden)
            #expect(viewerRename.problemCode == "FORBIDDEN")

            let editorRename = try await app.request(.patch, path, as: editor, json: ["name": "Edited"])
            #expect(editorRename.status == .ok)
            #expect(try editorRename.decode(ProjectJSON.self).myRole == "editor")

            for member in [editor, viewer] {
                let delete = try await app.request(.delete, path, as: member)
                #expect(delete.status == .forbidden)
                #expect(delete.problemCode == "FORBIDDEN")
            }
            #expect(try await app.request(.get, path, as: owner).decode(ProjectJSON.self).name == "Edited")
        }
    }

    @Test func anEmptyPatchChangesNothing() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.createProject(as: owner, name: "Unchanged")
            let response = try await app.request(.patch, "/api/v1/projects/\(project.id)", as: owner, json: [String: String]())
            #expect(response.status == .ok)
            #expect(try response.decode(ProjectJSON.self) == project)
            #expect(try await app.auditActions(target: project.id) == ["project.create"])
        }
    }

    /// A non-member cannot tell a foreign project from a missing one: the answers are byte-identical.
    @Test func foreignAndMissingProjectsLookTheSame() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let stranger = try await app.register()
            let project = try await app.createProject(as: owner)
            let requests: [(HTTPRequest.Method, [String: String]?)] = [(.get, nil), (.patch, ["name": "x"]), (.delete, nil)]
            for (method, json) in requests {
                let foreign = try await app.request(method, "/api/v1/projects/\(project.id)", as: stranger, json: json)
                let missing = try await app.request(method, "/api/v1/projects/\(UUID())", as: stranger, json: json)
                let malformed = try await app.request(method, "/api/v1/projects/not-a-uuid", as: stranger, json: json)
                #expect(foreign.status == .notFound, "\(method)")
                #expect(foreign.problemCode == "NOT_FOUND")
                #expect(foreign.body == missing.body, "\(method)")
                #expect(foreign.body == malformed.body, "\(method)")
                #expect(foreign.headers[.contentType] == missing.headers[.contentType])
            }
            // the project is untouched
            let read = try await app.request(.get, "/api/v1/projects/\(project.id)", as: owner)
            #expect(try read.decode(ProjectJSON.self).name == project.name)
        }
    }

    @Test func listShowsOwnedAndSharedNewestFirstAcrossPages() async throws {
        try await withTestApp { app in
            // setup: 3 own projects, 2 shared with me, 1 I cannot see
            let me = try await app.register()
            let other = try await app.register()
            var expected: [UUID] = []
            for index in 0..<3 {
                expected.append(try await app.createProject(as: me, name: "mine \(index)").id)
                let shared = try await app.createProject(as: other, name: "shared \(index)")
                if index < 2 {
                    try await app.addMember(me, role: "viewer", to: shared.id, as: other)
                    expected.append(shared.id)
                }
            }
            _ = try await app.createProject(as: other, name: "not mine")

            // MUT: pages of 2
            var seen: [ProjectJSON] = []
            var cursor: String?
            var pages = 0
            repeat {
                let query = cursor.map { "&cursor=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
                let response = try await app.request(.get, "/api/v1/projects?limit=2\(query)", as: me)
                #expect(response.status == .ok)
                let page = try response.decode(PageJSON<ProjectJSON>.self)
                #expect(page.items.count <= 2)
                seen += page.items
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10

            // validate: newest first, each once, roles as given
            #expect(pages == 3)
            #expect(seen.map(\.id) == expected.reversed())
            #expect(seen.filter { $0.myRole == "owner" }.count == 3)
            #expect(seen.filter { $0.myRole == "viewer" }.count == 2)
            let all = try await app.request(.get, "/api/v1/projects", as: me).decode(PageJSON<ProjectJSON>.self)
            #expect(all.items.map(\.id) == expected.reversed())
            #expect(all.nextCursor == nil)
        }
    }

    @Test func badPagesAreRefused() async throws {
        try await withTestApp { app in
            let me = try await app.register()
            for query in ["limit=0", "limit=501", "limit=ten"] {
                let response = try await app.request(.get, "/api/v1/projects?\(query)", as: me)
                #expect(response.status == .badRequest, "\(query)")
                #expect(response.problemCode == "VALIDATION_FAILED", "\(query)")
            }
            let cursor = try await app.request(.get, "/api/v1/projects?cursor=forged", as: me)
            #expect(cursor.status == .badRequest)
            #expect(cursor.problemCode == "INVALID_CURSOR")
        }
    }

    @Test func imageCountsByStatus() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let other = try await app.createProject(as: owner, name: "other")
            let statuses = ["new", "new", "new", "queued", "processing", "segmented", "segmented", "failed"]
            for status in statuses {
                try await insertImage(project: project.id, status: status, client: app.database)
            }
            try await insertImage(project: other.id, status: "segmented", client: app.database)

            // MUT
            let read = try await app.request(.get, "/api/v1/projects/\(project.id)", as: owner).decode(ProjectJSON.self)
            let listed = try await app.request(.get, "/api/v1/projects", as: owner).decode(PageJSON<ProjectJSON>.self)

            // validate
            let expected = ProjectJSON.Counts(new: 3, queued: 1, processing: 1, segmented: 2, failed: 1)
            #expect(read.imageCounts == expected)
            #expect(listed.items.first { $0.id == project.id }?.imageCounts == expected)
            #expect(listed.items.first { $0.id == other.id }?.imageCounts == ProjectJSON.Counts(segmented: 1))
        }
    }

    @Test func deleteRemovesRowsAndOnlyUnsharedFiles() async throws {
        try await withTestApp { app in
            // setup: one file only this project uses, one it shares with another project
            let owner = try await app.register()
            let member = try await app.register()
            let doomed = try await app.createProject(as: owner, name: "doomed")
            let kept = try await app.createProject(as: owner, name: "kept")
            try await app.addMember(member, role: "editor", to: doomed.id, as: owner)
            let store = try LocalObjectStore(root: app.configuration.dataDirectory)
            let own = try store.putBlocking(Array("only in doomed".utf8))
            let shared = try store.putBlocking(Array("in both projects".utf8))
            // removal spares objects younger than an upload takes; make these old
            for key in [own, shared] {
                try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3_600)], ofItemAtPath: store.url(for: key).path)
            }
            try await insertImage(project: doomed.id, objectKey: own.hex, status: "segmented", client: app.database)
            try await insertImage(project: doomed.id, objectKey: shared.hex, client: app.database)
            try await insertImage(project: kept.id, objectKey: shared.hex, client: app.database)

            // MUT
            let response = try await app.request(.delete, "/api/v1/projects/\(doomed.id)", as: owner)

            // validate
            #expect(response.status == .noContent)
            #expect(try await app.count("SELECT count(*) FROM projects WHERE id = \(doomed.id)") == 0)
            #expect(try await app.count("SELECT count(*) FROM images WHERE project_id = \(doomed.id)") == 0)
            #expect(try await app.count("SELECT count(*) FROM project_members WHERE project_id = \(doomed.id)") == 0)
            #expect(try await app.count("SELECT count(*) FROM images WHERE project_id = \(kept.id)") == 1)
            #expect(!store.exists(own))
            #expect(store.exists(shared))
            #expect(try await app.request(.get, "/api/v1/projects/\(doomed.id)", as: member).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/projects/\(kept.id)", as: owner).status == .ok)
            #expect(try await app.auditActions(target: doomed.id).last == "project.delete")
        }
    }

    /// A file that cannot be removed never fails the delete: the rows are gone and `segctl gc` finds the orphan later.
    @Test func aFileFailureDoesNotFailTheDelete() async throws {
        try await withTestApp { app in
            // setup: a directory where the object should be makes unlink fail
            let owner = try await app.register()
            let project = try await app.createProject(as: owner)
            let store = try LocalObjectStore(root: app.configuration.dataDirectory)
            let key = try ObjectKey(randomObjectKey())
            let blocker = store.url(for: key)
            try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3_600)], ofItemAtPath: blocker.path)
            try await insertImage(project: project.id, objectKey: key.hex, client: app.database)

            // MUT
            let response = try await app.request(.delete, "/api/v1/projects/\(project.id)", as: owner)

            // validate
            #expect(response.status == .noContent)
            #expect(try await app.count("SELECT count(*) FROM images WHERE project_id = \(project.id)") == 0)
            #expect(FileManager.default.fileExists(atPath: blocker.path))
        }
    }
}

// MARK: - Helpers shared by the project, member and queue tests

/// A project as the API returns it.
struct ProjectJSON: Decodable, Equatable {
    struct Counts: Decodable, Equatable {
        var new = 0
        var queued = 0
        var processing = 0
        var segmented = 0
        var failed = 0
    }
    var id: UUID
    var name: String
    var description: String
    var ownerId: UUID
    var myRole: String
    var createdAt: Date
    var imageCounts: Counts
}

/// A list answer.
struct PageJSON<Item: Decodable>: Decodable {
    var items: [Item]
    var nextCursor: String?
}

/// A problem answer.
struct ProblemJSON: Decodable {
    struct Field: Decodable {
        var field: String
        var detail: String
    }
    var status: Int
    var code: String
    var detail: String
    var errors: [Field]?
}

extension TestApp {
    /// Creates a project through the API.
    func createProject(as user: TestUser, name: String = "Project \(UUID().uuidString.prefix(6))") async throws -> ProjectJSON {
        let response = try await request(.post, "/api/v1/projects", as: user, json: ["name": name])
        try #require(response.status == .created, "create answered \(response.status): \(String(buffer: response.body))")
        return try response.decode(ProjectJSON.self)
    }

    /// Adds `member` to the project through the API.
    func addMember(_ member: TestUser, role: String, to project: UUID, as owner: TestUser) async throws {
        let response = try await request(
            .post, "/api/v1/projects/\(project)/members", as: owner, json: ["email": member.email, "role": role])
        try #require(response.status == .created, "add member answered \(response.status): \(String(buffer: response.body))")
    }

    /// The single count a query returns.
    func count(_ query: PostgresQuery) async throws -> Int {
        let rows = try await database.query(query)
        var result = 0
        for try await value in rows.decode(Int.self) { result = value }
        return result
    }

    /// The audit actions recorded for `target`, oldest first.
    func auditActions(target: UUID) async throws -> [String] {
        let rows = try await database.query("SELECT action FROM audit_log WHERE target_id = \(target) ORDER BY id")
        var actions: [String] = []
        for try await action in rows.decode(String.self) { actions.append(action) }
        return actions
    }
}
