import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ProjectsRepositoryTests {
    @Test func createMakesTheOwnerAMember() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await ProjectRepository.create(ownerID: owner.id, name: "Spheroids", description: "day 3", on: f.database)
            #expect(project.ownerID == owner.id && project.name == "Spheroids" && project.description == "day 3")
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: owner.id, on: f.database) == .owner)
            let seen = try await ProjectRepository.get(id: project.id, memberID: owner.id, on: f.database)
            #expect(seen.project == project && seen.myRole == .owner && seen.imageCounts == ImageStatusCounts())
            #expect(try await ProjectRepository.find(id: project.id, on: f.database) == project)
        }
    }

    @Test func nonMembersAndMissingProjectsAreNotFound() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let stranger = try await f.user("stranger")
            let project = try await f.project(owner: owner.id)
            let missing = UUID()
            #expect(
                try await storageError { _ = try await ProjectRepository.get(id: project.id, memberID: stranger.id, on: f.database) }
                    == .notFound(entity: "project", id: project.id.uuidString)
            )
            #expect(
                try await storageError { _ = try await ProjectRepository.get(id: missing, memberID: owner.id, on: f.database) }
                    == .notFound(entity: "project", id: missing.uuidString)
            )
            #expect(try await ProjectRepository.find(id: missing, on: f.database) == nil)
            let notFound = StorageError.notFound(entity: "project", id: missing.uuidString)
            #expect(try await storageError { _ = try await ProjectRepository.imageCounts(projectID: missing, on: f.database) } == notFound)
            #expect(
                try await storageError { _ = try await ProjectRepository.update(id: missing, name: "x", description: nil, on: f.database) }
                    == notFound)
            #expect(try await storageError { _ = try await ProjectRepository.delete(id: missing, on: f.database) } == notFound)
            #expect(
                try await storageError { _ = try await ProjectRepository.transferOwnership(projectID: missing, to: owner.id, on: f.database) }
                    == notFound)
            let ghost = UUID()
            #expect(
                try await storageError { _ = try await ProjectRepository.create(ownerID: ghost, name: "x", description: "", on: f.database) }
                    == .notFound(entity: "user", id: ghost.uuidString)
            )
        }
    }

    @Test func imageCountsHaveEveryStatusIncludingZeros() async throws {
        try await withTestDatabase { client in
            // setup: 2 new, 1 queued, 3 segmented, 1 failed; another project with images of its own
            let f = AccountFixtures(client: client)
            let owner = try await f.user()
            let project = try await f.project(owner: owner.id)
            let other = try await f.project(owner: owner.id, name: "Other")
            for status in ["new", "new", "queued", "segmented", "segmented", "segmented", "failed"] {
                try await insertImage(project: project.id, status: status, client: client)
            }
            try await insertImage(project: other.id, status: "processing", client: client)

            // MUT + validate
            let counts = try await ProjectRepository.imageCounts(projectID: project.id, on: f.database)
            #expect(counts == ImageStatusCounts(new: 2, queued: 1, processing: 0, segmented: 3, failed: 1))
            #expect(counts.total == 7)
            #expect(try await ProjectRepository.get(id: project.id, memberID: owner.id, on: f.database).imageCounts == counts)
            #expect(try await ProjectRepository.imageCounts(projectID: other.id, on: f.database) == ImageStatusCounts(processing: 1))
            let json = String(decoding: try JSONEncoder().encode(ImageStatusCounts()), as: UTF8.self)
            for key in ["new", "queued", "processing", "segmented", "failed"] {
                #expect(json.contains("\"\(key)\":0"), "\(key)")
            }
        }
    }

    @Test func memberListHasOwnedAndSharedProjectsNewestFirstWithRolesAndCounts() async throws {
        try await withTestDatabase { client in
            // setup: alice owns 5 projects (4 created at the same instant), is an editor of 1 and a viewer of 1 of bob's
            let f = AccountFixtures(client: client)
            let alice = try await f.user("alice")
            let bob = try await f.user("bob")
            var owned: [UUID] = []
            for index in 0..<5 {
                owned.append(try await f.project(owner: alice.id, name: "A\(index)").id)
            }
            try await f.setCreatedAt("project_members", column: "project_id", ids: Array(owned.prefix(4)))
            let edited = try await f.project(owner: bob.id, name: "B0")
            let viewed = try await f.project(owner: bob.id, name: "B1")
            _ = try await f.project(owner: bob.id, name: "B2")  // not shared with alice
            _ = try await ProjectMemberRepository.setRole(projectID: edited.id, userID: alice.id, role: .editor, on: f.database)
            _ = try await ProjectMemberRepository.setRole(projectID: viewed.id, userID: alice.id, role: .viewer, on: f.database)
            try await insertImage(project: viewed.id, status: "segmented", client: client)

            // MUT
            for limit in [1, 2, 3, 7, 8] {
                let (items, _) = try await AccountFixtures.allPages(limit: limit) {
                    try await ProjectRepository.list(memberID: alice.id, page: $0, on: f.database)
                }

                // validate
                #expect(items.count == 7, "limit \(limit)")
                #expect(Set(items.map(\.id)) == Set(owned + [edited.id, viewed.id]), "limit \(limit)")
                // The two shared projects were joined last: they come first, the newest on top.
                #expect(items.prefix(2).map(\.id) == [viewed.id, edited.id], "limit \(limit)")
                #expect(items[0].myRole == .viewer && items[0].imageCounts.segmented == 1)
                #expect(items[1].myRole == .editor && items[1].project.ownerID == bob.id)
                #expect(items.dropFirst(2).allSatisfy { $0.myRole == .owner && $0.project.ownerID == alice.id })
                #expect(items[2].id == owned[4])  // the one not moved back in time
            }
            let bobs = try await ProjectRepository.list(memberID: bob.id, page: .first, on: f.database).items
            #expect(bobs.count == 3 && bobs.allSatisfy { $0.myRole == .owner })
        }
    }

    @Test func listAllPaginatesEveryProjectOnceNewestFirst() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user()
            var ids: [UUID] = []
            for index in 0..<6 {
                ids.append(try await f.project(owner: owner.id, name: "P\(index)").id)
            }
            try await f.setCreatedAt("projects", ids: ids)
            let newest = try await f.project(owner: owner.id, name: "newest")
            try await insertImage(project: newest.id, status: "failed", client: client)
            for limit in [1, 2, 4, 7] {
                let (items, pages) = try await AccountFixtures.allPages(limit: limit) {
                    try await ProjectRepository.listAll(page: $0, on: f.database)
                }
                #expect(items.count == 7 && Set(items.map(\.id)) == Set(ids + [newest.id]), "limit \(limit)")
                #expect(items.first?.id == newest.id)
                #expect(items.allSatisfy { $0.ownerEmail == owner.email && $0.project.ownerID == owner.id })
                #expect(pages == (7 + limit - 1) / limit)
                #expect(items.first?.imageCounts == ImageStatusCounts(failed: 1))
                #expect(items.dropFirst().allSatisfy { $0.imageCounts.total == 0 })
            }
        }
    }

    @Test func updateChangesNameOrDescriptionAndTheUpdateTime() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user()
            let project = try await ProjectRepository.create(ownerID: owner.id, name: "Old", description: "keep", on: f.database)
            try await Task.sleep(for: .milliseconds(5))
            let renamed = try await ProjectRepository.update(id: project.id, name: "New", description: nil, on: f.database)
            #expect(renamed.name == "New" && renamed.description == "keep" && renamed.updatedAt > project.updatedAt)
            #expect(renamed.createdAt == project.createdAt)
            let described = try await ProjectRepository.update(id: project.id, name: nil, description: "", on: f.database)
            #expect(described.name == "New" && described.description == "")
            let empty = try await storageError { _ = try await ProjectRepository.update(id: project.id, name: "", description: nil, on: f.database) }
            #expect(empty == .constraintViolation(constraint: "projects_name_check"))
        }
    }

    @Test func deleteCascadesAndReturnsTheImageKeys() async throws {
        try await withTestDatabase { client in
            // setup: three images, two sharing content; a member, a share link, a segmentation; another project
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let member = try await f.user("member")
            let project = try await f.project(owner: owner.id)
            let other = try await f.project(owner: owner.id, name: "Other")
            let keyA = String(repeating: "a", count: 64)
            let keyB = String(repeating: "b", count: 64)
            let image = try await insertImage(project: project.id, objectKey: keyA, client: client)
            try await insertImage(project: project.id, objectKey: keyA, client: client)
            try await insertImage(project: project.id, objectKey: keyB, client: client)
            try await insertImage(project: other.id, objectKey: keyB, client: client)
            try await client.query(
                "INSERT INTO segmentations (image_id, version, polygons, segmenter) VALUES (\(image), 1, '[]'::jsonb, 'builtin')"
            )
            let thumbnail = String(repeating: "c", count: 64)
            let archive = String(repeating: "d", count: 64)
            try await client.query("UPDATE images SET thumbnail_key = \(thumbnail) WHERE id = \(image)")
            try await client.query(
                """
                INSERT INTO exports (project_id, status, formats, object_key, bytes, expires_at)
                VALUES (\(project.id), 'done', ARRAY['coco'], \(archive), 10, now())
                """
            )
            _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: member.id, role: .editor, on: f.database)
            _ = try await ShareLinkRepository.create(
                projectID: project.id, tokenHash: AccountFixtures.hash(), role: .viewer, expiresAt: .now + 60, createdBy: owner.id, on: f.database)

            // MUT
            let keys = try await ProjectRepository.delete(id: project.id, on: f.database)

            // validate
            #expect(keys == [keyA, keyB, thumbnail, archive])
            for table in ["segmentations", "share_links", "exports"] {
                let count = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM \(table)")).collect().first?.decode(Int.self)
                #expect(count == 0, "\(table)")
            }
            let images = try await client.query("SELECT count(*)::int8 FROM images").collect().first?.decode(Int.self)
            #expect(images == 1)
            let memberships = try await client.query("SELECT count(*)::int8 FROM project_members WHERE project_id = \(project.id)")
                .collect().first?.decode(Int.self)
            #expect(memberships == 0)
            #expect(try await ProjectRepository.find(id: project.id, on: f.database) == nil)
            #expect(try await ProjectRepository.find(id: other.id, on: f.database) != nil)
            #expect(try await ProjectRepository.delete(id: other.id, on: f.database) == [keyB])
        }
    }

    @Test func transferMakesTheNewOwnerOwnerAndTheOldOneEditor() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let alice = try await f.user("alice")
            let bob = try await f.user("bob")
            let carol = try await f.user("carol")
            let project = try await f.project(owner: alice.id)
            _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: bob.id, role: .viewer, on: f.database)

            // MUT: to an existing viewer, then to a non-member
            let toBob = try await ProjectRepository.transferOwnership(projectID: project.id, to: bob.id, on: f.database)

            // validate
            #expect(toBob.ownerID == bob.id)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: bob.id, on: f.database) == .owner)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: alice.id, on: f.database) == .editor)
            let toCarol = try await ProjectRepository.transferOwnership(projectID: project.id, to: carol.id, on: f.database)
            #expect(toCarol.ownerID == carol.id)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: carol.id, on: f.database) == .owner)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: bob.id, on: f.database) == .editor)
            #expect(try await ProjectRepository.transferOwnership(projectID: project.id, to: carol.id, on: f.database) == toCarol)
            let ghost = UUID()
            let unknown = try await storageError {
                _ = try await ProjectRepository.transferOwnership(projectID: project.id, to: ghost, on: f.database)
            }
            #expect(unknown == .notFound(entity: "user", id: ghost.uuidString))
            #expect(try await ProjectRepository.find(id: project.id, on: f.database)?.ownerID == carol.id)
            let owners = try await client.query("SELECT count(*)::int8 FROM project_members WHERE project_id = \(project.id) AND role = 'owner'")
                .collect().first?.decode(Int.self)
            #expect(owners == 1)
            // alice owns nothing now, so her account can go.
            try await UserRepository.delete(id: alice.id, on: f.database)
        }
    }
}
