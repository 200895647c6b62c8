import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import PostgresNIO
import SegCore
import SegTestSupport
import Testing
import ZIPFoundation

@testable import SegHTTP
@testable import SegStorage

/// `/api/v1/projects/:id/exports` and `/api/v1/exports/:id[/download]`, the export worker and the retention sweep,
/// against a real PostgreSQL.
@Suite(.timeLimit(.minutes(5))) struct ExportsControllerTests {
    struct ExportBody: Decodable {
        var id: UUID
        var projectId: UUID
        var status: String
        var progress: Double
        var formats: [String]
        var scaleUmPerPx: Double?
        var includeImages: Bool
        var error: String?
        var bytes: Int64?
    }

    struct Stored: Decodable {
        var version: Int
        var polygons: [Polygon]
    }

    // MARK: - Requests and refusals

    @Test func createQueuesAnExportWithItsJob() async throws {
        try await withTestApp { app in
            // setup: a viewer may export
            let owner = try await app.register()
            let viewer = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(viewer, to: project, role: .viewer)

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: viewer,
                json: CreateBody(formats: ["csv", "coco", "csv"], scaleUmPerPx: 0.65, includeImages: true))

            // validate
            #expect(response.status == .accepted)
            let export = try response.decode(ExportBody.self)
            #expect(export.status == "queued")
            #expect(export.progress == 0)
            #expect(export.formats == ["csv", "coco"])
            #expect(export.scaleUmPerPx == 0.65)
            #expect(export.includeImages)
            #expect(export.projectId == project)
            let jobs = try await app.exportJobs(project: project)
            #expect(jobs.count == 1)
            #expect(jobs.first?.kind == "export")
            let payload = try JSONDecoder().decode(ExportJobHandler.Payload.self, from: Data((jobs.first?.payload ?? "").utf8))
            #expect(payload.exportId == export.id)
            #expect(try await app.exportJobID(export.id) == jobs.first?.id)

            let status = try await app.request(.get, "/api/v1/exports/\(export.id)", as: owner)
            #expect(status.status == .ok)
            #expect(try status.decode(ExportBody.self).status == "queued")
            let list = try await app.request(.get, "/api/v1/projects/\(project)/exports", as: viewer)
            #expect(list.status == .ok)
            struct List: Decodable { var items: [ExportBody] }
            #expect(try list.decode(List.self).items.map(\.id) == [export.id])
            let download = try await app.request(.get, "/api/v1/exports/\(export.id)/download", as: viewer)
            #expect(download.status == .conflict)
            #expect(download.problemCode == "EXPORT_NOT_READY")
            #expect(try await app.auditActions().contains("export.create"))
        }
    }

    @Test(arguments: [
        #"{"formats": []}"#, #"{"formats": ["coco", "pdf"]}"#, #"{"formats": ["COCO"]}"#, #"{}"#, #"{"formats": "coco"}"#,
        #"{"formats": ["csv"], "scaleUmPerPx": 0}"#, #"{"formats": ["csv"], "scaleUmPerPx": -0.5}"#,
        #"{"formats": ["csv"], "scaleUmPerPx": 1e9}"#, #"{"formats": ["csv"], "scaleUmPerPx": "0.5"}"#,
        #"{"formats": ["csv"], "includeImages": "yes"}"#, #"not json"#,
    ])
    func badRequestsAre400AndStoreNothing(_ body: String) async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)

            let response = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: owner, jsonText: body)

            #expect(response.status == .badRequest)
            #expect(response.problemCode == "VALIDATION_FAILED")
            #expect(try await app.count("SELECT count(*) FROM exports") == 0)
            #expect(try await app.count("SELECT count(*) FROM jobs") == 0)
        }
    }

    @Test func strangersAndAnonymousAreRefused() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let stranger = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let created = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["csv"]))
            let export = try created.decode(ExportBody.self)

            // MUT and validate: anonymous 401, non-members 404 (existence not revealed)
            for path in [
                "/api/v1/projects/\(project)/exports", "/api/v1/exports/\(export.id)", "/api/v1/exports/\(export.id)/download",
            ] {
                #expect(try await app.request(.get, path).status == .unauthorized)
                let refused = try await app.request(.get, path, as: stranger)
                #expect(refused.status == .notFound, "\(path)")
                #expect(refused.problemCode == "NOT_FOUND")
            }
            let post = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: stranger, json: CreateBody(formats: ["csv"]))
            #expect(post.status == .notFound)
            #expect(try await app.request(.post, "/api/v1/projects/\(project)/exports", json: CreateBody(formats: ["csv"])).status == .unauthorized)
            #expect(try await app.request(.get, "/api/v1/exports/\(UUID())", as: owner).status == .notFound)
            #expect(try await app.request(.get, "/api/v1/exports/not-a-uuid", as: owner).status == .notFound)
            #expect(try await app.count("SELECT count(*) FROM exports") == 1)
        }
    }

    // MARK: - The worker

    @Test func aWorkerBuildsTheArchiveThatSegCoreWouldWrite() async throws {
        try await withTestApp(environment: ["SEG_WORKERS": "1"], role: .all) { app in
            // setup: two images with the same name, one with an unsafe name and two versions, one never segmented
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let fixture = try await app.exportFixture(project: project, owner: owner)

            // MUT
            let created = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: owner,
                json: CreateBody(formats: ExportFormat.allCases.map(\.rawValue), scaleUmPerPx: 0.5, includeImages: true))
            #expect(created.status == .accepted)
            let export = try created.decode(ExportBody.self)
            let status = try await app.waitForExport(export.id, as: owner)

            // validate: status
            #expect(status.progress == 1)
            #expect(try await app.exportJobs(project: project).map(\.state) == ["succeeded"])

            // validate: the download
            let download = try await app.request(.get, "/api/v1/exports/\(export.id)/download", as: owner)
            #expect(download.status == .ok)
            #expect(download.headers[.contentType] == "application/zip")
            let projectName = try await ProjectRepository.find(id: project, on: Database(client: app.database, logger: TestApp.logger))?.name
            #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(projectName ?? "?")-export.zip\"")
            #expect(Int64(download.body.readableBytes) == status.bytes)
            let zip = try ZipContents(Data(download.body.readableBytesView))
            try fixture.check(zip, scale: 0.5, formats: Set(ExportFormat.allCases), includeImages: true)
        }
    }

    @Test func onlyChosenFormatsAndNoImagesUnlessAsked() async throws {
        try await withTestApp(environment: ["SEG_WORKERS": "1"], role: .all) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let fixture = try await app.exportFixture(project: project, owner: owner)

            let created = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["yolo", "csv"]))
            let export = try created.decode(ExportBody.self)
            try await app.waitForExport(export.id, as: owner)

            let download = try await app.request(.get, "/api/v1/exports/\(export.id)/download", as: owner)
            let zip = try ZipContents(Data(download.body.readableBytesView))
            try fixture.check(zip, scale: nil, formats: [.yolo, .csv], includeImages: false)
        }
    }

    @Test func anEmptyProjectExportsAReadmeAndEmptyFiles() async throws {
        try await withTestApp { app in
            // setup: a project without images whose name is not plain ASCII
            let owner = try await app.register()
            let createdProject = try await app.request(.post, "/api/v1/projects", as: owner, json: ["name": "Zellkultur ä \"1\""])
            struct ProjectID: Decodable { var id: UUID }
            let project = try createdProject.decode(ProjectID.self).id
            let services = try await app.services()
            let created = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["coco", "csv", "yolo"]))
            let export = try created.decode(ExportBody.self)

            // MUT
            try await app.withExportWorker(services) {
                try await app.waitForExport(export.id, as: owner)
            }

            // validate
            let download = try await app.request(.get, "/api/v1/exports/\(export.id)/download", as: owner)
            #expect(download.status == .ok)
            let disposition = download.headers[.contentDisposition] ?? ""
            #expect(disposition.hasPrefix("attachment; filename=\"Zellkultur _ _1_-export.zip\""))
            #expect(disposition.hasSuffix("filename*=UTF-8''Zellkultur%20%C3%A4%20%221%22-export.zip"))
            let archive = try ZipContents(Data(download.body.readableBytesView))
            try ExportFixture(exported: [], skippedName: "(none)").check(archive, scale: nil, formats: [.coco, .csv, .yolo], includeImages: false)
            #expect(archive.text("csv/metrics.csv")?.components(separatedBy: "\r\n").filter { !$0.isEmpty }.count == 1)
        }
    }

    @Test func aJobWhoseWorkerDiedIsRebuiltByAnother() async throws {
        try await withTestApp { app in
            // setup: an export whose job a worker claimed, half built and then died (its lease runs out unrenewed)
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let fixture = try await app.exportFixture(project: project, owner: owner)
            let created = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["coco", "masks"]))
            let export = try created.decode(ExportBody.self)
            // The crashed worker's claim has a 1 s lease; the rescuer's a normal one, so that only the first can run out.
            let crashed = JobQueue(configuration: JobQueueConfiguration(leaseDuration: .seconds(1)))
            let database = Database(client: app.database, logger: TestApp.logger)
            let dead = try #require(try await crashed.claim(worker: "crashed/0", kinds: [.export], on: database))
            let services = try await app.services()
            let queue = services.queue
            _ = try await ExportRepository.markRunning(id: export.id, on: database)
            _ = try await ExportRepository.updateProgress(id: export.id, progress: 0.4, on: database)
            let stray = services.files.scratch.newFileURL()
            try Data("half an archive".utf8).write(to: stray)
            // Wait (on the database's clock) until the dead worker's lease has run out.
            try await eventually("the dead worker's lease to run out") {
                try await app.count("SELECT count(*) FROM jobs WHERE id = \(dead.id) AND lease_until < now()") == 1
            }

            // MUT: another worker reclaims the expired lease (pools do at start) and builds the export from scratch
            try await app.withExportWorker(services) {
                try await app.waitForExport(export.id, as: owner)
            }

            // validate
            let job = try await queue.job(dead.id, on: database)
            #expect(job.state == .succeeded)
            #expect(job.attempt == 2)
            // The dead worker can no longer finish or store anything.
            await #expect(throws: StorageError.self) {
                try await queue.complete(dead.lease, on: database) { _ in () }
            }
            let download = try await app.request(.get, "/api/v1/exports/\(export.id)/download", as: owner)
            let zip = try ZipContents(Data(download.body.readableBytesView))
            try fixture.check(zip, scale: nil, formats: [.coco, .masks], includeImages: false)
        }
    }

    @Test func undecodablePolygonsFailTheExportAtOnce() async throws {
        try await withTestApp { app in
            // setup: a stored version whose polygons are not polygons
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 3))
            _ = try await SegmentationRepository.addVersion(
                imageID: image, polygons: Array(#"[{"bogus": true}]"#.utf8), parameters: Array("{}".utf8), segmenter: "test",
                authorID: nil, on: Database(client: app.database, logger: TestApp.logger))
            let created = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["csv"]))
            let export = try created.decode(ExportBody.self)
            let services = try await app.services()

            // MUT
            try await app.withExportWorker(services) {
                try await app.waitForFailedExport(export.id, project: project, as: owner)
            }

            // validate: failed on the first attempt, with a reason, and nothing to download
            let status = try await app.exportStatus(export.id, as: owner)
            #expect(status.error?.contains("do not decode") == true)
            #expect(try await app.exportJobs(project: project).map(\.state) == ["failed"])
            let download = try await app.request(.get, "/api/v1/exports/\(export.id)/download", as: owner)
            #expect(download.status == .conflict)
            #expect(download.problemCode == "EXPORT_FAILED")
        }
    }

    @Test func aMissingOriginalFailsAnExportWithImagesAtOnce() async throws {
        try await withTestApp { app in
            // setup: a segmented image whose file was never stored
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await insertImage(project: project, name: "gone.png", client: app.database)
            _ = try await SegmentationRepository.addVersion(
                imageID: image, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "test", authorID: nil,
                on: Database(client: app.database, logger: TestApp.logger))
            let created = try await app.request(
                .post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["csv"], includeImages: true))
            let export = try created.decode(ExportBody.self)
            let services = try await app.services()

            // MUT
            try await app.withExportWorker(services) {
                try await app.waitForFailedExport(export.id, project: project, as: owner)
            }

            // validate: one attempt, a reason, no archive left behind
            #expect(try await app.exportStatus(export.id, as: owner).error?.contains("missing") == true)
            #expect(try await app.exportJobs(project: project).map(\.state) == ["failed"])
            #expect(try await services.files.list().isEmpty)
            let temporary = services.files.scratch.directory.path
            #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty)
        }
    }

    // MARK: - Retention

    @Test func theSweepExpiresOldArchivesAndRemovesTheirFiles() async throws {
        // An API-only app: no sweeper of its own runs, so the only sweep is the test's.
        try await withTestApp { app in
            // setup: two done exports of the same project
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            _ = try await app.exportFixture(project: project, owner: owner)
            let services = try await app.services()
            var ids: [UUID] = []
            for formats in [["csv"], ["geojson"]] {
                let created = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: formats))
                ids.append(try created.decode(ExportBody.self).id)
            }
            try await app.withExportWorker(services) {
                for id in ids { try await app.waitForExport(id, as: owner) }
            }
            let keys = try await ids.asyncMap {
                try #require(try await ExportRepository.get(id: $0, on: services.database(TestApp.logger)).objectKey)
            }
            for key in keys { #expect(try await services.files.object(key) != nil) }
            // The first is past its retention period; the sweep has not run yet.
            try await app.execute("UPDATE exports SET expires_at = now() - interval '1 minute' WHERE id = \(ids[0])")
            let early = try await app.request(.get, "/api/v1/exports/\(ids[0])/download", as: owner)
            #expect(early.status == .gone)
            #expect(early.problemCode == "EXPORT_EXPIRED")

            // MUT
            let sweeper = ExportSweeper(services: services, sparingYoungerThan: .zero, logger: TestApp.logger)
            let pass = try await sweeper.sweep(asOf: Date())

            // validate
            #expect(pass.expired == [ids[0]])
            #expect(pass.removed == [keys[0]])
            #expect(try await services.files.object(keys[0]) == nil)
            #expect(try await services.files.object(keys[1]) != nil)
            #expect(try await app.exportStatus(ids[0], as: owner).status == "expired")
            #expect(try await app.exportStatus(ids[1], as: owner).status == "done")
            let gone = try await app.request(.get, "/api/v1/exports/\(ids[0])/download", as: owner)
            #expect(gone.status == .gone)
            #expect(gone.problemCode == "EXPORT_EXPIRED")
            #expect(try await app.request(.get, "/api/v1/exports/\(ids[1])/download", as: owner).status == .ok)
            #expect(try await sweeper.sweep(asOf: Date()) == ExportSweeper.Pass())
        }
    }

    @Test func theSweepFailsExportsWhoseJobEndedAndRemovesOldTemporaryFiles() async throws {
        try await withTestApp { app in
            // setup: a queued export whose job an operator cancelled
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let created = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: owner, json: CreateBody(formats: ["csv"]))
            let export = try created.decode(ExportBody.self)
            let services = try await app.services()
            let jobID = try #require(try await app.exportJobID(export.id))
            #expect(try await services.queue.cancel(.job(jobID), on: services.database(TestApp.logger)) == 1)

            // and two leftovers in tmp/: a half-built archive of a worker killed two days ago, and a file being written now
            let old = services.files.scratch.newFileURL()
            let fresh = services.files.scratch.newFileURL()
            for url in [old, fresh] { try Data("partial".utf8).write(to: url) }
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -2 * 86_400)], ofItemAtPath: old.path)

            // MUT
            let pass = try await ExportSweeper(services: services, logger: TestApp.logger).sweep(asOf: Date())

            // validate
            #expect(pass.failed == [export.id])
            #expect(pass.temporaryFiles == 1)
            #expect(!FileManager.default.fileExists(atPath: old.path))
            #expect(FileManager.default.fileExists(atPath: fresh.path))
            let status = try await app.exportStatus(export.id, as: owner)
            #expect(status.status == "failed")
            #expect(status.error == "the export was cancelled")
        }
    }

    // MARK: - Names

    @Test func archiveNamesAreSafeAndUnique() {
        var names = ArchiveNames()
        #expect(names.allocate(for: "cells.png", format: "png").fileName == "cells.png")
        #expect(names.allocate(for: "Cells.PNG", format: "png").fileName == "Cells_2.png")
        #expect(names.allocate(for: "cells.jpg", format: "jpeg").fileName == "cells_3.jpg")
        #expect(names.allocate(for: "../../etc/passwd", format: "png").fileName == "passwd.png")
        #expect(names.allocate(for: "a\\b\\c.png", format: "png").fileName == "c.png")
        #expect(names.allocate(for: "..", format: "png").fileName == "image.png")
        #expect(names.allocate(for: "a/b/..", format: "png").fileName == "image_2.png")
        #expect(names.allocate(for: "x\r\ny\"z.jpeg", format: "jpeg").fileName == "x__y_z.jpeg")
        #expect(names.allocate(for: "CON.png", format: "png").fileName == "_CON.png")
        #expect(names.allocate(for: String(repeating: "é", count: 300) + ".png", format: "png").fileName.count == 124)
        #expect(names.allocate(for: "photo", format: "jpeg").fileName == "photo.jpg")
    }
}

