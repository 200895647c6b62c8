import Foundation
import Logging
import SegAuth
import SegInference
import SegMail
import SegStorage

/// Everything segserver reads from its environment (`SEG_*`), read once at start.
///
/// `fromEnvironment` collects every problem before it fails, so an operator fixes them in one go; `.env.example`
/// documents each key. Tests build the struct directly.
public struct ServerConfiguration: Sendable {
    /// The database (`SEG_DATABASE_URL`, required).
    public var database: DatabaseConfiguration
    /// Where file objects live (`SEG_DATA_DIR`, required).
    public var dataDirectory: URL
    /// Where objects are kept (`SEG_OBJECT_STORE` and `SEG_S3_*`, see docs/scaling.md); `nil` is the file store under
    /// `dataDirectory`. With S3, `dataDirectory` holds only this node's scratch files.
    public var objectStore: ObjectStoreSettings?
    /// JWT keys (`SEG_JWT_SECRET`, or `SEG_JWT_KEYS=kid:secret,…` with `SEG_JWT_ACTIVE_KID`).
    public var jwtKeys: [JWTSigningKey]
    /// The key that signs new tokens.
    public var jwtActiveKeyID: String
    /// The JWT `iss` (`SEG_JWT_ISSUER`, default "seghub").
    public var jwtIssuer: String
    /// Listen address (`SEG_HTTP_HOST`, default 0.0.0.0).
    public var httpHost: String
    /// Listen port (`SEG_HTTP_PORT`, default 8080).
    public var httpPort: Int
    /// Segmentation workers in this process (`SEG_WORKERS`, default: number of cores; 0 with `--role api`): how many
    /// images are decoded, segmented and encoded at once, on threads of their own.
    public var workers: Int
    /// Segmentation jobs a process holds beyond `workers` (`SEG_WORKER_PREFETCH`, default: as many as `workers`):
    /// they fetch their image, wait for a model server or store their result while the workers' threads compute, so
    /// that no core idles between jobs. 0 takes a job only when a worker is free.
    public var workerPrefetch: Int = 0
    /// The largest body of `PUT /api/v1/images/{id}/segmentation` (`SEG_MAX_POLYGON_BODY_BYTES`, default 64 MiB);
    /// every other JSON route reads at most 1 MiB, the account routes 16 KiB.
    public var maxPolygonBodyBytes: Int = 64 << 20
    /// Seconds a kept-alive connection may go without a request before it is closed (`SEG_HTTP_IDLE_TIMEOUT`,
    /// default 60).
    public var idleTimeoutSeconds: Int = 60
    /// Seconds a new connection may take to send its first request's headers (`SEG_HTTP_HEADER_TIMEOUT`, default 10).
    public var headerTimeoutSeconds: Int = 10
    /// Event sockets one client address may hold open (`SEG_EVENTS_MAX_PER_ADDRESS`, default 100).
    public var eventSocketsPerAddress: Int = 100
    /// Authenticated event sockets one account may hold (`SEG_EVENTS_MAX_PER_USER`, default 20).
    public var eventSocketsPerUser: Int = 20
    /// The bytes of images a user's projects may hold (`SEG_USER_QUOTA_BYTES`; default none).
    public var userQuotaBytes: Int64?
    /// The memory all image decodes together may reserve (`SEG_DECODE_MEMORY_BYTES`, default 4 GiB, which holds the
    /// largest image the default limits allow): uploads' previews, renditions of other planes and segmentation jobs wait
    /// for room rather than overcommit the machine, and one that needs more than the whole budget is refused.
    public var decodeMemoryBytes: Int = 4 << 30
    /// How many polygons, holes and vertices one segmentation PUT may carry.
    public var polygonLimits = PolygonLimits()
    /// Open connections at most (`SEG_HTTP_MAX_CONNECTIONS`, default 4096); more are closed as they arrive.
    public var maxConnections: Int = 4096
    /// Where mail is sent (`SEG_SMTP_URL`, see docs/mail.md); without it mail waits in the outbox and the server says so.
    public var smtp: SMTPSettings?
    /// The sender of SegHub's mail (`SEG_MAIL_FROM`, `Name <address>` or an address); required with `SEG_SMTP_URL`.
    public var mailFrom: MailAddress?
    /// The address browsers reach SegHub at (`SEG_PUBLIC_URL`, e.g. `https://seghub.lab.example`), for links in mail.
    public var publicURL: String?
    /// Whether an account must confirm its address before it can sign in (`SEG_REQUIRE_EMAIL_VERIFICATION`, default
    /// false; needs `SEG_SMTP_URL`). Either way a sign-up is mailed a verification link, and pending invitations join
    /// an account only once it has confirmed its address.
    public var requireEmailVerification = false
    /// Origins allowed by CORS (`SEG_CORS_ORIGINS`, comma-separated, default none).
    public var corsOrigins: [String]
    /// Origins allowed to open the WebSocket (`SEG_WS_ALLOWED_ORIGINS`, default none).
    public var webSocketAllowedOrigins: [String]
    /// Apply migrations at start (`SEG_AUTO_MIGRATE`, default true).
    public var autoMigrate: Bool
    /// Log level (`SEG_LOG_LEVEL`, default info).
    public var logLevel: Logger.Level
    /// How log lines look (`SEG_LOG_FORMAT`): `text` (default) for people, `json` (one object per line) for log pipelines.
    public var logFormat: LogFormat = .text
    /// Largest request body (`SEG_MAX_REQUEST_BYTES`, default 1 GiB).
    public var maxRequestBytes: Int
    /// Largest uploaded file (`SEG_MAX_UPLOAD_BYTES`, default 50 MiB).
    public var maxUploadBytes: Int
    /// Most files in one upload request (`SEG_MAX_FILES_PER_REQUEST`, default 100).
    public var maxFilesPerRequest: Int
    /// The bucket for `/api/v1/auth/*` per client (`SEG_RATE_AUTH`, default `30:10/min`; `0` disables).
    public var authRateLimit: RateLimit?
    /// The bucket for other routes per client (`SEG_RATE_API`, default `600:20/s`; `0` disables).
    public var apiRateLimit: RateLimit?
    /// Proxies whose `X-Forwarded-For` is believed (`SEG_TRUSTED_PROXIES`, CIDRs, default none).
    public var trustedProxies: [IPAddressRange]
    /// Database connections per process (`SEG_DB_POOL_SIZE`, default 20).
    public var databasePoolSize: Int
    /// Hours an export archive is kept (`SEG_EXPORT_RETENTION_HOURS`, default 24).
    public var exportRetentionHours: Int
    /// How long a worker's claim on a job lasts without a heartbeat (`SEG_JOB_LEASE_SECONDS`, default 60): a job
    /// whose worker died is taken over this long after its last heartbeat.
    public var jobLeaseSeconds: Int
    /// The deep-learning models workers may run (`SEG_MODELS_FILE`, a JSON model registry; default none).
    public var models: ModelRegistry = .empty
    /// Seconds one inference request may take (`SEG_INFERENCE_TIMEOUT`, default 60).
    public var inferenceTimeoutSeconds: Int = 60

