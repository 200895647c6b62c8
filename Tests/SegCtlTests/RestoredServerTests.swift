import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import SegAuth
import SegHTTP
import SegTestSupport
import Testing

@testable import SegStorage

/// After `segctl backup restore`, segserver serves the same projects, images, files and polygons as before.
@Suite(.timeLimit(.minutes(10))) struct RestoredServerTests {
    static let password = "correct horse battery"

    @Test func restoredDatabaseServesTheSameProjectsImagesAndPolygons() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { client, url in
            // setup: data made through the repositories, an owner who can log in, a backup
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 5)
            _ = try await UserRepository.setPasswordHash(
                id: seeded.owner.id, passwordHash: try await PasswordHasher(cost: 4).hash(Self.password),
                on: Database(client: client, logger: AdminFixtures.logger))
            let created = try await AdminFixtures.run(
                ["backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json"])
            try #require(created.status == 0, "stderr: \(created.stderr)")
            let name = try #require((try AdminFixtures.json(created) as? [String: Any])?["name"] as? String)
            let before = try await Self.answers(databaseURL: url, dataDirectory: store.root, email: seeded.owner.email)
            #expect(before.count == 3 + 5 * 3, "\(before.keys.sorted())")

            try await withTestDatabaseURL(migrated: false) { _, restoredURL in
                // MUT
                let restoredData = root.appendingPathComponent("restored-data")
                let restored = try await AdminFixtures.run(
                    ["backup", "restore", name, "--database-url", restoredURL, "--data-dir", restoredData.path, "--dest", dest])
                try #require(restored.status == 0, "stderr: \(restored.stderr)")

                // validate: every answer byte for byte the same
                let after = try await Self.answers(databaseURL: restoredURL, dataDirectory: restoredData, email: seeded.owner.email)
                #expect(after.keys.sorted() == before.keys.sorted())
                for (path, body) in before { #expect(after[path] == body, "\(path)") }
            }
        }
    }

    /// Logs in as `email` and fetches the project list, each project, its images, and each image's segmentation
    /// and original (as its SHA-256); returns the answers by path.
    static func answers(databaseURL: String, dataDirectory: URL, email: String) async throws -> [String: String] {
        var logger = Logger(label: "seg.test.restored")
        logger.logLevel = .critical
        let environment = [
            "SEG_DATABASE_URL": databaseURL, "SEG_DATA_DIR": dataDirectory.path, "SEG_JWT_SECRET": "restore-test-secret-0123456789abcdef",
            "SEG_WORKERS": "0", "SEG_RATE_AUTH": "0", "SEG_RATE_API": "0", "SEG_AUTO_MIGRATE": "false", "SEG_DB_POOL_SIZE": "4",
        ]
        let configuration = try ServerConfiguration.fromEnvironment(environment).configuration
        let app = try await buildApplication(configuration: configuration, role: .api, passwordCost: 4, logger: logger)
        return try await app.test(.router) { client in
            var json = HTTPFields()
            json[.contentType] = "application/json"
            let login = try await client.execute(
                uri: "/api/v1/auth/login", method: .post, headers: json,
                body: ByteBuffer(string: #"{"email":"\#(email)","password":"\#(password)"}"#))
            try #require(login.status == .ok, "login: \(login.status) \(String(buffer: login.body))")
            let token = try #require((try JSONSerialization.jsonObject(with: Data(buffer: login.body)) as? [String: Any])?["accessToken"] as? String)
            var bearer = HTTPFields()
            bearer[.authorization] = "Bearer \(token)"

            var answers: [String: String] = [:]
            func get(_ path: String) async throws -> ByteBuffer {
                let response = try await client.execute(uri: path, method: .get, headers: bearer)
                try #require(response.status == .ok || response.status == .notFound, "\(path): \(response.status)")
                return response.body
            }
            // The server's key order varies between processes: compare the documents, not their spelling.
            func canonical(_ body: ByteBuffer) throws -> String {
                let document = try JSONSerialization.jsonObject(with: Data(buffer: body))
                return String(decoding: try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys]), as: UTF8.self)
            }
            func items(_ body: ByteBuffer) throws -> [[String: Any]] {
                (try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])?["items"] as? [[String: Any]] ?? []
            }
            let projects = try await get("/api/v1/projects")
            answers["/api/v1/projects"] = try canonical(projects)
            for project in try items(projects) {
                let id = try #require(project["id"] as? String)
                answers["/api/v1/projects/\(id)"] = try canonical(try await get("/api/v1/projects/\(id)"))
                let images = try await get("/api/v1/projects/\(id)/images?limit=100")
                answers["/api/v1/projects/\(id)/images"] = try canonical(images)
                for image in try items(images) {
                    let imageID = try #require(image["id"] as? String)
                    answers["/api/v1/images/\(imageID)"] = try canonical(try await get("/api/v1/images/\(imageID)"))
                    answers["/api/v1/images/\(imageID)/segmentation"] = try canonical(try await get("/api/v1/images/\(imageID)/segmentation"))
                    let original = try await get("/api/v1/images/\(imageID)/original")
                    answers["/api/v1/images/\(imageID)/original"] = SHA256.hash(data: Data(buffer: original)).map { String(format: "%02x", $0) }
                        .joined()
                }
            }
            return answers
        }
    }
}