// MARK: - Helpers

struct CreateBody: Encodable, Sendable {
    var formats: [String]
    var scaleUmPerPx: Double?
    var includeImages: Bool?
}

/// The images of an export test and what the archive must hold for them.
struct ExportFixture: Sendable {
    /// Exported images in project order: their name in the archive, size, stored polygons and original bytes.
    var exported: [(fileName: String, width: Int, height: Int, polygons: [Polygon], original: [UInt8])]
    /// The name of the image without a segmentation.
    var skippedName: String

    var images: [ExportImage] { exported.map { ExportImage(name: $0.fileName, width: $0.width, height: $0.height, polygons: $0.polygons) } }

    /// Checks every entry of `zip` against SegCore's encoders run on the stored polygons, and the entry list itself.
    func check(_ archive: ZipContents, scale: Double?, formats: Set<ExportFormat>, includeImages: Bool) throws {
        let images = images
        let stems = exported.map { String($0.fileName[..<($0.fileName.lastIndex(of: ".") ?? $0.fileName.endIndex)]) }
        var expected: Set<String> = ["README.txt"]
        if formats.contains(.coco) { expected.insert("coco/annotations.json") }
        if formats.contains(.csv) { expected.insert("csv/metrics.csv") }
        if formats.contains(.yolo) { expected.insert("yolo/classes.txt") }
        for (stem, entry) in zip(stems, exported) {
            if formats.contains(.yolo) { expected.insert("yolo/\(stem).txt") }
            if formats.contains(.geojson) { expected.insert("geojson/\(stem).geojson") }
            if formats.contains(.masks) { expected.insert("masks/\(stem).png") }
            if formats.contains(.spheroseg) { expected.insert("spheroseg/\(stem).json") }
            if includeImages { expected.insert("images/\(entry.fileName)") }
        }
        #expect(Set(archive.entries.keys) == expected)

        if formats.contains(.coco) {
            let got = try JSONSerialization.jsonObject(with: try #require(archive.entries["coco/annotations.json"])) as? NSDictionary
            let want = try JSONSerialization.jsonObject(with: Data(try COCOExport.json(images))) as? NSDictionary
            #expect(got != nil)
            #expect(got == want)
        }
        if formats.contains(.csv) {
            #expect(archive.text("csv/metrics.csv") == (try MetricsCSVExport.csv(images, scale: scale)))
        }
        if formats.contains(.yolo) {
            let yolo = try YOLOExport.labels(images)
            #expect(archive.text("yolo/classes.txt") == yolo.classes.map { $0 + "\n" }.joined())
            for (stem, file) in zip(stems, yolo.files) {
                #expect(archive.text("yolo/\(stem).txt") == file)
            }
        }
        for (stem, image) in zip(stems, images) {
            if formats.contains(.geojson) {
                #expect(archive.entries["geojson/\(stem).geojson"] == Data(try GeoJSONExport.featureCollection(image, scale: scale)))
            }
            if formats.contains(.masks) {
                let png = try #require(archive.entries["masks/\(stem).png"])
                #expect(png == Data(try LabelMaskExport.png(image)))
                let decoded = try ImageDecoder.decodeGray(Array(png))
                #expect(decoded.width == image.width && decoded.height == image.height)
            }
            if formats.contains(.spheroseg) {
                #expect(archive.entries["spheroseg/\(stem).json"] == Data(try SpherosegExport.json(image)))
            }
        }
        if includeImages {
            for entry in exported {
                #expect(archive.entries["images/\(entry.fileName)"] == Data(entry.original))
            }
        }
        let readme = try #require(archive.text("README.txt"))
        #expect(readme.contains(skippedName))
        #expect(readme.contains("\(exported.count) exported, \(skippedName == "(none)" ? 0 : 1) skipped"))
        #expect(readme.contains(scale == nil ? "area_px2" : "area_um2") || !(formats.contains(.csv) || formats.contains(.geojson)))
    }
}

/// Every entry of a ZIP, read back with ZIPFoundation.
struct ZipContents {
    var entries: [String: Data] = [:]