    /// Every key this build reads.
    public static let knownKeys: Set<String> = [
        "SEG_DATABASE_URL", "SEG_DATA_DIR", "SEG_JWT_SECRET", "SEG_JWT_KEYS", "SEG_JWT_ACTIVE_KID", "SEG_JWT_ISSUER",
        "SEG_HTTP_HOST", "SEG_HTTP_PORT", "SEG_WORKERS", "SEG_CORS_ORIGINS", "SEG_WS_ALLOWED_ORIGINS", "SEG_AUTO_MIGRATE",
        "SEG_LOG_LEVEL", "SEG_LOG_FORMAT", "SEG_MAX_REQUEST_BYTES", "SEG_MAX_UPLOAD_BYTES", "SEG_MAX_FILES_PER_REQUEST", "SEG_RATE_AUTH",
        "SEG_RATE_API", "SEG_TRUSTED_PROXIES", "SEG_DB_POOL_SIZE", "SEG_EXPORT_RETENTION_HOURS", "SEG_JOB_LEASE_SECONDS",
        "SEG_WORKER_PREFETCH", "SEG_MAX_POLYGON_BODY_BYTES", "SEG_HTTP_IDLE_TIMEOUT", "SEG_HTTP_HEADER_TIMEOUT",
        "SEG_HTTP_MAX_CONNECTIONS",
        "SEG_MAX_POLYGONS", "SEG_MAX_HOLES", "SEG_MAX_RING_VERTICES", "SEG_MAX_VERTICES", "SEG_EVENTS_MAX_PER_ADDRESS",
        "SEG_EVENTS_MAX_PER_USER", "SEG_USER_QUOTA_BYTES", "SEG_DECODE_MEMORY_BYTES", "SEG_SMTP_URL", "SEG_MAIL_FROM",
        "SEG_PUBLIC_URL", "SEG_REQUIRE_EMAIL_VERIFICATION", "SEG_OBJECT_STORE", "SEG_S3_ENDPOINT", "SEG_S3_BUCKET", "SEG_S3_REGION",
        "SEG_S3_PREFIX", "SEG_S3_PATH_STYLE", "SEG_S3_ACCESS_KEY_ID", "SEG_S3_SECRET_ACCESS_KEY", "SEG_S3_SECRET_ACCESS_KEY_FILE",
        // Read by segctl only (backups); listed so a shared environment file does not warn.
        "SEG_BACKUP_DIR", "SEG_MODELS_FILE", "SEG_INFERENCE_TIMEOUT",
        // Read by scripts/run.sh (start the bundled model's inference server).
        "SEG_INFERENCE",
    ]

