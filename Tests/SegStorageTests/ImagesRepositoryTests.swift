import Foundation
import PostgresNIO
import SegTestSupport
import Testing

@testable import SegStorage

/// `ImageRepository` against a fresh database per test.
@Suite(.timeLimit(.minutes(5))) struct ImagesRepositoryTests {
    static let logger = Logger(label: "seg.test.images")

    @Test func createdImageReadsBackWithEveryField() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let original = try Self.key(1)
            let thumbnail = try Self.key(2)

            // MUT
            let created = try await ImageRepository.create(
                projectID: project,
                name: "spheroid 01.jpg",
                objectKey: original,
                thumbnailKey: thumbnail,
                width: 2048,
                height: 1536,
                format: .jpeg,
                bytes: 5_000_000_000, on: database
            )
            let read = try await ImageRepository.get(id: created.id, on: database)

            // validate
            #expect(read == created)
            #expect(read.projectID == project)
            #expect(read.name == "spheroid 01.jpg")
            #expect(read.objectKey == original)
            #expect(read.thumbnailKey == thumbnail)
            #expect(read.width == 2048 && read.height == 1536)
            #expect(read.format == .jpeg)
            #expect(read.bytes == 5_000_000_000)
            #expect(read.status == .new)
            #expect(abs(read.createdAt.timeIntervalSinceNow) < 60)
        }
    }

    @Test func missingImagesAreNotFound() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let id = UUID()
            let notFound = StorageError.notFound(entity: "image", id: id.uuidString)
            await #expect(throws: notFound) { try await ImageRepository.get(id: id, on: database) }
            await #expect(throws: notFound) { try await ImageRepository.delete(id: id, on: database) }
            await #expect(throws: notFound) { try await ImageRepository.setStatus(.queued, id: id, on: database) }
            let updated = try await ImageRepository.setStatus(.queued, ids: [id], on: database)
            #expect(updated.isEmpty)
        }
    }

    @Test func unknownProjectIsAnInvalidReference() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            await #expect(throws: StorageError.invalidReference(constraint: "images_project_id_fkey")) {
                try await Self.createImage(on: database, project: UUID(), index: 1)
            }
        }
    }

    /// Rows with equal `created_at` are told apart by id: every row shows up exactly once, in order.
    @Test(arguments: [1, 2, 3, 7, 20])
    func paginationVisitsEveryRowOnceAcrossEqualTimestamps(limit: Int) async throws {
        try await withTestDatabase { client in
            // setup: 10 images sharing 3 timestamps, and an image of another project
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let other = try await Self.makeProject(client: client, email: "other@example.org")
            var ids: [UUID] = []
            for index in 0..<10 {
                ids.append(try await Self.createImage(on: database, project: project, index: index).id)
            }
            _ = try await Self.createImage(on: database, project: other, index: 99)
            try await Self.setCreatedAt(ids: Array(ids[0..<4]), "2026-01-01 00:00:00.000001+00", client: client)
            try await Self.setCreatedAt(ids: Array(ids[4..<9]), "2026-01-01 00:00:00.000002+00", client: client)
            try await Self.setCreatedAt(ids: [ids[9]], "2025-12-31 23:59:59+00", client: client)

            // MUT
            let seen = try await Self.readAll(limit: limit) { page in
                try await ImageRepository.list(projectID: project, status: nil, page: page, on: database)
            }

            // validate: oldest first, ties by id
            let expected =
                [ids[9]] + ids[0..<4].sorted { $0.uuidString.lowercased() < $1.uuidString.lowercased() }
                + ids[4..<9].sorted { $0.uuidString.lowercased() < $1.uuidString.lowercased() }
            #expect(seen.map(\.id) == expected)
        }
    }

    @Test func statusFilterListsOnlyThatStatus() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            var ids: [UUID] = []
            for index in 0..<6 {
                ids.append(try await Self.createImage(on: database, project: project, index: index).id)
            }
            try await Self.setCreatedAt(ids: ids, "2026-03-01 12:00:00+00", client: client)
            let queued = [ids[1], ids[3], ids[4]]
            #expect(try await ImageRepository.setStatus(.queued, ids: queued + [UUID()], on: database) == queued)
            _ = try await ImageRepository.setStatus(.failed, id: ids[5], on: database)

            // MUT
            let listed = try await Self.readAll(limit: 2) { page in
                try await ImageRepository.list(projectID: project, status: .queued, page: page, on: database)
            }

            // validate
            #expect(Set(listed.map(\.id)) == Set(queued))
            #expect(listed.count == 3)
            #expect(listed.allSatisfy { $0.status == .queued })
            #expect(try await ImageRepository.list(projectID: project, status: .processing, page: .first, on: database).items.isEmpty)
            #expect(try await ImageRepository.list(projectID: project, status: .failed, page: .first, on: database).items.map(\.id) == [ids[5]])
        }
    }

    @Test func statusChangeScopedToAProjectLeavesOtherProjectsAlone() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let other = try await Self.makeProject(client: client, email: "other@example.org")
            let mine = try await Self.createImage(on: database, project: project, index: 1)
            let theirs = try await Self.createImage(on: database, project: other, index: 2)

            // MUT
            let updated = try await ImageRepository.setStatus(.queued, ids: [theirs.id, mine.id, mine.id], projectID: project, on: database)

            // validate
            #expect(updated == [mine.id])
            #expect(try await ImageRepository.get(id: mine.id, on: database).status == .queued)
            #expect(try await ImageRepository.get(id: theirs.id, on: database).status == .new)
        }
    }

    @Test func countsByStatusIncludeZeros() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let empty = try await Self.makeProject(client: client, email: "empty@example.org")
            var ids: [UUID] = []
            for index in 0..<7 {
                ids.append(try await Self.createImage(on: database, project: project, index: index).id)
            }
            _ = try await ImageRepository.setStatus(.segmented, ids: Array(ids[0..<3]), on: database)
            _ = try await ImageRepository.setStatus(.failed, ids: [ids[3]], on: database)
            _ = try await ImageRepository.setStatus(.processing, ids: [ids[4]], on: database)

            // MUT
            let counts = try await ImageRepository.countsByStatus(projectID: project, on: database)
            let several = try await ImageRepository.countsByStatus(projectIDs: [project, empty], on: database)

            // validate
            #expect(counts == ImageStatusCounts(new: 2, queued: 0, processing: 1, segmented: 3, failed: 1))
            #expect(counts.total == 7)
            #expect(several[project] == counts)
            #expect(several[empty] == ImageStatusCounts())
            let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(ImageStatusCounts())) as? [String: Int]
            #expect(json == ["new": 0, "queued": 0, "processing": 0, "segmented": 0, "failed": 0])
        }
    }

    @Test func unsegmentedAreTheNewAndFailedImagesOldestFirst() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let other = try await Self.makeProject(client: client, email: "other@example.org")
            var ids: [UUID] = []
            for index in 0..<5 {
                ids.append(try await Self.createImage(on: database, project: project, index: index).id)
                try await Self.setCreatedAt(ids: [ids[index]], "2026-02-0\(index + 1) 00:00:00+00", client: client)
            }
            _ = try await Self.createImage(on: database, project: other, index: 9)
            _ = try await ImageRepository.setStatus(.segmented, id: ids[0], on: database)
            _ = try await ImageRepository.setStatus(.failed, id: ids[1], on: database)
            _ = try await ImageRepository.setStatus(.queued, id: ids[3], on: database)

            // MUT + validate
            #expect(try await ImageRepository.unsegmentedIDs(projectID: project, on: database) == [ids[1], ids[2], ids[4]])
        }
    }

    @Test func statusChangeAndOtherWorkCommitTogether() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let image = try await Self.createImage(on: database, project: project, index: 0)

            // MUT: the transaction fails after the status change
            struct Abort: Error {}
            await #expect(throws: (any Error).self) {
                try await Database(client: client, logger: Self.logger).transaction { transaction in
                    let ids = try await ImageRepository.setStatus(.queued, ids: [image.id], on: transaction)
                    #expect(ids == [image.id])
                    throw Abort()
                }
            }

            // validate
            #expect(try await ImageRepository.get(id: image.id, on: database).status == .new)
        }
    }

    @Test func deleteReturnsTheObjectKeysAndRemovesSegmentations() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let image = try await ImageRepository.create(
                projectID: project,
                name: "a.png",
                objectKey: try Self.key(1),
                thumbnailKey: try Self.key(2),
                width: 8,
                height: 8,
                format: .png,
                bytes: 10, on: database
            )
            _ = try await SegmentationRepository.addVersion(
                imageID: image.id,
                polygons: Array("[]".utf8),
                parameters: Array("{}".utf8),
                segmenter: "builtin",
                authorID: nil, on: database
            )

            // MUT
            let keys = try await ImageRepository.delete(id: image.id, on: database)

            // validate
            #expect(keys == [try Self.key(1), try Self.key(2)])
            await #expect(throws: StorageError.notFound(entity: "image", id: image.id.uuidString)) {
                try await ImageRepository.get(id: image.id, on: database)
            }
            #expect(try await SegmentationRepository.versions(imageID: image.id, on: database).isEmpty)
        }
    }

    @Test func deleteAllReturnsTheDistinctKeysOfOneProject() async throws {
        try await withTestDatabase { client in
            // setup: two images share their content; another project's image stays
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            let other = try await Self.makeProject(client: client, email: "other@example.org")
            for (index, thumbnail) in [(1, 4), (1, 4), (2, 5)] {
                _ = try await ImageRepository.create(
                    projectID: project,
                    name: "a.png",
                    objectKey: try Self.key(index),
                    thumbnailKey: try Self.key(thumbnail),
                    width: 8,
                    height: 8,
                    format: .png,
                    bytes: 10, on: database
                )
            }
            _ = try await ImageRepository.create(
                projectID: project,
                name: "no thumbnail.png",
                objectKey: try Self.key(3),
                thumbnailKey: nil,
                width: 8,
                height: 8,
                format: .png,
                bytes: 10, on: database
            )
            let kept = try await Self.createImage(on: database, project: other, index: 9)

            // MUT: the images go in the transaction that deletes their project
            let keys = try await Database(client: client, logger: Self.logger).transaction { transaction in
                let keys = try await ImageRepository.deleteAll(projectID: project, on: transaction)
                try await transaction.query("DELETE FROM projects WHERE id = \(project)")
                return keys
            }

            // validate
            #expect(keys == [try Self.key(1), try Self.key(2), try Self.key(3), try Self.key(4), try Self.key(5)].sorted())
            #expect(try await ImageRepository.countsByStatus(projectID: project, on: database).total == 0)
            #expect(try await ImageRepository.get(id: kept.id, on: database) == kept)
        }
    }

    @Test func totalsCountSharedObjectsOnce() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            #expect(try await ImageRepository.totals(on: database) == ImageTotals(images: 0, bytes: 0, distinctObjectBytes: 0))
            let project = try await Self.makeProject(client: client)
            for (index, bytes) in [(1, 100), (1, 100), (2, 7)] {
                _ = try await ImageRepository.create(
                    projectID: project,
                    name: "a.png",
                    objectKey: try Self.key(index),
                    thumbnailKey: nil,
                    width: 8,
                    height: 8,
                    format: .png,
                    bytes: Int64(bytes), on: database
                )
            }
            #expect(try await ImageRepository.totals(on: database) == ImageTotals(images: 3, bytes: 207, distinctObjectBytes: 107))
        }
    }

    @Test func badValuesAreRejectedByTheSchema() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let project = try await Self.makeProject(client: client)
            await #expect(throws: StorageError.constraintViolation(constraint: "images_width_check")) {
                _ = try await ImageRepository.create(
                    projectID: project,
                    name: "a.png",
                    objectKey: try Self.key(1),
                    thumbnailKey: nil,
                    width: 0,
                    height: 8,
                    format: .png,
                    bytes: 1, on: database
                )
            }
            let badFormat = try await storageError(fromSQL: true) {
                try await insertImage(project: project, name: "a.gif", format: "gif", client: client)
            }
            #expect(badFormat == .constraintViolation(constraint: "images_format_check"))
        }
    }

    // MARK: - Helpers

    /// A project with a fresh owner.
    static func makeProject(client: PostgresClient, email: String = "owner@example.org") async throws -> UUID {
        let user = try await insertUser(email: email, client: client)
        return try await insertProject(owner: user, client: client)
    }

    /// A distinct well-formed key for each `index`.
    static func key(_ index: Int) throws -> ObjectKey {
        let digits = String(index, radix: 16)
        return try ObjectKey(String(repeating: "0", count: 64 - digits.count) + digits)
    }

    @discardableResult
    static func createImage(on database: Database, project: UUID, index: Int) async throws -> ImageRecord {
        try await ImageRepository.create(
            projectID: project,
            name: "image \(index).png",
            objectKey: try key(index + 1),
            thumbnailKey: nil,
            width: 64,
            height: 48,
            format: .png,
            bytes: 1000, on: database
        )
    }

    /// Sets `created_at` of rows of `table` to `timestamp` (a PostgreSQL timestamptz literal).
    static func setCreatedAt(ids: [UUID], _ timestamp: String, table: String = "images", client: PostgresClient) async throws {
        try await client.query(
            PostgresQuery(
                unsafeSQL: "UPDATE \(table) SET created_at = '\(timestamp)'::timestamptz WHERE id = ANY($1)",
                binds: {
                    var binds = PostgresBindings()
                    binds.append(ids)
                    return binds
                }())
        )
    }

    /// Every item of a paginated list, page by page; fails if a page is over the limit or pages never end.
    static func readAll<Item: Sendable>(limit: Int, _ list: (PageRequest) async throws -> Page<Item>) async throws -> [Item] {
        var items: [Item] = []
        var cursor: String?
        for _ in 0..<1000 {
            let page = try await list(try PageRequest(limit: limit, cursor: cursor))
            #expect(page.items.count <= limit)
            items += page.items
            guard let next = page.nextCursor else { return items }
            #expect(!page.items.isEmpty)
            cursor = next
        }
        Issue.record("pagination did not end")
        return items
    }
}