    init(_ data: Data) throws {
        let archive = try Archive(data: data, accessMode: .read)
        for entry in archive {
            var bytes = Data()
            _ = try archive.extract(entry) { bytes.append($0) }
            entries[entry.path] = bytes
        }
    }

    func text(_ path: String) -> String? {
        entries[path].map { String(decoding: $0, as: UTF8.self) }
    }
}

extension TestApp {
    /// Four images: `cells.png` segmented by SegCore (with holes), a second `cells.png` with two hand-drawn polygons of two
    /// classes, `never.png` without a segmentation, and `a/b:c.png` with two versions (the second is exported).
    func exportFixture(project: UUID, owner: TestUser) async throws -> ExportFixture {
        let database = Database(client: database, logger: TestApp.logger)
        var exported: [(String, Int, Int, [Polygon], [UInt8])] = []

        let first = try SpheroidImage.png(seed: 21)
        let firstID = try await addImage(to: project, bytes: first, name: "cells.png")
        let polygons = try BuiltinSegmenter(parameters: SegmenterParameters(minArea: 30)).segment(ImageDecoder.decodeGray(first)).polygons
        #expect(polygons.contains { !$0.holes.isEmpty })
        _ = try await SegmentationRepository.addVersion(
            imageID: firstID, polygons: Array(try JSONEncoder().encode(polygons)), parameters: Array("{}".utf8), segmenter: "builtin",
            authorID: nil, on: database)
        exported.append(("cells.png", SpheroidImage.width, SpheroidImage.height, try await storedPolygons(firstID, as: owner), first))

        let second = try SpheroidImage.png(seed: 22)
        let secondID = try await addImage(to: project, bytes: second, name: "cells.png")
        let drawn: [[String: any Sendable]] = [
            ["class": "cell", "exterior": [[10, 10], [10, 40], [50, 40], [50, 10]]],
            ["exterior": [[100, 100], [100, 150], [180, 150]], "holes": [[[110, 130], [110, 140], [120, 140]]]],
        ]
        let put = try await request(.put, "/api/v1/images/\(secondID)/segmentation", as: owner, json: AnyJSON(["polygons": drawn]))
        try #require(put.status == .ok, "PUT answered \(put.status): \(String(buffer: put.body))")
        exported.append(("cells_2.png", SpheroidImage.width, SpheroidImage.height, try await storedPolygons(secondID, as: owner), second))

        let never = try SpheroidImage.png(seed: 23)
        _ = try await addImage(to: project, bytes: never, name: "never.png")

        let fourth = try SpheroidImage.png(seed: 24)
        let fourthID = try await addImage(to: project, bytes: fourth, name: "a/b:c.png")
        for corner in [5, 60] {
            let square: [[String: any Sendable]] = [
                ["class": "spheroid", "exterior": [[corner, corner], [corner, corner + 20], [corner + 20, corner + 20], [corner + 20, corner]]]
            ]
            let response = try await request(.put, "/api/v1/images/\(fourthID)/segmentation", as: owner, json: AnyJSON(["polygons": square]))
            try #require(response.status == .ok)
        }
        let latest = try await storedPolygons(fourthID, as: owner)
        #expect(latest.first?.exterior.first == Point2D(x: 60, y: 60))
        exported.append(("b_c.png", SpheroidImage.width, SpheroidImage.height, latest, fourth))

        return ExportFixture(
            exported: exported.map { (fileName: $0.0, width: $0.1, height: $0.2, polygons: $0.3, original: $0.4) }, skippedName: "never.png")
    }