    /// Every problem found in the environment; segserver prints them all and exits.
    public struct Problems: Error, Sendable, CustomStringConvertible {
        /// One line per problem, naming the key.
        public var messages: [String]

        public var description: String {
            "invalid configuration:\n" + messages.map { "  - \($0)" }.joined(separator: "\n")
        }
    }

    /// Reads the configuration from `environment`.
    /// - Parameters:
    ///   - environment: The process environment (tests pass their own).
    ///   - cores: The default for `SEG_WORKERS`.
    /// - Returns: The configuration and warnings (unknown `SEG_` keys).
    /// - Throws: `Problems` listing every missing or invalid value.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment,
        cores: Int = ProcessInfo.processInfo.activeProcessorCount
    ) throws(Problems) -> (configuration: ServerConfiguration, warnings: [String]) {
        var reader = Reader(environment: environment)
        let database: DatabaseConfiguration? = reader.required("SEG_DATABASE_URL") { text in
            do { return .success(try DatabaseConfiguration(url: text)) } catch { return .failure("\(error)") }
        }
        let dataDirectory: URL? = reader.required("SEG_DATA_DIR") { text in
            text.hasPrefix("/") ? .success(URL(fileURLWithPath: text, isDirectory: true)) : .failure("must be an absolute path")
        }
        let (keys, active) = reader.jwtKeys()
        var configuration = ServerConfiguration(
            database: database ?? DatabaseConfiguration(endpoint: .unixSocket(path: "/"), username: ""),
            dataDirectory: dataDirectory ?? URL(fileURLWithPath: "/"),
            jwtKeys: keys,
            jwtActiveKeyID: active,
            jwtIssuer: reader.optional("SEG_JWT_ISSUER", default: "seghub") { $0.isEmpty ? .failure("must not be empty") : .success($0) },
            httpHost: reader.optional("SEG_HTTP_HOST", default: "0.0.0.0") { $0.isEmpty ? .failure("must not be empty") : .success($0) },
            httpPort: reader.integer("SEG_HTTP_PORT", default: 8080, in: 1...65535),
            workers: reader.integer("SEG_WORKERS", default: max(cores, 1), in: 0...256),
            corsOrigins: reader.origins("SEG_CORS_ORIGINS"),
            webSocketAllowedOrigins: reader.origins("SEG_WS_ALLOWED_ORIGINS"),
            autoMigrate: reader.boolean("SEG_AUTO_MIGRATE", default: true),
            logLevel: reader.optional("SEG_LOG_LEVEL", default: .info) { text in
                Logger.Level(rawValue: text.lowercased()).map { .success($0) }
                    ?? .failure("must be one of trace, debug, info, notice, warning, error, critical")
            },
            maxRequestBytes: reader.integer("SEG_MAX_REQUEST_BYTES", default: 1 << 30, in: 1024...(1 << 40)),
            maxUploadBytes: reader.integer("SEG_MAX_UPLOAD_BYTES", default: 50 << 20, in: 1024...(1 << 40)),
            maxFilesPerRequest: reader.integer("SEG_MAX_FILES_PER_REQUEST", default: 100, in: 1...10_000),
            authRateLimit: reader.rateLimit("SEG_RATE_AUTH", default: RateLimit(capacity: 30, refillPerSecond: 10.0 / 60)),
            apiRateLimit: reader.rateLimit("SEG_RATE_API", default: RateLimit(capacity: 600, refillPerSecond: 20)),
            trustedProxies: reader.optional("SEG_TRUSTED_PROXIES", default: []) { text in
                var ranges: [IPAddressRange] = []
                for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                    guard let range = IPAddressRange(item) else { return .failure("\(item) is not an IP address or CIDR range") }
                    ranges.append(range)
                }
                return .success(ranges)
            },
            databasePoolSize: reader.integer("SEG_DB_POOL_SIZE", default: 20, in: 2...1000),
            exportRetentionHours: reader.integer("SEG_EXPORT_RETENTION_HOURS", default: 24, in: 1...(24 * 365)),
            jobLeaseSeconds: reader.integer("SEG_JOB_LEASE_SECONDS", default: 60, in: 3...3600)
        )
        configuration.inferenceTimeoutSeconds = reader.integer("SEG_INFERENCE_TIMEOUT", default: 60, in: 1...3600)
        configuration.logFormat = reader.optional("SEG_LOG_FORMAT", default: .text) { text in
            LogFormat(rawValue: text.lowercased()).map { .success($0) } ?? .failure("must be text or json")
        }
        configuration.workerPrefetch = reader.integer("SEG_WORKER_PREFETCH", default: configuration.workers, in: 0...256)
        configuration.maxPolygonBodyBytes = reader.integer("SEG_MAX_POLYGON_BODY_BYTES", default: 64 << 20, in: 1024...(1 << 30))
        configuration.idleTimeoutSeconds = reader.integer("SEG_HTTP_IDLE_TIMEOUT", default: 60, in: 1...3600)
        configuration.headerTimeoutSeconds = reader.integer("SEG_HTTP_HEADER_TIMEOUT", default: 10, in: 1...600)
        let quota = reader.integer("SEG_USER_QUOTA_BYTES", default: 0, in: 0...(1 << 60))
        configuration.userQuotaBytes = quota > 0 ? Int64(quota) : nil
        configuration.eventSocketsPerAddress = reader.integer("SEG_EVENTS_MAX_PER_ADDRESS", default: 100, in: 1...100_000)
        configuration.eventSocketsPerUser = reader.integer("SEG_EVENTS_MAX_PER_USER", default: 20, in: 1...10_000)
        configuration.polygonLimits = PolygonLimits(
            polygons: reader.integer("SEG_MAX_POLYGONS", default: PolygonLimits().polygons, in: 1...10_000_000),
            holes: reader.integer("SEG_MAX_HOLES", default: PolygonLimits().holes, in: 0...10_000_000),
            ringVertices: reader.integer("SEG_MAX_RING_VERTICES", default: PolygonLimits().ringVertices, in: 3...100_000_000),
            vertices: reader.integer("SEG_MAX_VERTICES", default: PolygonLimits().vertices, in: 3...1_000_000_000))
        configuration.maxConnections = reader.integer("SEG_HTTP_MAX_CONNECTIONS", default: 4096, in: 1...1_000_000)
        configuration.decodeMemoryBytes = reader.integer("SEG_DECODE_MEMORY_BYTES", default: 4 << 30, in: (1 << 20)...(1 << 50))
        if let url = environment["SEG_SMTP_URL"], !url.isEmpty {
            do {
                configuration.smtp = try SMTPSettings(url: url)
            } catch {
                reader.problems.append("SEG_SMTP_URL: \(error)")
            }
        }
        if let from = environment["SEG_MAIL_FROM"], !from.isEmpty {
            do {
                configuration.mailFrom = try MailAddress(parsing: from)
            } catch {
                reader.problems.append("SEG_MAIL_FROM: \(error)")
            }
        } else if configuration.smtp != nil {
            reader.problems.append("SEG_MAIL_FROM is required with SEG_SMTP_URL (for example SegHub <seghub@lab.example>)")
        }
        if let url = environment["SEG_PUBLIC_URL"], !url.isEmpty {
            if let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                components.host?.isEmpty == false, components.query == nil, components.fragment == nil
            {
                configuration.publicURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            } else {
                reader.problems.append("SEG_PUBLIC_URL must be an http(s) URL without query or fragment, not \(url)")
            }
        }
        if configuration.smtp != nil, configuration.publicURL == nil {
            reader.problems.append("SEG_PUBLIC_URL is required with SEG_SMTP_URL: the links in mail point there")
        }
        if let dataDirectory {
            configuration.objectStore = ObjectStoreSettings.fromEnvironment(environment, dataDirectory: dataDirectory, problems: &reader.problems)
        }
        configuration.requireEmailVerification = reader.boolean("SEG_REQUIRE_EMAIL_VERIFICATION", default: false)
        if configuration.requireEmailVerification, configuration.smtp == nil {
            reader.problems.append(
                "SEG_REQUIRE_EMAIL_VERIFICATION needs SEG_SMTP_URL: without mail no new account could confirm its address and sign in")
        }
        if let path = environment["SEG_MODELS_FILE"], !path.isEmpty {
            do {
                configuration.models = try ModelRegistry(contentsOf: URL(fileURLWithPath: path))
            } catch {
                reader.problems += error.problems.map { "SEG_MODELS_FILE (\(path)): \($0)" }
            }
        }
        if configuration.maxUploadBytes > configuration.maxRequestBytes {
            reader.problems.append("SEG_MAX_UPLOAD_BYTES must not exceed SEG_MAX_REQUEST_BYTES")
        }
        guard reader.problems.isEmpty else { throw Problems(messages: reader.problems) }
        let warnings = environment.keys.filter { $0.hasPrefix("SEG_") && !knownKeys.contains($0) }.sorted()
            .map { "unknown setting \($0) is ignored" }
        return (configuration, warnings)
    }
}

