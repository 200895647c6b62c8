import Crypto
import Foundation
import Logging
import PostgresNIO
import SegStorage
import Testing

/// Data made through the repositories for the administration tests, and ways to compare databases.
enum AdminFixtures {
    static let logger: Logger = {
        var logger = Logger(label: "segctl.tests")
        logger.logLevel = .critical
        return logger
    }()

    struct Seeded {
        var owner: UserRecord
        var project: ProjectRecord
        var images: [ImageRecord]
    }

    /// An owner, a project and `images` images (each with its own original and thumbnail object), every second one
    /// with a segmentation, plus a member and an audit entry.
    static func seed(client: PostgresClient, store: LocalObjectStore, images count: Int, tag: String = "a") async throws -> Seeded {
        let database = Database(client: client, logger: logger)
        let owner = try await UserRepository.create(
            NewUser(email: "owner-\(tag)@example.org", name: "Owner \(tag)", passwordHash: "$2b$04$x"), on: database)
        let viewer = try await UserRepository.create(NewUser(email: "viewer-\(tag)@example.org", passwordHash: "$2b$04$y"), on: database)
        let project = try await ProjectRepository.create(
            ownerID: owner.id, name: "Spheroids \(tag)", description: "backup test", on: Database(client: client, logger: logger))
        _ = try await ProjectMemberRepository.setRole(
            projectID: project.id, userID: viewer.id, role: .viewer, on: Database(client: client, logger: logger))
        var images: [ImageRecord] = []
        for index in 0..<count {
            images.append(try await addImage(client: client, store: store, project: project.id, index: index, tag: tag))
        }
        _ = try await AuditLogRepository.record(
            actorID: owner.id, action: "project.create", targetType: "project", targetID: project.id, details: Array(#"{"n":1}"#.utf8),
            on: Database(client: client, logger: logger))
        return Seeded(owner: owner, project: project, images: images)
    }

    /// One image with distinct original and thumbnail bytes; even indexes also get a segmentation version.
    static func addImage(client: PostgresClient, store: LocalObjectStore, project: UUID, index: Int, tag: String) async throws -> ImageRecord {
        let original = try store.putBlocking(
            Array("original \(tag) \(index) \(UUID().uuidString)".utf8) + [UInt8](repeating: UInt8(index % 251), count: 2048))
        let thumbnail = try store.putBlocking(Array("thumbnail \(tag) \(index) \(UUID().uuidString)".utf8))
        let image = try await ImageRepository.create(
            projectID: project, name: "image-\(index).png", objectKey: original, thumbnailKey: thumbnail, width: 64 + index, height: 48,
            format: .png, bytes: 2048, on: Database(client: client, logger: logger))
        if index % 2 == 0 {
            let polygons = #"[{"id":"p1","class":"spheroid","exterior":[[1,1],[\#(index + 5),1],[\#(index + 5),9]],"holes":[],"area":\#(index).5}]"#
            _ = try await SegmentationRepository.addVersion(
                imageID: image.id, polygons: Array(polygons.utf8), parameters: Array(#"{"minArea":50}"#.utf8), segmenter: "builtin",
                authorID: nil, on: Database(client: client, logger: logger))
        }
        return image
    }

    /// Every row of every table in `public`, as sorted `to_jsonb` texts per table.
    static func rows(_ client: PostgresClient) async throws -> [String: [String]] {
        var tables: [String] = []
        for try await name in try await client.query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'").decode(String.self) {
            tables.append(name)
        }
        var result: [String: [String]] = [:]
        for table in tables {
            var rows: [String] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: "SELECT to_jsonb(t)::text FROM public.\"\(table)\" t"))
                .decode(String.self)
            {
                rows.append(row)
            }
            result[table] = rows.sorted()
        }
        return result
    }

    /// The keys the database refers to (originals, thumbnails, export archives).
    static func referencedKeys(_ client: PostgresClient) async throws -> [String] {
        var keys: [String] = []
        for try await key in try await client.query(
            """
            SELECT object_key FROM images UNION SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL
            UNION SELECT object_key FROM exports WHERE object_key IS NOT NULL
            """
        ).decode(String.self) {
            keys.append(key)
        }
        return keys.sorted()
    }

    /// SHA-256 of a file, lowercase hex.
    static func sha256(_ url: URL) throws -> String {
        SHA256.hash(data: try Data(contentsOf: url)).map { String(format: "%02x", $0) }.joined()
    }

    /// Runs segctl off Swift's cooperative threads, so tasks of the test keep running meanwhile.
    static func run(_ arguments: [String], stdin: Data? = nil) async throws -> SegCtlRunner.Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try SegCtlRunner.run(arguments, stdin: stdin) })
            }
        }
    }

    static func json(_ output: SegCtlRunner.Output) throws -> Any {
        try JSONSerialization.jsonObject(with: output.stdout)
    }

    /// Flips one byte of a file in place.
    static func flipByte(in url: URL, at offset: Int) throws {
        var data = try Data(contentsOf: url)
        let index = min(offset, data.count - 1)
        data[index] ^= 0xFF
        try data.write(to: url)
    }
}
