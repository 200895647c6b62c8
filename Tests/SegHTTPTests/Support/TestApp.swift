import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PostgresNIO
import SegHTTP
import SegStorage
import SegTestSupport
import Testing

/// A running test application on a fresh database and data directory.
struct TestApp {
    /// Sends requests through the router (no sockets).
    let client: any TestClientProtocol
    /// Direct access to the test database.
    let database: PostgresClient
    /// The application's configuration (its data directory is a fresh temporary folder).
    let configuration: ServerConfiguration

    static let secret = "test-secret-0123456789abcdef-0123456789"

    static let logger: Logger = {
        var logger = Logger(label: "seg.test.http")
        logger.logLevel = .critical
        return logger
    }()

    /// A configuration for tests: the database URL, a data directory, a JWT secret, no rate limits unless given.
    static func configuration(databaseURL: String, dataDirectory: URL, extra: [String: String] = [:]) throws -> ServerConfiguration {
        var environment = [
            "SEG_DATABASE_URL": databaseURL, "SEG_DATA_DIR": dataDirectory.path, "SEG_JWT_SECRET": secret, "SEG_WORKERS": "0",
            "SEG_RATE_AUTH": "0", "SEG_RATE_API": "0", "SEG_AUTO_MIGRATE": "false",
            // Many test applications run in parallel against one server: keep each pool small.
            "SEG_DB_POOL_SIZE": "4",
        ]
        environment.merge(extra) { _, new in new }
        return try ServerConfiguration.fromEnvironment(environment).configuration
    }
}

/// Runs `body` against a freshly built application (bcrypt cost 4) on its own database and data directory.
/// - Parameters:
///   - environment: Extra `SEG_*` settings (rate limits, workers, …).
///   - role: Which parts of segserver to run.
func withTestApp<Result: Sendable>(
    environment: [String: String] = [:],
    role: ServerRole = .api,
    jobQueue: JobQueueConfiguration = .init(),
    _ body: @escaping @Sendable (TestApp) async throws -> Result
) async throws -> Result {
    try await withTestApplication(.router, environment: environment, role: role, jobQueue: jobQueue, body)
}

/// Builds the application on a fresh database and data directory and runs `body` against it as `setup` serves it.
private func withTestApplication<Result: Sendable>(
    _ setup: TestingSetup,
    environment: [String: String],
    role: ServerRole,
    jobQueue: JobQueueConfiguration?,
    _ body: @escaping @Sendable (TestApp) async throws -> Result
) async throws -> Result {
    try await withTestDatabaseURL { database, url in
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try TestApp.configuration(databaseURL: url, dataDirectory: directory, extra: environment)
        let app = try await buildApplication(
            configuration: configuration, role: role, passwordCost: 4, jobQueue: jobQueue, logger: TestApp.logger)
        return try await app.test(setup) { client in
            try await body(TestApp(client: client, database: database, configuration: configuration))
        }
    }
}

/// A registered user and its tokens.
struct TestUser: Sendable {
    var id: UUID
    var email: String
    var password: String
    var accessToken: String
    var refreshToken: String

    var bearer: HTTPFields {
        var fields = HTTPFields()
        fields[.authorization] = "Bearer \(accessToken)"
        return fields
    }
}

extension TestApp {
    /// Registers a user through the API.
    /// Signs up `email` and, with `verified` (the default), confirms the address by following the link of its
    /// verification message, as its owner would: an account that others can add to projects directly.
    func register(
        _ email: String = "user-\(UUID().uuidString.prefix(8))@example.org", password: String = "correct horse battery", verified: Bool = true
    )
        async throws -> TestUser
    {
        let response = try await request(.post, "/api/v1/auth/register", json: ["email": email, "password": password])
        try #require(response.status == .created, "register answered \(response.status): \(String(buffer: response.body))")
        let session = try response.decode(Session.self)
        if verified {
            let answer = try await request(
                .post, "/api/v1/auth/verify-email", json: ["token": try await mailedToken(to: email, template: "verify-email")])
            try #require(answer.status == .noContent, "verify-email answered \(answer.status): \(String(buffer: answer.body))")
        }
        return TestUser(
            id: session.user.id, email: email, password: password, accessToken: session.accessToken, refreshToken: session.refreshToken)
    }

