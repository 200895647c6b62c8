import Foundation
import PostgresNIO
import SegTestSupport
import Testing

@testable import SegStorage

/// `SegmentationRepository`: versions, concurrency and the JSON round trip.
@Suite(.timeLimit(.minutes(5))) struct SegmentationsRepositoryTests {
    static let logger = Logger(label: "seg.test.segmentations")

    /// The polygon JSON of DESIGN.md section 2, as a test-side Codable shape.
    struct Polygon: Codable, Equatable {
        struct Metrics: Codable, Equatable {
            var area: Double
            var circularity: Double
            var centroid: [String: Double]
        }
        var id: String
        var `class`: String
        var exterior: [[Int]]
        var holes: [[[Int]]]
        var area: Double
        var metrics: Metrics
    }

    static let polygons = [
        Polygon(
            id: "polygon_1",
            class: "spheroid",
            exterior: [[10, 20], [30, 20], [30, 45], [10, 45]],
            holes: [[[15, 25], [16, 26], [15, 27], [14, 26]]],
            area: 498,
            metrics: .init(area: 498.0000001, circularity: 0.1, centroid: ["x": 20.25, "y": 1e-7])
        ),
        Polygon(
            id: "é ünïcode \u{1F9EB} \"quoted\"",
            class: "cell",
            exterior: [[0, 0]],
            holes: [],
            area: 0,
            metrics: .init(area: 0, circularity: 1, centroid: ["x": 0, "y": 0])
        ),
    ]

    @Test func versionsCountUpAndNeverOverwrite() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let (image, user) = try await Self.makeImage(client: client)
            let first = Array(try JSONEncoder().encode(Self.polygons))
            let second = Array(try JSONEncoder().encode([Self.polygons[0]]))

            // MUT
            let v1 = try await SegmentationRepository.addVersion(
                imageID: image,
                polygons: first,
                parameters: Array(#"{"threshold": "otsu", "minArea": 50}"#.utf8),
                segmenter: "builtin",
                authorID: nil, on: database
            )
            let v2 = try await SegmentationRepository.addVersion(
                imageID: image, polygons: second, parameters: Array("{}".utf8), segmenter: "manual", authorID: user, on: database)

            // validate
            #expect(v1.version == 1)
            #expect(v2.version == 2)
            #expect(try await SegmentationRepository.latest(imageID: image, on: database) == v2)
            #expect(try await SegmentationRepository.version(1, imageID: image, on: database) == v1)
            #expect(
                try JSONDecoder().decode(
                    [Polygon].self, from: Data(try await SegmentationRepository.version(1, imageID: image, on: database).polygons)) == Self.polygons)
            #expect(try JSONDecoder().decode([Polygon].self, from: Data(v2.polygons)) == [Self.polygons[0]])
            let parameters = try JSONSerialization.jsonObject(with: Data(v1.parameters)) as? [String: Any]
            #expect(parameters?["threshold"] as? String == "otsu")
            #expect(parameters?["minArea"] as? Int == 50)
            #expect(v1.authorID == nil && v2.authorID == user)
            #expect(v2.segmenter == "manual")
            let summaries = try await SegmentationRepository.versions(imageID: image, on: database)
            #expect(summaries.map(\.version) == [2, 1])
            #expect(summaries.map(\.polygonCount) == [1, 2])
            #expect(summaries.map(\.segmenter) == ["manual", "builtin"])
            #expect(summaries.map(\.authorID) == [user, nil])
            #expect(summaries.map(\.id) == [v2.id, v1.id])
        }
    }

    /// The stored JSON means exactly what was sent: every number, string and nesting level survives.
    @Test func polygonJSONRoundTripsSemantically() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (image, _) = try await Self.makeImage(client: client)
            let text = #"[{"z": 1.50, "a": [1, -2, 3.25e2], "s": "tab\tnewline\n\u00e9", "n": null, "b": true, "big": 12345678901234567890}]"#
            let stored = try await SegmentationRepository.addVersion(
                imageID: image,
                polygons: Array(text.utf8),
                parameters: Array("{}".utf8),
                segmenter: "builtin",
                authorID: nil, on: database
            )
            let back = try await SegmentationRepository.latest(imageID: image, on: database)
            #expect(back.polygons == stored.polygons)
            let sent = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSArray
            let read = try JSONSerialization.jsonObject(with: Data(back.polygons)) as? NSArray
            #expect(sent != nil)
            #expect(read == sent)
            // The exact decimal survives too (jsonb keeps numbers as numeric).
            #expect(String(decoding: back.polygons, as: UTF8.self).contains("12345678901234567890"))
        }
    }

    @Test func concurrentVersionsAreDistinctAndConsecutive() async throws {
        try await withTestDatabase { client in
            // setup: a version already stored
            let database = Database(client: client, logger: Self.logger)
            let (image, _) = try await Self.makeImage(client: client)
            _ = try await SegmentationRepository.addVersion(
                imageID: image, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "builtin", authorID: nil, on: database)

            // MUT: 12 writers at once
            let versions = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
                for index in 0..<12 {
                    group.addTask {
                        let polygons = Array("[{\"id\": \"\(index)\"}]".utf8)
                        return try await SegmentationRepository.addVersion(
                            imageID: image,
                            polygons: polygons,
                            parameters: Array("{}".utf8),
                            segmenter: "builtin",
                            authorID: nil, on: database
                        ).version
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            // validate
            #expect(versions.sorted() == Array(2...13))
            #expect(try await SegmentationRepository.versions(imageID: image, on: database).map(\.version) == Array((1...13).reversed()))
            #expect(try await SegmentationRepository.latest(imageID: image, on: database).version == 13)
            let latest = try await SegmentationRepository.latest(imageIDs: [image, UUID()], on: database)
            #expect(latest.count == 1)
            #expect(latest[image]?.version == 13)
        }
    }

    @Test func workerStoresResultAndStatusInOneTransaction() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let (image, _) = try await Self.makeImage(client: client)

            // What a worker stores: a version and the image's status.
            func storeResult(on transaction: Database) async throws -> SegmentationRecord {
                let stored = try await SegmentationRepository.addVersion(
                    imageID: image,
                    polygons: Array("[]".utf8),
                    parameters: Array("{}".utf8),
                    segmenter: "builtin",
                    authorID: nil,
                    on: transaction
                )
                _ = try await ImageRepository.setStatus(.segmented, id: image, on: transaction)
                return stored
            }

            // MUT: a worker whose transaction fails after storing
            struct Crash: Error {}
            await #expect(throws: (any Error).self) {
                try await Database(client: client, logger: Self.logger).transaction { transaction in
                    _ = try await storeResult(on: transaction)
                    throw Crash()
                }
            }
            #expect(try await SegmentationRepository.versions(imageID: image, on: database).isEmpty)
            #expect(try await ImageRepository.get(id: image, on: database).status == .new)

            // MUT: one that commits
            let stored = try await Database(client: client, logger: Self.logger).transaction { transaction in
                try await storeResult(on: transaction)
            }
            #expect(stored.version == 1)
            #expect(try await ImageRepository.get(id: image, on: database).status == .segmented)
        }
    }

    @Test func missingRowsAreNotFound() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (image, _) = try await Self.makeImage(client: client)
            let unknown = UUID()
            await #expect(throws: StorageError.notFound(entity: "image", id: unknown.uuidString)) {
                try await SegmentationRepository.addVersion(
                    imageID: unknown, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "x", authorID: nil, on: database)
            }
            await #expect(throws: StorageError.notFound(entity: "segmentation", id: image.uuidString)) {
                try await SegmentationRepository.latest(imageID: image, on: database)
            }
            _ = try await SegmentationRepository.addVersion(
                imageID: image, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "x", authorID: nil, on: database)
            await #expect(throws: StorageError.notFound(entity: "segmentation", id: "\(image.uuidString)/2")) {
                try await SegmentationRepository.version(2, imageID: image, on: database)
            }
            #expect(try await SegmentationRepository.versions(imageID: unknown, on: database).isEmpty)
            #expect(
                try await SegmentationRepository.latest(imageIDs: [image, unknown], on: database).keys.sorted { $0.uuidString < $1.uuidString } == [
                    image
                ])
        }
    }

    @Test func badJSONIsRejected() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (image, _) = try await Self.makeImage(client: client)
            let add = { (polygons: String, parameters: String) async throws -> Void in
                _ = try await SegmentationRepository.addVersion(
                    imageID: image,
                    polygons: Array(polygons.utf8),
                    parameters: Array(parameters.utf8),
                    segmenter: "builtin",
                    authorID: nil, on: database
                )
            }
            await #expect(throws: StorageError.invalidArgument("polygons and parameters must be valid JSON")) { try await add("[{", "{}") }
            await #expect(throws: StorageError.constraintViolation(constraint: "segmentations_polygons_check")) { try await add("{}", "{}") }
            await #expect(throws: StorageError.constraintViolation(constraint: "segmentations_parameters_check")) { try await add("[]", "[]") }
            #expect(try await SegmentationRepository.versions(imageID: image, on: database).isEmpty)
        }
    }

    @Test func deleteVersionsRemovesOnlyThatImagesVersions() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let (image, user) = try await Self.makeImage(client: client)
            let projects = try await client.query("SELECT project_id FROM images WHERE id = \(image)").collect()
            let project = try #require(try projects.first?.decode(UUID.self))
            let other = try await insertImage(project: project, client: client)
            for target in [image, image, other] {
                _ = try await SegmentationRepository.addVersion(
                    imageID: target, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "builtin", authorID: user, on: database)
            }

            // MUT
            let deleted = try await SegmentationRepository.deleteVersions(imageID: image, on: database)

            // validate
            #expect(deleted == 2)
            #expect(try await SegmentationRepository.versions(imageID: image, on: database).isEmpty)
            #expect(try await SegmentationRepository.versions(imageID: other, on: database).count == 1)
            // numbering restarts only because nothing is left to overwrite
            #expect(
                try await SegmentationRepository.addVersion(
                    imageID: image, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "b", authorID: nil, on: database
                ).version == 1)
        }
    }

    @Test func deletingTheAuthorKeepsTheVersion() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let (image, _) = try await Self.makeImage(client: client)
            let editor = try await insertUser(email: "editor@example.org", client: client)
            _ = try await SegmentationRepository.addVersion(
                imageID: image, polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "manual", authorID: editor, on: database)
            try await client.query("DELETE FROM users WHERE id = \(editor)")
            let latest = try await SegmentationRepository.latest(imageID: image, on: database)
            #expect(latest.version == 1)
            #expect(latest.authorID == nil)
        }
    }

    // MARK: - Helpers

    /// An image in a new project, and the project's owner.
    static func makeImage(client: PostgresClient) async throws -> (image: UUID, owner: UUID) {
        let user = try await insertUser(email: "owner@example.org", client: client)
        let project = try await insertProject(owner: user, client: client)
        return (try await insertImage(project: project, client: client), user)
    }
}
