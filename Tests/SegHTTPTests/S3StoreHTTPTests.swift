import Crypto
import Foundation
import HTTPTypes
import NIOCore
import SegS3
import SegStorage
import SegTestSupport
import Testing

@testable import SegHTTP

/// segserver on the S3 object store (issue 17), against the real SeaweedFS of the test run: images stored, served and
/// segmented from the bucket; readiness and metrics name the store; a store that is down refuses uploads with 503 and
/// writes no row.
@Suite(.timeLimit(.minutes(5))) struct S3StoreHTTPTests {
    /// The store's settings with a key prefix of this test's own.
    static func environment(prefix: String) throws -> [String: String] {
        var settings = try TestS3Store.environment()
        settings["SEG_S3_PREFIX"] = prefix
        return settings
    }

    @Test func imagesAreStoredInTheBucketAndServedFromIt() async throws {
        let prefix = "http-\(UUID().uuidString.lowercased())"
        try await withTestApp(environment: try Self.environment(prefix: prefix)) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let png = try TestImages.png(width: 300, height: 200)

            // MUT
            let response = try await app.upload(to: project, as: owner, parts: [.file("cells.png", png)])

            // validate: the original, its thumbnail and its rendition are objects in the bucket under the prefix; the
            // original comes back byte for byte; the data directory holds no object
            #expect(response.status == .created)
            let image = try #require(try response.decode(UploadAnswer.self).items.first)
            let bucket = try TestS3Store.configuration()
            let listing = try await S3Client(configuration: bucket).listObjects(prefix: prefix + "/objects/")
            let hex = S3Signer.hex(SHA256.hash(data: png))
            #expect(listing.objects.contains { $0.key == "\(prefix)/objects/\(hex.prefix(2))/\(hex.dropFirst(2))" })
            #expect(listing.objects.count >= 2)
            let original = try await app.request(.get, "/api/v1/images/\(image.id)/original", as: owner)
            #expect(original.status == .ok && Array(original.body.readableBytesView) == png)
            #expect(try await app.request(.get, "/api/v1/images/\(image.id)/thumbnail", as: owner).status == .ok)
            #expect(!FileManager.default.fileExists(atPath: app.configuration.dataDirectory.appendingPathComponent("objects").path))
            let health = try jsonObject(try await app.request(.get, "/api/health"))
            let store = (health["checks"] as? [String: Any])?["objectStore"] as? [String: Any]
            #expect(store?["status"] as? String == "ok" && store?["detail"] as? String == "s3")
            let metrics = String(buffer: try await app.request(.get, "/metrics").body)
            #expect(metrics.contains("seghub_object_store_requests_total{operation=\"put\",result=\"ok\"}"))
        }
    }

    @Test func workersSegmentFromTheBucketAndExportsAreStoredInIt() async throws {
        let prefix = "jobs-\(UUID().uuidString.lowercased())"
        var environment = try Self.environment(prefix: prefix)
        environment["SEG_WORKERS"] = "1"
        try await withTestApp(environment: environment, role: .all) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let uploaded = try await app.upload(to: project, as: owner, parts: [.file("spheroid.png", try SpheroidImage.png(seed: 31))])
            let image = try #require(try uploaded.decode(UploadAnswer.self).items.first).id

            // MUT: segment (the worker reads the original from the bucket), then export (the archive goes into it)
            let queued = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner)
            #expect(queued.status == .accepted)
            try await app.waitForStatus("segmented", of: image)
            let started = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: owner, json: ["formats": ["coco", "csv"]])
            let exportID = try #require(try jsonObject(started)["id"] as? String)
            try await eventually("the export to finish") {
                try jsonObject(try await app.request(.get, "/api/v1/exports/\(exportID)", as: owner))["status"] as? String == "done"
            }

            // validate: polygons stored; the archive is an object in the bucket and downloads whole
            let segmentation = try jsonObject(try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner))
            #expect((segmentation["polygons"] as? [Any])?.isEmpty == false)
            let download = try await app.request(.get, "/api/v1/exports/\(exportID)/download", as: owner)
            #expect(download.status == .ok)
            let archive = Array(download.body.readableBytesView)
            #expect(archive.starts(with: [0x50, 0x4B, 0x03, 0x04]))
            let hex = S3Signer.hex(SHA256.hash(data: archive))
            let listing = try await S3Client(configuration: try TestS3Store.configuration()).listObjects(prefix: prefix + "/objects/")
            #expect(listing.objects.contains { $0.key.hasSuffix("/objects/\(hex.prefix(2))/\(hex.dropFirst(2))") && $0.size == Int64(archive.count) })
        }
    }

    @Test func aStoreThatIsDownRefusesUploadsWith503AndWritesNoRow() async throws {
        var settings = try Self.environment(prefix: "down-\(UUID().uuidString.lowercased())")
        settings["SEG_S3_ENDPOINT"] = "http://127.0.0.1:9"  // discard: nothing listens
        try await withTestApp(environment: settings) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)

            let response = try await app.upload(to: project, as: owner, parts: [.file("cells.png", try TestImages.png(width: 64, height: 64))])

            #expect(response.status == .serviceUnavailable && response.problemCode == "STORAGE_UNAVAILABLE")
            #expect(response.headers[.retryAfter] == "5")
            let rows = try await app.database.query("SELECT count(*)::int8 FROM images")
            for try await count in rows.decode(Int64.self) { #expect(count == 0) }
            let health = try await app.request(.get, "/api/health")
            #expect(health.status == .serviceUnavailable)
            let store = (try jsonObject(health)["checks"] as? [String: Any])?["objectStore"] as? [String: Any]
            #expect(store?["status"] as? String == "error")
            let scrape = String(buffer: try await app.request(.get, "/metrics").body)
            #expect(scrape.contains("seghub_object_store_up 0") && scrape.contains("seghub_ready 0") && scrape.contains("seghub_database_up 1"))
            #expect(try app.temporaryFiles().isEmpty, "the upload's scratch file is removed")
        }
    }

    @Test func anExportWhileTheStoreIsDownRetriesThenFailsWithAReasonAndStoresNothing() async throws {
        // setup: the bucket's key prefix, then a store nobody answers for (discard port); retries 50 ms apart
        let prefix = "export-down-\(UUID().uuidString.lowercased())"
        var settings = try Self.environment(prefix: prefix)
        settings["SEG_S3_ENDPOINT"] = "http://127.0.0.1:9"
        settings["SEG_WORKERS"] = "1"
        let queue = JobQueueConfiguration(retryBaseDelay: .milliseconds(50), retryMaximumDelay: .milliseconds(100))
        try await withTestApp(environment: settings, role: .all, jobQueue: queue) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)

            // MUT
            let started = try await app.request(.post, "/api/v1/projects/\(project)/exports", as: owner, json: ["formats": ["coco"]])
            #expect(started.status == .accepted)
            let exportID = try #require(try jsonObject(started)["id"] as? String)
            var export: [String: Any] = [:]
            try await eventually("the export to fail", timeout: .seconds(60)) {
                export = try jsonObject(try await app.request(.get, "/api/v1/exports/\(exportID)", as: owner))
                return export["status"] as? String == "failed"
            }

            // validate: every attempt was made; the owner reads why; the job keeps the store's own words; no object and
            // no scratch file is left
            let error = export["error"] as? String ?? ""
            #expect(error.contains("object store could not be reached on each of its 3 attempts"), "\(error)")
            // The handler marks the export before it hands its failure to the queue, which then fails the job: wait for both.
            var job: (attempt: Int32, state: String, lastError: String)?
            try await eventually("the job to be failed", timeout: .seconds(30)) {
                let rows = try await app.database.query("SELECT attempt, state::text, coalesce(last_error, '') FROM jobs WHERE kind = 'export'")
                for try await row in rows.decode((Int32, String, String).self) { job = row }
                return job?.state == "failed"
            }
            #expect(job?.attempt == 3)
            let lastError = job?.lastError ?? ""
            #expect(lastError.contains("object store unavailable") && lastError.contains("failed 4 times"), "\(lastError)")
            let listing = try await S3Client(configuration: try TestS3Store.configuration()).listObjects(prefix: prefix + "/")
            #expect(listing.objects.isEmpty)
            #expect(try app.temporaryFiles() == [], "the archive's scratch files are removed")
        }
    }
}