    /// The token in the link of the newest message of `template` queued for `address` (from the outbox, as the
    /// message's reader would take it from the link): `…?token=<token>` or `…/share/<token>`.
    func mailedToken(to address: String, template: String) async throws -> String {
        let rows = try await database.query(
            """
            SELECT body_text FROM mail_outbox WHERE lower(recipient) = lower(\(address)) AND template = \(template)
            ORDER BY created_at DESC, id DESC LIMIT 1
            """)
        var text: String?
        for try await body in rows.decode(String.self) { text = body }
        let body = try #require(text, "no \(template) message for \(address) in the outbox")
        let marker = try #require(body.range(of: "?token=") ?? body.range(of: "/share/"), "no link in the \(template) message")
        return String(body[marker.upperBound...].prefix { !$0.isWhitespace })
    }

    /// How many messages of `template` the outbox holds for `address` (in any letter case).
    func outboxCount(to address: String, template: String) async throws -> Int {
        let rows = try await database.query(
            "SELECT count(*)::int8 FROM mail_outbox WHERE lower(recipient) = lower(\(address)) AND template = \(template)")
        var count = -1
        for try await value in rows.decode(Int64.self) { count = Int(value) }
        return count
    }

    struct Session: Decodable {
        struct User: Decodable {
            var id: UUID
            var email: String
            var role: String
        }
        var user: User
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
    }

    /// Sends a request with an optional JSON body and headers.
    func request(
        _ method: HTTPRequest.Method,
        _ uri: String,
        json: (any Encodable & Sendable)? = nil,
        headers: HTTPFields = [:],
        body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        var headers = headers
        var buffer = body
        if let json {
            buffer = ByteBuffer(bytes: try JSONEncoder().encode(json))
            headers[.contentType] = "application/json"
        }
        return try await client.execute(uri: uri, method: method, headers: headers, body: buffer)
    }

    /// Same, as `user`.
    func request(
        _ method: HTTPRequest.Method,
        _ uri: String,
        as user: TestUser,
        json: (any Encodable & Sendable)? = nil,
        headers: HTTPFields = [:],
        body: ByteBuffer? = nil
    ) async throws -> TestResponse {
        var headers = headers
        headers[.authorization] = "Bearer \(user.accessToken)"
        return try await request(method, uri, json: json, headers: headers, body: body)
    }

    /// Same, with `text` sent as the JSON body exactly as written: for bodies an `Encodable` cannot produce (malformed,
    /// mistyped, out of range).
    func request(_ method: HTTPRequest.Method, _ uri: String, as user: TestUser, jsonText text: String) async throws -> TestResponse {
        try await request(method, uri, as: user, headers: [.contentType: "application/json"], body: ByteBuffer(string: text))
    }
}

extension TestResponse {
    /// Decodes the body as JSON.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(body.readableBytesView))
    }

    /// The problem+json body's `code` (nil when the body is not a problem).
    var problemCode: String? {
        guard headers[.contentType] == "application/problem+json" else { return nil }
        struct Body: Decodable { var code: String }
        return try? decode(Body.self).code
    }
}

/// `withTestApp`, but served on a real socket (`.live`): for requests the router test client cannot send, such as a
/// chunked body without `Content-Length`. The body gets the app and its port.
func withLiveTestApp<Result: Sendable>(
    environment: [String: String] = [:],
    _ body: @escaping @Sendable (TestApp, Int) async throws -> Result
) async throws -> Result {
    // The job queue as segserver configures it (no override). HummingbirdTesting serves on localhost with a free port,
    // whatever the configuration says.
    try await withTestApplication(.live, environment: environment, role: .api, jobQueue: nil) { app in
        try await body(app, try #require(app.client.port))
    }
}

extension TestApp {
    /// Creates a project owned by `owner` straight in the database (for tests of other controllers).
    func makeProject(owner: TestUser) async throws -> UUID {
        try await ProjectRepository.create(
            ownerID: owner.id, name: "Project \(UUID().uuidString.prefix(6))", description: "",
            on: Database(client: database, logger: TestApp.logger)
        ).id
    }

    /// Makes `user` an editor or viewer of `project` straight in the database.
    func addMember(_ user: TestUser, to project: UUID, role: ProjectRole) async throws {
        _ = try await ProjectMemberRepository.setRole(
            projectID: project, userID: user.id, role: role, on: Database(client: database, logger: TestApp.logger))
    }
}

/// The checkout's root (tests run from the checkout): for files the tests compare the code with.
let checkoutRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A response body as a JSON object (the test fails when it is not one).
func jsonObject(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
}