    /// The polygons of the image's latest segmentation, as the API returns them.
    func storedPolygons(_ image: UUID, as user: TestUser) async throws -> [Polygon] {
        let response = try await request(.get, "/api/v1/images/\(image)/segmentation", as: user)
        try #require(response.status == .ok)
        return try response.decode(ExportsControllerTests.Stored.self).polygons
    }

    func exportStatus(_ id: UUID, as user: TestUser) async throws -> ExportsControllerTests.ExportBody {
        let response = try await request(.get, "/api/v1/exports/\(id)", as: user)
        try #require(response.status == .ok, "GET export answered \(response.status)")
        return try response.decode(ExportsControllerTests.ExportBody.self)
    }

    /// Waits until the export is `done`; a timeout names the status and error it last had.
    @discardableResult
    func waitForExport(_ id: UUID, as user: TestUser) async throws -> ExportsControllerTests.ExportBody {
        var last: ExportsControllerTests.ExportBody?
        try await eventually("export \(id) to be done (last \(last?.status ?? "unread"): \(last?.error ?? "no error"))") {
            last = try await exportStatus(id, as: user)
            return last?.status == "done"
        }
        return try #require(last)
    }

    /// Waits until the export is `failed` and so is the project's export job: the handler marks the export failed,
    /// then the pool records the job's failure.
    func waitForFailedExport(_ id: UUID, project: UUID, as user: TestUser) async throws {
        try await eventually("export \(id) and its job to fail") {
            let exportFailed = try await exportStatus(id, as: user).status == "failed"
            let jobFailed = try await exportJobs(project: project).map(\.state) == ["failed"]
            return exportFailed && jobFailed
        }
    }

