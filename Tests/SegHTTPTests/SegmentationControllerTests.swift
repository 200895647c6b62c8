import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SegCore
import SegHTTP
import SegTestSupport
import Testing

@testable import SegStorage

@Suite(.timeLimit(.minutes(5))) struct SegmentationControllerTests {
    struct Queued: Decodable { var queued: Int }
    struct Payload: Decodable { var parameters: SegmenterParameters }
    struct Body: Encodable, Sendable {
        var imageIds: [UUID]
        var parameters: [String: String]
        var priority: Int
    }
    struct Cancelled: Decodable { var cancelled: Int }
    struct Segmentation: Decodable {
        var imageId: UUID
        var version: Int
        var polygons: [Polygon]
        var parameters: [String: JSONAny]
        var segmenter: String
        var createdAt: Date
        var author: UUID?
    }
    struct Version: Decodable {
        var version: Int
        var segmenter: String
        var author: UUID?
        var createdAt: Date
        var polygonCount: Int
    }

    /// RELIABILITY Q6: queueing "everything not yet segmented" writes the statuses and the jobs together.
    @Test func queueAllQueuesNewAndFailedImages() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let png = try SpheroidImage.png(seed: 1)
            let fresh = try await app.addImage(to: project, bytes: png)
            let failed = try await app.addImage(to: project, bytes: png)
            let done = try await app.addImage(to: project, bytes: png)
            try await app.setStatus(.failed, image: failed)
            try await app.setStatus(.segmented, image: done)

            // MUT: no body at all
            let response = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner)

            // validate
            #expect(response.status == .accepted)
            #expect(try response.decode(Queued.self).queued == 2)
            let again = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner, json: [String: String]())
            #expect(try again.decode(Queued.self).queued == 0)
            #expect(try await app.status(of: fresh) == "queued")
            #expect(try await app.status(of: failed) == "queued")
            #expect(try await app.status(of: done) == "segmented")
            for image in [fresh, failed] {
                let jobs = try await app.jobs(of: image)
                #expect(jobs.count == 1)
                let job = try #require(jobs.first)
                #expect(job.state == "queued")
                #expect(job.kind == "segment")
                #expect(job.userID == owner.id)
                #expect(job.projectID == project)
                let payload = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
                #expect(payload.parameters == SegmenterParameters())
            }
            #expect(try await app.jobs(of: done).isEmpty)
            #expect(try await app.auditActions().contains("segmentation.queue"))
        }
    }

    @Test func requeueReplacesThePendingJobsParameters() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let editor = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(editor, to: project, role: .editor)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 2))

            // MUT
            let first = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner,
                json: Body(imageIds: [image], parameters: ["polarity": "dark"], priority: 0))
            let second = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: editor,
                json: Body(imageIds: [image, image], parameters: ["threshold": "triangle", "polarity": "bright"], priority: 7))

            // validate
            #expect(first.status == .accepted)
            #expect(second.status == .accepted)
            #expect(try second.decode(Queued.self).queued == 1)
            let jobs = try await app.jobs(of: image)
            #expect(jobs.count == 1)
            let job = try #require(jobs.first)
            #expect(job.state == "queued")
            #expect(job.priority == 7)
            let payload = try JSONDecoder().decode(Payload.self, from: Data(job.payload.utf8))
            #expect(payload.parameters == SegmenterParameters(threshold: .triangle, polarity: .bright))
            #expect(try await app.status(of: image) == "queued")
        }
    }

    @Test func badParametersAre400WithTheField() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 3))
            let cases: [(String, String)] = [
                (#"{"parameters": {"threshold": "median"}}"#, "parameters.threshold"),
                (#"{"parameters": {"threshold": true}}"#, "parameters.threshold"),
                (#"{"parameters": {"preset": "cells"}}"#, "parameters.preset"),
                (#"{"parameters": {"page": -1}}"#, "parameters.page"),
                (#"{"parameters": {"page": 1, "channel": 0}}"#, "parameters.page"),
                (#"{"parameters": {"polarity": "up"}}"#, "parameters.polarity"),
                (#"{"parameters": {"minArea": -1}}"#, "parameters.minArea"),
                (#"{"parameters": {"fillHoles": "yes"}}"#, "parameters.fillHoles"),
                (#"{"parameters": {"sigma": 99}}"#, "parameters.sigma"),
                (#"{"parameters": {"minarea": 10}}"#, "parameters.minarea"),
                (#"{"parameters": 5}"#, "parameters"),
                (#"{"priority": 101}"#, "priority"),
                (#"{"imageIds": []}"#, "imageIds"),
            ]
            for (body, field) in cases {
                // MUT
                let response = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner, jsonText: body)

                // validate
                #expect(response.status == .badRequest, "\(body)")
                let problem = try response.decode(ProblemJSON.self)
                #expect(problem.code == "VALIDATION_FAILED", "\(body)")
                #expect(problem.errors?.first?.field == field, "\(body)")
            }
            #expect(try await app.status(of: image) == "new")
            #expect(try await app.jobs(of: image).isEmpty)
        }
    }

    @Test func unknownImagesOrAnotherProjectsAreRejectedAndNothingIsQueued() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let other = try await app.makeProject(owner: owner)
            let png = try SpheroidImage.png(seed: 4)
            let mine = try await app.addImage(to: project, bytes: png)
            let theirs = try await app.addImage(to: other, bytes: png)

            for foreign in [UUID(), theirs] {
                // MUT
                let response = try await app.request(
                    .post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["imageIds": [mine, foreign]])

                // validate
                #expect(response.status == .badRequest)
                let problem = try response.decode(ProblemJSON.self)
                #expect(problem.code == "UNKNOWN_IMAGE")
                #expect(problem.errors?.map(\.field) == ["imageIds[1]"])
            }
            #expect(try await app.status(of: mine) == "new")
            #expect(try await app.status(of: theirs) == "new")
            #expect(try await app.jobs(of: mine).isEmpty)
            #expect(try await app.jobs(of: theirs).isEmpty)
        }
    }

    @Test func cancelPutsQueuedImagesBack() async throws {
        try await withTestApp { app in
            // setup: one image never segmented, one with a stored version
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let png = try SpheroidImage.png(seed: 5)
            let fresh = try await app.addImage(to: project, bytes: png)
            let done = try await app.addImage(to: project, bytes: png)
            _ = try await SegmentationRepository.addVersion(
                imageID: done, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "builtin", authorID: nil,
                on: Database(client: app.database, logger: TestApp.logger))
            try await app.setStatus(.segmented, image: done)
            let queued = try await app.request(
                .post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["imageIds": [fresh, done]])
            #expect(try queued.decode(Queued.self).queued == 2)
            #expect(try await app.status(of: done) == "queued")

            // MUT
            let response = try await app.request(.delete, "/api/v1/projects/\(project)/segmentations", as: owner)

            // validate
            #expect(response.status == .ok)
            #expect(try response.decode(Cancelled.self).cancelled == 2)
            #expect(try await app.status(of: fresh) == "new")
            #expect(try await app.status(of: done) == "segmented")
            #expect(try await app.jobs(of: fresh).map(\.state) == ["cancelled"])
            #expect(try await app.jobs(of: done).map(\.state) == ["cancelled"])
            let again = try await app.request(.delete, "/api/v1/projects/\(project)/segmentations", as: owner)
            #expect(try again.decode(Cancelled.self).cancelled == 0)
            #expect(try await app.auditActions().contains("segmentation.cancel"))
        }
    }

    /// A request while the image's job runs queues a second job; cancelling that one leaves the image to the running
    /// job (`processing`), and a manual edit meanwhile does not mark it `segmented` under the running job.
    @Test func cancelAndEditWhileAJobRuns() async throws {
        try await withTestApp { app in
            // setup: the first job claimed as a worker would
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 9))
            _ = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner)
            let queue = JobQueue()
            let database = Database(client: app.database, logger: TestApp.logger)
            let running = try #require(try await queue.claim(worker: "test/0", on: database))
            try await app.setStatus(.processing, image: image)
            let second = try await app.request(.post, "/api/v1/projects/\(project)/segmentations", as: owner, json: ["imageIds": [image]])
            #expect(try second.decode(Queued.self).queued == 1)
            #expect(try await app.jobs(of: image).map(\.state) == ["running", "queued"])
            #expect(try await app.status(of: image) == "queued")

            // MUT
            let edit = try await app.request(
                .put, "/api/v1/images/\(image)/segmentation", as: owner, json: ["polygons": [["exterior": [[1, 1], [9, 1], [9, 9]]]]])
            let cancelled = try await app.request(.delete, "/api/v1/projects/\(project)/segmentations", as: owner)

            // validate
            #expect(edit.status == .ok)
            #expect(try cancelled.decode(Cancelled.self).cancelled == 1)
            #expect(try await app.jobs(of: image).map(\.state) == ["running", "cancelled"])
            #expect(try await app.status(of: image) == "processing")
            try await queue.complete(running.lease, on: database)
        }
    }

    @Test func putRejectsInvalidPolygonsWithTheirIndex() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let project = try await app.makeProject(owner: owner)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 6), width: 100, height: 80)
            let good = #"{"exterior": [[10, 10], [20, 10], [20, 20], [10, 20]]}"#
            let cases: [String] = [
                #"{"exterior": [[10, 10], [20, 10], [10, 10]]}"#,  // two distinct points
                #"{"exterior": [[10, 10], [120, 10], [20, 20]]}"#,  // outside the image (width 100)
                #"{"exterior": [[10, 10], [20, 10], [20, -1]]}"#,  // negative
                #"{"exterior": [[10, 10], [20, 10], [20, 20], [10, 20]], "holes": [[[12, 12], [30, 12], [12, 18]]]}"#,  // hole sticks out
                #"{"holes": []}"#,  // no exterior
                #"{"exterior": [[10, "a"], [20, 10], [20, 20]]}"#,  // not a number
                #"{"exterior": [[10, 10], [20, 10], [20, 20]], "class": ""}"#,  // empty class
            ]
            for bad in cases {
                // MUT
                let response = try await app.request(
                    .put, "/api/v1/images/\(image)/segmentation", as: owner, jsonText: #"{"polygons": [\#(good), \#(bad)]}"#)

                // validate
                #expect(response.status == .unprocessableContent, "\(bad)")
                let problem = try response.decode(ProblemJSON.self)
                #expect(problem.code == "INVALID_POLYGON", "\(bad)")
                #expect(problem.errors?.first?.field == "polygons[1]", "\(bad)")
            }
            #expect(try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner).problemCode == "NO_SEGMENTATION")
            #expect(try await app.status(of: image) == "new")
        }
    }

    @Test func putStoresANewVersionWithMetricsRecomputed() async throws {
        try await withTestApp { app in
            // setup: version 1 as the worker would store it
            let owner = try await app.register()
            let editor = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(editor, to: project, role: .editor)
            let png = try SpheroidImage.png(seed: 7)
            let image = try await app.addImage(to: project, bytes: png)
            let original = try BuiltinSegmenter().segment(ImageDecoder.decodeGray(png)).polygons
            #expect(!original.isEmpty)
            _ = try await SegmentationRepository.addVersion(
                imageID: image, polygons: Array(try JSONEncoder().encode(original)),
                parameters: Array(try JSONEncoder().encode(SegmenterParameters())), segmenter: "builtin", authorID: nil,
                on: Database(client: app.database, logger: TestApp.logger))
            try await app.setStatus(.segmented, image: image)

            // MUT: a 10×10 square (area 100) whose stated area, id and metrics are wrong, plus an unknown key
            let body = #"""
                {"polygons": [
                  {"id": "mine", "area": 5, "metrics": null, "colour": "red",
                   "exterior": [[10, 10], [20, 10], [20, 20], [10, 20]]},
                  {"class": "debris", "exterior": [[40, 40], [80, 40], [80, 80], [40, 80]], "holes": [[[50, 50], [60, 50], [60, 60], [50, 60]]]}
                ]}
                """#
            let response = try await app.request(.put, "/api/v1/images/\(image)/segmentation", as: editor, jsonText: body)

            // validate
            #expect(response.status == .ok)
            let stored = try response.decode(Segmentation.self)
            #expect(stored.version == 2)
            #expect(stored.segmenter == "manual")
            #expect(stored.author == editor.id)
            #expect(stored.imageId == image)
            #expect(stored.polygons.count == 2)
            let square = try #require(stored.polygons.first)
            #expect(square.area == 100)
            #expect(square.metrics?.area == 100)
            #expect(square.metrics?.perimeter == 40)
            #expect(square.className == "spheroid")
            #expect(square.id == "polygon_1")
            #expect(square.holes.isEmpty)
            let holed = try #require(stored.polygons.last)
            #expect(holed.className == "debris")
            #expect(holed.area == 1600 - 100)
            #expect(try await app.status(of: image) == "segmented")

            let latest = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: owner)
            #expect(try latest.decode(Segmentation.self).version == 2)
            let first = try await app.request(.get, "/api/v1/images/\(image)/segmentation?version=1", as: owner)
            #expect(first.status == .ok)
            let v1 = try first.decode(Segmentation.self)
            #expect(v1.version == 1)
            #expect(v1.segmenter == "builtin")
            #expect(v1.author == nil)
            #expect(v1.polygons == original)
            #expect(v1.parameters["threshold"] == .string("otsu"))
            let missing = try await app.request(.get, "/api/v1/images/\(image)/segmentation?version=3", as: owner)
            #expect(missing.status == .notFound)
            #expect(missing.problemCode == "NO_SEGMENTATION")

            let versions = try await app.request(.get, "/api/v1/images/\(image)/segmentation/versions", as: owner)
            #expect(versions.status == .ok)
            let list = try versions.decode(PageJSON<Version>.self)
            #expect(list.nextCursor == nil)
            let items = list.items
            #expect(items.map(\.version) == [2, 1])
            #expect(items.map(\.segmenter) == ["manual", "builtin"])
            #expect(items.map(\.author) == [editor.id, nil])
            #expect(items.map(\.polygonCount) == [2, original.count])
            #expect(try await app.auditActions().contains("segmentation.edit"))
        }
    }

    @Test func refusals() async throws {
        try await withTestApp { app in
            // setup
            let owner = try await app.register()
            let viewer = try await app.register()
            let stranger = try await app.register()
            let project = try await app.makeProject(owner: owner)
            try await app.addMember(viewer, to: project, role: .viewer)
            let image = try await app.addImage(to: project, bytes: try SpheroidImage.png(seed: 8))
            let square = ["polygons": [["exterior": [[1, 1], [5, 1], [5, 5]]]]]
            let routes: [(HTTPRequest.Method, String, Bool)] = [
                (.post, "/api/v1/projects/\(project)/segmentations", true),
                (.delete, "/api/v1/projects/\(project)/segmentations", true),
                (.get, "/api/v1/images/\(image)/segmentation", false),
                (.put, "/api/v1/images/\(image)/segmentation", true),
                (.get, "/api/v1/images/\(image)/segmentation/versions", false),
            ]
            for (method, path, writes) in routes {
                var json: (any Encodable & Sendable)?
                if method == .put { json = square } else if method == .post { json = [String: String]() }
                // MUT and validate: no token, a stranger, a viewer
                let anonymous = try await app.request(method, path, json: json)
                #expect(anonymous.status == .unauthorized, "\(method) \(path)")
                let hidden = try await app.request(method, path, as: stranger, json: json)
                #expect(hidden.status == .notFound, "\(method) \(path)")
                let asViewer = try await app.request(method, path, as: viewer, json: json)
                if writes {
                    #expect(asViewer.status == .forbidden, "\(method) \(path)")
                    #expect(asViewer.problemCode == "FORBIDDEN", "\(method) \(path)")
                } else {
                    #expect(asViewer.status != .forbidden && asViewer.status != .unauthorized, "\(method) \(path)")
                }
            }
            let none = try await app.request(.get, "/api/v1/images/\(image)/segmentation", as: viewer)
            #expect(none.status == .notFound)
            #expect(none.problemCode == "NO_SEGMENTATION")
            let unknown = try await app.request(.get, "/api/v1/images/\(UUID())/segmentation", as: owner)
            #expect(unknown.status == .notFound)
            #expect(unknown.problemCode == "NOT_FOUND")
            let unknownProject = try await app.request(.post, "/api/v1/projects/\(UUID())/segmentations", as: owner, json: [String: String]())
            #expect(unknownProject.status == .notFound)
            #expect(try await app.status(of: image) == "new")
            #expect(try await app.jobs(of: image).isEmpty)
        }
    }
}

/// Any JSON value, for reading the stored parameters back.
enum JSONAny: Decodable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case other

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let value = try? c.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? c.decode(Double.self) {
            self = .number(value)
        } else if let value = try? c.decode(String.self) {
            self = .string(value)
        } else {
            self = .other
        }
    }
}

/// Projects, images and queue inspection for the segmentation tests, written straight to the database and the file
/// store (the project and upload routes are not needed for them).
extension TestApp {
    /// Stores `bytes` in the app's file store and inserts the image row (status `new`); the size is a `SpheroidImage`'s
    /// unless given.
    func addImage(
        to project: UUID, bytes: [UInt8], width: Int = SpheroidImage.width, height: Int = SpheroidImage.height, name: String = "image.png"
    ) async throws -> UUID {
        let key = try LocalObjectStore(root: configuration.dataDirectory).putBlocking(bytes)
        return try await insertImage(
            project: project, objectKey: key.hex, name: name, width: width, height: height, bytes: Int64(bytes.count), client: database)
    }

    /// Sets an image's status directly.
    func setStatus(_ status: ImageStatus, image: UUID) async throws {
        _ = try await ImageRepository.setStatus(status, id: image, on: Database(client: database, logger: TestApp.logger))
    }

    /// The image's status as stored.
    func status(of image: UUID) async throws -> String? {
        var status: String?
        for try await value in try await database.query("SELECT status FROM images WHERE id = \(image)", logger: TestApp.logger)
            .decode(String.self)
        {
            status = value
        }
        return status
    }

    /// A row of the `jobs` table.
    struct JobRow: Sendable {
        var state: String
        var kind: String
        var payload: String
        var priority: Int
        var userID: UUID?
        var projectID: UUID?
        var lastError: String?
        var attempt: Int
    }

    /// The image's jobs, oldest first.
    func jobs(of image: UUID) async throws -> [JobRow] {
        var rows: [JobRow] = []
        let sequence = try await database.query(
            "SELECT state, kind, payload::text, priority, user_id, project_id, last_error, attempt FROM jobs WHERE image_id = \(image) ORDER BY created_at, id",
            logger: TestApp.logger)
        for try await (state, kind, payload, priority, user, project, error, attempt) in sequence.decode(
            (String, String, String, Int32, UUID?, UUID?, String?, Int32).self)
        {
            rows.append(
                JobRow(
                    state: state, kind: kind, payload: payload, priority: Int(priority), userID: user, projectID: project, lastError: error,
                    attempt: Int(attempt)))
        }
        return rows
    }

    /// The actions of the audit log, oldest first.
    func auditActions() async throws -> [String] {
        var actions: [String] = []
        for try await action in try await database.query("SELECT action FROM audit_log ORDER BY created_at, id", logger: TestApp.logger)
            .decode(String.self)
        {
            actions.append(action)
        }
        return actions
    }

    /// Waits until the image has `status` (a worker's doing); a timeout names the status it last had.
    func waitForStatus(_ status: String, of image: UUID) async throws {
        var last: String?
        try await eventually("image \(image) to be \(status) (last \(last ?? "unread"))") {
            last = try await self.status(of: image)
            return last == status
        }
    }
}

/// Spheroid-like test images: dark filled discs (one with a bright hole) on a bright, noisy background.
enum SpheroidImage {
    static let width = 200
    static let height = 160

    /// The gray image for `seed` (the noise and the discs' positions depend on it).
    static func gray(seed: UInt64) throws -> GrayImage {
        var state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let shift = Double(seed % 7) * 3
        // (center x, center y, radius, hole radius)
        let discs: [(Double, Double, Double, Double)] = [
            (45 + shift, 45, 22, 0), (135, 55 + shift, 26, 9), (95 - shift, 120, 18, 0),
        ]
        var pixels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                var value = 200 + Int(next() % 25) - 12
                for (cx, cy, r, hole) in discs {
                    let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)).squareRoot()
                    if d <= r && d > hole { value = 60 + Int(next() % 21) - 10 }
                }
                pixels[y * width + x] = UInt8(clamping: value)
            }
        }
        return try GrayImage(width: width, height: height, pixels: pixels)
    }

    /// The PNG bytes for `seed`.
    static func png(seed: UInt64) throws -> [UInt8] {
        try PNGEncoder.encode(gray(seed: seed))
    }
}
