import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

/// `ExportRepository`: the export lifecycle, expiry and listing.
@Suite(.timeLimit(.minutes(5))) struct ExportsRepositoryTests {
    static let logger = Logger(label: "seg.test.exports")

    @Test func lifecycleFromQueuedToDone() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let archive = try ImagesRepositoryTests.key(42)
            let expiresAt = Date(timeIntervalSince1970: 1_900_000_000)

            // MUT + validate, step by step
            let created = try await ExportRepository.create(
                projectID: project,
                userID: user,
                formats: [.coco, .csv, .coco, .spheroseg],
                options: ExportOptions(scaleUmPerPx: 0.65, includeImages: true),
                jobID: nil, on: database
            )
            #expect(created.status == .queued)
            #expect(created.progress == 0)
            #expect(created.formats == [.coco, .csv, .spheroseg])
            #expect(created.options == ExportOptions(scaleUmPerPx: 0.65, includeImages: true))
            #expect(created.objectKey == nil && created.bytes == nil && created.expiresAt == nil && created.finishedAt == nil)
            #expect(try await ExportRepository.get(id: created.id, on: database) == created)

            let running = try await ExportRepository.markRunning(id: created.id, on: database)
            #expect(running.status == .running)
            #expect(try await ExportRepository.markRunning(id: created.id, on: database).status == .running)
            #expect(try await ExportRepository.updateProgress(id: created.id, progress: 0.5, on: database).progress == 0.5)

            let done = try await ExportRepository.markDone(id: created.id, objectKey: archive, bytes: 123_456, expiresAt: expiresAt, on: database)
            #expect(done.status == .done)
            #expect(done.progress == 1)
            #expect(done.objectKey == archive)
            #expect(done.bytes == 123_456)
            #expect(done.expiresAt.map { abs($0.timeIntervalSince(expiresAt)) < 0.001 } == true)
            #expect(done.finishedAt != nil)
            #expect(done.error == nil)
            #expect(try await ExportRepository.get(id: created.id, on: database) == done)

            // a finished export takes no more steps
            let state = StorageError.invalidState(entity: "export", id: created.id.uuidString, state: "done")
            await #expect(throws: state) { try await ExportRepository.markRunning(id: created.id, on: database) }
            await #expect(throws: state) { try await ExportRepository.updateProgress(id: created.id, progress: 0.2, on: database) }
            await #expect(throws: state) { try await ExportRepository.markFailed(id: created.id, error: "late", on: database) }
            await #expect(throws: state) {
                try await ExportRepository.markDone(id: created.id, objectKey: archive, bytes: 1, expiresAt: expiresAt, on: database)
            }
        }
    }

    @Test func failedExportKeepsItsReason() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let created = try await ExportRepository.create(
                projectID: project, userID: user, formats: [.masks], options: ExportOptions(), jobID: nil, on: database)
            let failed = try await ExportRepository.markFailed(id: created.id, error: "image 3 could not be read", on: database)
            #expect(failed.status == .failed)
            #expect(failed.error == "image 3 could not be read")
            #expect(failed.finishedAt != nil)
            #expect(failed.objectKey == nil)
            await #expect(throws: StorageError.invalidState(entity: "export", id: created.id.uuidString, state: "failed")) {
                try await ExportRepository.markRunning(id: created.id, on: database)
            }
        }
    }

    @Test func badArgumentsAndMissingExports() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            await #expect(throws: StorageError.invalidArgument("an export needs at least one format")) {
                try await ExportRepository.create(projectID: project, userID: user, formats: [], options: ExportOptions(), jobID: nil, on: database)
            }
            await #expect(throws: StorageError.invalidArgument("scaleUmPerPx must be a positive number")) {
                try await ExportRepository.create(
                    projectID: project, userID: user, formats: [.csv], options: ExportOptions(scaleUmPerPx: 0), jobID: nil, on: database)
            }
            await #expect(throws: StorageError.invalidReference(constraint: "exports_project_id_fkey")) {
                try await ExportRepository.create(
                    projectID: UUID(), userID: user, formats: [.csv], options: ExportOptions(), jobID: nil, on: database)
            }
            let created = try await ExportRepository.create(
                projectID: project, userID: user, formats: [.csv], options: ExportOptions(), jobID: nil, on: database)
            for progress in [-0.1, 1.5, Double.nan] {
                await #expect(throws: StorageError.invalidArgument("progress must be between 0 and 1")) {
                    try await ExportRepository.updateProgress(id: created.id, progress: progress, on: database)
                }
            }
            let missing = UUID()
            let notFound = StorageError.notFound(entity: "export", id: missing.uuidString)
            await #expect(throws: notFound) { try await ExportRepository.get(id: missing, on: database) }
            await #expect(throws: notFound) { try await ExportRepository.markRunning(id: missing, on: database) }
            await #expect(throws: notFound) { try await ExportRepository.updateProgress(id: missing, progress: 0.5, on: database) }
            await #expect(throws: notFound) { try await ExportRepository.markFailed(id: missing, error: "x", on: database) }
        }
    }

    @Test func jobCanBeAttachedAndOutlivesIt() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let created = try await ExportRepository.create(
                projectID: project, userID: user, formats: [.geojson], options: ExportOptions(), jobID: nil, on: database)
            let jobs = try await client.query("INSERT INTO jobs (kind, user_id) VALUES ('export', \(user)) RETURNING id").collect()
            let job = try #require(try jobs.first?.decode(UUID.self))
            #expect(try await ExportRepository.attachJob(id: created.id, jobID: job, on: database).jobID == job)
            try await client.query("DELETE FROM jobs WHERE id = \(job)")
            #expect(try await ExportRepository.get(id: created.id, on: database).jobID == nil)
        }
    }

    @Test func expiryReturnsTheArchivesAndReleasesThem() async throws {
        try await withTestDatabase { client in
            // setup: two exports past their expiry, one not yet, one still running
            let database = Database(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let now = Date()
            var done: [ExportRecord] = []
            for (index, offset) in [(1, -7200.0), (2, -60.0), (3, 3600.0)] {
                let created = try await ExportRepository.create(
                    projectID: project, userID: user, formats: [.coco], options: ExportOptions(), jobID: nil, on: database)
                done.append(
                    try await ExportRepository.markDone(
                        id: created.id,
                        objectKey: try ImagesRepositoryTests.key(index),
                        bytes: 10,
                        expiresAt: now.addingTimeInterval(offset), on: database
                    )
                )
            }
            let running = try await ExportRepository.markRunning(
                id: try await ExportRepository.create(
                    projectID: project, userID: user, formats: [.yolo], options: ExportOptions(), jobID: nil, on: database
                ).id, on: database
            )

            // MUT + validate
            #expect(try await ExportRepository.listExpired(asOf: now, limit: 10, on: database).map(\.id) == [done[0].id, done[1].id])
            #expect(try await ExportRepository.listExpired(asOf: now, limit: 1, on: database).map(\.id) == [done[0].id])
            let expired = try await ExportRepository.markExpired(asOf: now, limit: 10, on: database)
            #expect(
                expired == [
                    ExpiredExport(id: done[0].id, projectID: project, objectKey: try ImagesRepositoryTests.key(1)),
                    ExpiredExport(id: done[1].id, projectID: project, objectKey: try ImagesRepositoryTests.key(2)),
                ])
            for record in done.prefix(2) {
                let read = try await ExportRepository.get(id: record.id, on: database)
                #expect(read.status == .expired)
                #expect(read.objectKey == nil)
            }
            #expect(try await ExportRepository.get(id: done[2].id, on: database) == done[2])
            #expect(try await ExportRepository.get(id: running.id, on: database).status == .running)
            #expect(try await ExportRepository.markExpired(asOf: now, limit: 10, on: database).isEmpty)
            #expect(try await ExportRepository.listExpired(asOf: now, limit: 10, on: database).isEmpty)
        }
    }

    @Test func listIsNewestFirstAndVisitsEveryRowOnce() async throws {
        try await withTestDatabase { client in
            // setup: 7 exports, 5 of them created at the same instant, and another project's
            let database = Database(client: client, logger: Self.logger)
            let (project, user) = try await Self.makeProject(client: client)
            let (other, otherUser) = try await Self.makeProject(client: client, email: "other@example.org")
            var ids: [UUID] = []
            for _ in 0..<7 {
                ids.append(
                    try await ExportRepository.create(
                        projectID: project, userID: user, formats: [.csv], options: ExportOptions(), jobID: nil, on: database
                    ).id)
            }
            _ = try await ExportRepository.create(
                projectID: other, userID: otherUser, formats: [.csv], options: ExportOptions(), jobID: nil, on: database)
            try await ImagesRepositoryTests.setCreatedAt(ids: Array(ids[0..<5]), "2026-05-05 05:05:05.555555+00", table: "exports", client: client)
            try await ImagesRepositoryTests.setCreatedAt(ids: [ids[5]], "2026-05-05 05:05:04+00", table: "exports", client: client)
            try await ImagesRepositoryTests.setCreatedAt(ids: [ids[6]], "2026-05-06 00:00:00+00", table: "exports", client: client)

            for limit in [1, 2, 3, 10] {
                // MUT
                let seen = try await ImagesRepositoryTests.readAll(limit: limit) { page in
                    try await ExportRepository.list(projectID: project, page: page, on: database)
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