    struct ExportJob: Sendable {
        var id: UUID
        var kind: String
        var state: String
        var payload: String
    }

    func exportJobs(project: UUID) async throws -> [ExportJob] {
        var jobs: [ExportJob] = []
        let rows = try await database.query(
            "SELECT id, kind, state, payload::text FROM jobs WHERE project_id = \(project) AND kind = 'export' ORDER BY created_at",
            logger: TestApp.logger)
        for try await (id, kind, state, payload) in rows.decode((UUID, String, String, String).self) {
            jobs.append(ExportJob(id: id, kind: kind, state: state, payload: payload))
        }
        return jobs
    }

    func exportJobID(_ export: UUID) async throws -> UUID? {
        var id: UUID?
        for try await value in try await database.query("SELECT job_id FROM exports WHERE id = \(export)", logger: TestApp.logger)
            .decode(UUID?.self)
        {
            id = value
        }
        return id
    }

    func execute(_ query: PostgresQuery) async throws {
        _ = try await database.query(query, logger: TestApp.logger).collect()
    }

    /// Runs `body` while one export worker (as `ExportJobHandler.pool` makes it) works the queue of `services`.
    @discardableResult
    func withExportWorker<T: Sendable>(_ services: AppServices, _ body: () async throws -> T) async throws -> T {
        let pool = JobWorkerPool(
            queue: services.queue, wakeups: nil, name: "test", concurrency: 1, kinds: [.export], idlePoll: .milliseconds(100),
            handler: ExportJobHandler(services: services), database: services.database(TestApp.logger))
        let worker = Task { await pool.run() }
        do {
            let result = try await body()
            worker.cancel()
            await worker.value
            return result
        } catch {
            worker.cancel()
            await worker.value
            throw error
        }
    }

    /// Services on the test database, as `buildApplication` makes them (for running workers and sweeps in the test).
    func services(queue: JobQueueConfiguration = .init()) async throws -> AppServices {
        try await AppServices(configuration: configuration, client: database, passwordCost: 4, jobQueue: queue, logger: TestApp.logger)
    }
}

/// Any JSON value built from dictionaries, arrays, strings and numbers, for request bodies.
struct AnyJSON: Encodable, @unchecked Sendable {
    // Unchecked: holds only value types (dictionaries, arrays, strings, numbers) and is never mutated.
    let value: Any

    init(_ value: Any) {
        self.value = value
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch value {
        case let string as String: try container.encode(string)
        case let int as Int: try container.encode(int)
        case let double as Double: try container.encode(double)
        case let bool as Bool: try container.encode(bool)
        case let array as [Any]: try container.encode(array.map(AnyJSON.init))
        case let object as [String: Any]: try container.encode(object.mapValues(AnyJSON.init))
        default: try container.encodeNil()
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
