import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import SegCore
import SegHTTP
import SegStorage
import SegTestSupport
import Testing

/// The segmentation workers of a running app (`role: .all`, two workers) against the real queue.
@Suite(.timeLimit(.minutes(5))) struct SegmentationWorkerTests {
    struct Segmentation: Decodable {
        var version: Int
        var polygons: [Polygon]
        var segmenter: String
        var author: UUID?
    }

    @Test func workersSegmentImagesAsSegCoreDoes() async throws {
        try await withTestApp(environment: ["SEG_WORKERS": "2"], role: .all) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            var images: [(id: UUID, bytes: [UInt8])] = []
            for seed in [11, 12] as [UInt64] {
                let bytes = try SpheroidImage.png(seed: seed)
                let id = try await app.addImage(to: project, bytes: bytes)
                images.append((id, bytes))
            }
            let parameters = SegmenterParameters(minArea: 30)

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["parameters": ["minArea": 30]])
            #expect(response.status == .accepted)
            for image in images { try await app.waitForStatus("segmented", of: image.id) }

            // validate
            for image in images {
                let expected = try BuiltinSegmenter(parameters: parameters).segment(ImageDecoder.decodeGray(image.bytes)).polygons
                #expect(expected.count >= 3)
                #expect(expected.contains { !$0.holes.isEmpty })
                let got = try await app.request(.get, "/api/v1/images/\(image.id)/segmentation", as: owner)
                #expect(got.status == .ok)
                let stored = try got.decode(Segmentation.self)
                #expect(stored.version == 1)
                #expect(stored.segmenter == "builtin")
                #expect(stored.author == nil)
                #expect(stored.polygons.count == expected.count)
                #expect(stored.polygons.map(\.area) == expected.map(\.area))
                #expect(stored.polygons.map(\.exterior) == expected.map(\.exterior))
                #expect(try await app.jobs(of: image.id).map(\.state) == ["succeeded"])
            }
        }
    }

    @Test func jobsHeldInReserveWaitForTheOneThreadAndEachEndsOnce() async throws {
        // One thread for the CPU stages and three jobs in reserve: four jobs are leased at a time and three of them wait
        // for the thread, renewing their 3-second leases meanwhile.
        let environment = ["SEG_WORKERS": "1", "SEG_WORKER_PREFETCH": "3", "SEG_JOB_LEASE_SECONDS": "3"]
        try await withTestApp(environment: environment, role: .all) { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            var images: [UUID] = []
            for seed in 21...28 as ClosedRange<UInt64> {
                images.append(try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: seed)))
            }

            // MUT
            let response = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner)
            #expect(response.status == .accepted)
            for image in images { try await app.waitForStatus("segmented", of: image) }

            // validate: one attempt and one version each
            for image in images {
                let jobs = try await app.jobs(of: image)
                #expect(jobs.map(\.state) == ["succeeded"])
                #expect(jobs.map(\.attempt) == [1])
                let got = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner)
                #expect(try got.decode(Segmentation.self).version == 1)
            }
        }
    }

    @Test func aCorruptImageEndsFailedWithItsJob() async throws {
        try await withTestApp(environment: ["SEG_WORKERS": "2"], role: .all) { app in
            // setup: a PNG signature followed by junk
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let junk: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x42, count: 200)
            let corrupt = try await app.addImage(to: project, bytes: junk, width: 10, height: 10, name: "broken.png")

            // MUT
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["imageIds": [corrupt]])
            #expect(response.status == .accepted)
            try await app.waitForStatus("failed", of: corrupt)

            // validate
            let jobs = try await app.jobs(of: corrupt)
            #expect(jobs.map(\.state) == ["failed"])
            #expect(jobs.first?.lastError?.isEmpty == false)
            let none = try await app.request(.get, "/api/v1/images/\(corrupt)/segmentation", as: owner)
            #expect(none.problemCode == "NO_SEGMENTATION")
        }
    }

    @Test func aDecodeBudgetTooSmallForTheWholeImageStillTakesItsUploadButFailsItsSegmentation() async throws {
        // setup: a 600×600 16-bit PNG; decoded whole it needs 4 MiB + 20 bytes a pixel (about 11 MB), read band by band
        // for its previews a little over 4 MiB; the budget is 6 MiB.
        var samples = [UInt16](repeating: 0, count: 600 * 600)
        for i in samples.indices { samples[i] = UInt16(truncatingIfNeeded: 1000 + (i % 600) * 50 + (i / 600) * 7) }
        let png = try PNGEncoder.encode(GrayImage16(width: 600, height: 600, pixels: samples))
        #expect(try ImageDecoder.peakDecodeBytes(of: png) > 6 << 20)
        try await withTestApp(environment: ["SEG_WORKERS": "1", "SEG_DECODE_MEMORY_BYTES": "\(6 << 20)"], role: .all) { app in
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)

            // MUT: the upload makes its thumbnail and rendition band by band, within the budget
            let upload = try await app.upload(to: project, as: owner, parts: [.file("deep.png", png)])

            // validate: stored, with a full-size 8-bit rendition
            #expect(upload.status == .created)
            let image = try #require(try upload.decode(UploadAnswer.self).items.first?.id)
            let display = try await app.request(.get, "/api/v1/images/\(image)/display", as: owner)
            #expect(display.status == .ok)
            let info = try ImageDecoder.info(Array(display.body.readableBytesView))
            #expect(info.format == .png && info.width == 600 && info.bitDepth == 8)

            // MUT: segmenting decodes the whole image, which the budget cannot hold
            let response = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["imageIds": [image]])
            #expect(response.status == .accepted)
            try await app.waitForStatus("failed", of: image)

            // validate: failed at once (one attempt), saying why
            let jobs = try await app.jobs(of: image)
            #expect(jobs.map(\.state) == ["failed"])
            #expect(jobs.first?.attempt == 1)
            #expect(jobs.first?.lastError?.contains("SEG_DECODE_MEMORY_BYTES") == true)
        }
    }

    @Test func anImageWhoseFileIsMissingEndsFailed() async throws {
        try await withTestApp(environment: ["SEG_WORKERS": "2"], role: .all) { app in
            // setup: a row whose object was never stored
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await insertImage(project: project, name: "gone.png", client: app.database)

            // MUT
            let response = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner)
            #expect(response.status == .accepted)
            try await app.waitForStatus("failed", of: image)

            // validate: failed at once (permanent), not after retries
            let jobs = try await app.jobs(of: image)
            #expect(jobs.map(\.state) == ["failed"])
            #expect(jobs.first?.lastError?.contains("missing") == true)
        }
    }
}