/// Reads keys and records problems instead of stopping at the first.
private struct Reader {
    let environment: [String: String]
    var problems: [String] = []

    enum Parsed<Value> {
        case success(Value)
        case failure(String)
    }

    func value(_ key: String) -> String? {
        guard let text = environment[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }

    mutating func required<Value>(_ key: String, parse: (String) -> Parsed<Value>) -> Value? {
        guard let text = value(key) else {
            problems.append("\(key) is required")
            return nil
        }
        switch parse(text) {
        case .success(let value): return value
        case .failure(let reason):
            problems.append("\(key): \(reason)")
            return nil
        }
    }

    mutating func optional<Value>(_ key: String, default fallback: Value, parse: (String) -> Parsed<Value>) -> Value {
        guard let text = value(key) else { return fallback }
        switch parse(text) {
        case .success(let value): return value
        case .failure(let reason):
            problems.append("\(key): \(reason)")
            return fallback
        }
    }

    mutating func integer(_ key: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        optional(key, default: fallback) { text in
            guard let number = Int(text), range.contains(number) else {
                return .failure("must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return .success(number)
        }
    }

    mutating func boolean(_ key: String, default fallback: Bool) -> Bool {
        optional(key, default: fallback) { text in
            switch text.lowercased() {
            case "true", "1", "yes", "on": .success(true)
            case "false", "0", "no", "off": .success(false)
            default: .failure("must be true or false")
            }
        }
    }

    mutating func origins(_ key: String) -> [String] {
        optional(key, default: []) { text in
            var origins: [String] = []
            for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                guard let url = URL(string: item), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
                    url.path.isEmpty || url.path == "/"
                else { return .failure("\(item) is not an origin like https://seghub.example.org") }
                origins.append(item.hasSuffix("/") ? String(item.dropLast()) : item)
            }
            return .success(origins)
        }
    }

    mutating func rateLimit(_ key: String, default fallback: RateLimit) -> RateLimit? {
        optional(key, default: fallback as RateLimit?) { text in
            guard let parsed = RateLimit.parse(text) else {
                return .failure("must be CAPACITY:RATE/UNIT such as 30:10/min or 600:20/s, or 0 to disable")
            }
            return .success(parsed)
        }
    }

    mutating func jwtKeys() -> ([JWTSigningKey], String) {
        let secret = value("SEG_JWT_SECRET")
        let list = value("SEG_JWT_KEYS")
        switch (secret, list) {
        case (nil, nil):
            problems.append("SEG_JWT_SECRET (at least 32 bytes) or SEG_JWT_KEYS with SEG_JWT_ACTIVE_KID is required")
            return ([], "")
        case (.some, .some):
            problems.append("set either SEG_JWT_SECRET or SEG_JWT_KEYS, not both")
            return ([], "")
        case (let secret?, nil):
            if secret.utf8.count < 32 { problems.append("SEG_JWT_SECRET must be at least 32 bytes") }
            return ([JWTSigningKey(id: "default", secret: secret)], "default")
        case (nil, let list?):
            var keys: [JWTSigningKey] = []
            for item in list.split(separator: ",") {
                guard let colon = item.firstIndex(of: ":") else {
                    problems.append("SEG_JWT_KEYS entries must be kid:secret")
                    continue
                }
                let id = item[..<colon].trimmingCharacters(in: .whitespaces)
                let secret = String(item[item.index(after: colon)...])
                if id.isEmpty { problems.append("SEG_JWT_KEYS has an entry without a key id") }
                if secret.utf8.count < 32 { problems.append("SEG_JWT_KEYS: the secret of \(id) must be at least 32 bytes") }
                if keys.contains(where: { $0.id == id }) { problems.append("SEG_JWT_KEYS names \(id) twice") }
                keys.append(JWTSigningKey(id: id, secret: secret))
            }
            guard let active = value("SEG_JWT_ACTIVE_KID") else {
                problems.append("SEG_JWT_ACTIVE_KID is required with SEG_JWT_KEYS")
                return (keys, "")
            }
            if !keys.contains(where: { $0.id == active }) {
                problems.append("SEG_JWT_ACTIVE_KID \(active) is not among SEG_JWT_KEYS")
            }
            return (keys, active)
        }
    }
}

/// How much one segmentation PUT may carry, so that checking and measuring it stays bounded. The defaults hold a traced
/// 8192² image with room to spare (tens of thousands of objects of hundreds of vertices).
public struct PolygonLimits: Sendable, Equatable {
    /// Polygons per image (`SEG_MAX_POLYGONS`, default 100,000).
    public var polygons = 100_000
    /// Holes per polygon (`SEG_MAX_HOLES`, default 10,000).
    public var holes = 10_000
    /// Vertices per ring, exterior or hole (`SEG_MAX_RING_VERTICES`, default 250,000).
    public var ringVertices = 250_000
    /// Vertices in all (`SEG_MAX_VERTICES`, default 4,000,000: about what 64 MiB of JSON holds).
    public var vertices = 4_000_000

    /// The defaults.
    public init() {}

    /// These limits.
    public init(polygons: Int, holes: Int, ringVertices: Int, vertices: Int) {
        self.polygons = polygons
        self.holes = holes
        self.ringVertices = ringVertices
        self.vertices = vertices
    }
}

extension ServerConfiguration {
    /// Where links in mail point: `SEG_PUBLIC_URL`, or this server's own port on localhost when mail is not configured
    /// (messages then wait in the outbox; with `SEG_SMTP_URL` the public URL is required).
    public var linkBase: String { publicURL ?? "http://localhost:\(httpPort)" }

    /// A fresh `Message-ID`: `<uuid@domain>`, the domain of `SEG_MAIL_FROM` (else of `SEG_PUBLIC_URL`, else
    /// `seghub.invalid`).
    public func newMessageID() -> String {
        let domain =
            mailFrom.map { String($0.address.split(separator: "@").last ?? "seghub.invalid") }
            ?? publicURL.flatMap { URLComponents(string: $0)?.host } ?? "seghub.invalid"
        return "<\(UUID().uuidString.lowercased())@\(domain)>"
    }
}

/// How segserver writes its log lines (`SEG_LOG_FORMAT`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's text lines, for people reading a terminal.
    case text
    /// One JSON object per line (``JSONLogHandler``), for log pipelines.
    case json
}
