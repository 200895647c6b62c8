import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

/// `ExportPostgresRepository`: the export lifecycle, expiry and listing.
@Suite(.timeLimit(.minutes(5))) struct ExportsRepositoryTests {
    static let logger = Logger(label: "seg.test.exports")

    @Test func lifecycleFromQueuedToDone() async throws {
        try await withTestDatabase { client in
            // setup
            let repository = ExportPostgresRepository(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let archive = try ImagesRepositoryTests.key(42)
            let expiresAt = Date(timeIntervalSince1970: 1_900_000_000)

            // MUT + validate, step by step
            let created = try await repository.create(
                projectID: project,
                userID: user,
                formats: [.coco, .csv, .coco, .spheroseg],
                options: ExportOptions(scaleUmPerPx: 0.65, includeImages: true),
                jobID: nil
            )
            #expect(created.status == .queued)
            #expect(created.progress == 0)
            #expect(created.formats == [.coco, .csv, .spheroseg])
            #expect(created.options == ExportOptions(scaleUmPerPx: 0.65, includeImages: true))
            #expect(created.objectKey == nil && created.bytes == nil && created.expiresAt == nil && created.finishedAt == nil)
            #expect(try await repository.get(id: created.id) == created)

            let running = try await repository.markRunning(id: created.id)
            #expect(running.status == .running)
            #expect(try await repository.markRunning(id: created.id).status == .running)
            #expect(try await repository.updateProgress(id: created.id, progress: 0.5).progress == 0.5)

            let done = try await repository.markDone(id: created.id, objectKey: archive, bytes: 123_456, expiresAt: expiresAt)
            #expect(done.status == .done)
            #expect(done.progress == 1)
            #expect(done.objectKey == archive)
            #expect(done.bytes == 123_456)
            #expect(done.expiresAt.map { abs($0.timeIntervalSince(expiresAt)) < 0.001 } == true)
            #expect(done.finishedAt != nil)
            #expect(done.error == nil)
            #expect(try await repository.get(id: created.id) == done)

            // a finished export takes no more steps
            let state = StorageError.invalidState(entity: "export", id: created.id.uuidString, state: "done")
            await #expect(throws: state) { try await repository.markRunning(id: created.id) }
            await #expect(throws: state) { try await repository.updateProgress(id: created.id, progress: 0.2) }
            await #expect(throws: state) { try await repository.markFailed(id: created.id, error: "late") }
            await #expect(throws: state) {
                try await repository.markDone(id: created.id, objectKey: archive, bytes: 1, expiresAt: expiresAt)
            }
        }
    }

    @Test func failedExportKeepsItsReason() async throws {
        try await withTestDatabase { client in
            let repository = ExportPostgresRepository(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let created = try await repository.create(projectID: project, userID: user, formats: [.masks], options: ExportOptions(), jobID: nil)
            let failed = try await repository.markFailed(id: created.id, error: "image 3 could not be read")
            #expect(failed.status == .failed)
            #expect(failed.error == "image 3 could not be read")
            #expect(failed.finishedAt != nil)
            #expect(failed.objectKey == nil)
            await #expect(throws: StorageError.invalidState(entity: "export", id: created.id.uuidString, state: "failed")) {
                try await repository.markRunning(id: created.id)
            }
        }
    }

    @Test func badArgumentsAndMissingExports() async throws {
        try await withTestDatabase { client in
            let repository = ExportPostgresRepository(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            await #expect(throws: StorageError.invalidArgument("an export needs at least one format")) {
                try await repository.create(projectID: project, userID: user, formats: [], options: ExportOptions(), jobID: nil)
            }
            await #expect(throws: StorageError.invalidArgument("scaleUmPerPx must be a positive number")) {
                try await repository.create(projectID: project, userID: user, formats: [.csv], options: ExportOptions(scaleUmPerPx: 0), jobID: nil)
            }
            await #expect(throws: StorageError.invalidReference(constraint: "exports_project_id_fkey")) {
                try await repository.create(projectID: UUID(), userID: user, formats: [.csv], options: ExportOptions(), jobID: nil)
            }
            let created = try await repository.create(projectID: project, userID: user, formats: [.csv], options: ExportOptions(), jobID: nil)
            for progress in [-0.1, 1.5, Double.nan] {
                await #expect(throws: StorageError.invalidArgument("progress must be between 0 and 1")) {
                    try await repository.updateProgress(id: created.id, progress: progress)
                }
            }
            let missing = UUID()
            let notFound = StorageError.notFound(entity: "export", id: missing.uuidString)
            await #expect(throws: notFound) { try await repository.get(id: missing) }
            await #expect(throws: notFound) { try await repository.markRunning(id: missing) }
            await #expect(throws: notFound) { try await repository.updateProgress(id: missing, progress: 0.5) }
            await #expect(throws: notFound) { try await repository.markFailed(id: missing, error: "x") }
        }
    }

    @Test func jobCanBeAttachedAndOutlivesIt() async throws {
        try await withTestDatabase { client in
            let repository = ExportPostgresRepository(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let created = try await repository.create(projectID: project, userID: user, formats: [.geojson], options: ExportOptions(), jobID: nil)
            let jobs = try await client.query("INSERT INTO jobs (kind, user_id) VALUES ('export', \(user)) RETURNING id").collect()
            let job = try #require(try jobs.first?.decode(UUID.self))
            #expect(try await repository.attachJob(id: created.id, jobID: job).jobID == job)
            try await client.query("DELETE FROM jobs WHERE id = \(job)")
            #expect(try await repository.get(id: created.id).jobID == nil)
        }
    }

    @Test func expiryReturnsTheArchivesAndReleasesThem() async throws {
        try await withTestDatabase { client in
            // setup: two exports past their expiry, one not yet, one still running
            let repository = ExportPostgresRepository(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let now = Date()
            var done: [ExportRecord] = []
            for (index, offset) in [(1, -7200.0), (2, -60.0), (3, 3600.0)] {
                let created = try await repository.create(projectID: project, userID: user, formats: [.coco], options: ExportOptions(), jobID: nil)
                done.append(
                    try await repository.markDone(
                        id: created.id,
                        objectKey: try ImagesRepositoryTests.key(index),
                        bytes: 10,
                        expiresAt: now.addingTimeInterval(offset)
                    )
                )
            }
            let running = try await repository.markRunning(
                id: try await repository.create(projectID: project, userID: user, formats: [.yolo], options: ExportOptions(), jobID: nil).id
            )

            // MUT + validate
            #expect(try await repository.listExpired(asOf: now, limit: 10).map(\.id) == [done[0].id, done[1].id])
            #expect(try await repository.listExpired(asOf: now, limit: 1).map(\.id) == [done[0].id])
            let expired = try await repository.markExpired(asOf: now, limit: 10)
            #expect(
                expired == [
                    ExpiredExport(id: done[0].id, projectID: project, objectKey: try ImagesRepositoryTests.key(1)),
                    ExpiredExport(id: done[1].id, projectID: project, objectKey: try ImagesRepositoryTests.key(2)),
                ])
            for record in done.prefix(2) {
                let read = try await repository.get(id: record.id)
                #expect(read.status == .expired)
                #expect(read.objectKey == nil)
            }
            #expect(try await repository.get(id: done[2].id) == done[2])
            #expect(try await repository.get(id: running.id).status == .running)
            #expect(try await repository.markExpired(asOf: now, limit: 10).isEmpty)
            #expect(try await repository.listExpired(asOf: now, limit: 10).isEmpty)
        }
    }

    @Test func listIsNewestFirstAndVisitsEveryRowOnce() async throws {
        try await withTestDatabase { client in
            // setup: 7 exports, 5 of them created at the same instant, and another project's
            let repository = ExportPostgresRepository(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let (other, otherUser) = try await Self.makeProject(client: client, email: "other@example.org")
            var ids: [UUID] = []
            for _ in 0..<7 {
                ids.append(try await repository.create(projectID: project, userID: user, formats: [.csv], options: ExportOptions(), jobID: nil).id)
            }
            _ = try await repository.create(projectID: other, userID: otherUser, formats: [.csv], options: ExportOptions(), jobID: nil)
            try await ImagesRepositoryTests.setCreatedAt(ids: Array(ids[0..<5]), "2026-05-05 05:05:05.555555+00", table: "exports", client: client)
            try await ImagesRepositoryTests.setCreatedAt(ids: [ids[5]], "2026-05-05 05:05:04+00", table: "exports", client: client)
            try await ImagesRepositoryTests.setCreatedAt(ids: [ids[6]], "2026-05-06 00:00:00+00", table: "exports", client: client)

            for limit in [1, 2, 3, 10] {
                // MUT
                let seen = try await ImagesRepositoryTests.readAll(limit: limit) { page in
                    try await repository.list(projectID: project, page: page)
                }

                // validate
                let tied = ids[0..<5].sorted { $0.uuidString.lowercased() > $1.uuidString.lowercased() }
                #expect(seen.map(\.id) == [ids[6]] + tied + [ids[5]], "limit \(limit)")
            }
        }
    }

    @Test func optionsDecodeWithDefaults() throws {
        let options = try JSONDecoder().decode(ExportOptions.self, from: Data("{}".utf8))
        #expect(options == ExportOptions(scaleUmPerPx: nil, includeImages: false))
    }

    // MARK: - Helpers

    static func makeProject(client: PostgresClient, email: String = "owner@example.org") async throws -> (project: UUID, user: UUID) {
        let user = try await insertUser(email: email, client: client)
        return (try await insertProject(owner: user, client: client), user)
    }
}
