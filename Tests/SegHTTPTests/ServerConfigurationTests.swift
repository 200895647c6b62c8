import Foundation
import SegHTTP
import Testing

@Suite(.timeLimit(.minutes(5))) struct ServerConfigurationTests {
    static let minimal = [
        "SEG_DATABASE_URL": "postgres://seg@127.0.0.1:5432/seghub",
        "SEG_DATA_DIR": "/var/lib/seghub",
        "SEG_JWT_SECRET": String(repeating: "s", count: 32),
    ]

    @Test func minimalEnvironmentGetsTheDocumentedDefaults() throws {
        let (configuration, warnings) = try ServerConfiguration.fromEnvironment(Self.minimal, cores: 6)
        #expect(warnings.isEmpty)
        #expect(configuration.httpHost == "0.0.0.0")
        #expect(configuration.httpPort == 8080)
        #expect(configuration.workers == 6)
        #expect(configuration.autoMigrate)
        #expect(configuration.logLevel == .info)
        #expect(configuration.corsOrigins.isEmpty)
        #expect(configuration.webSocketAllowedOrigins.isEmpty)
        #expect(configuration.maxRequestBytes == 1_073_741_824)
        #expect(configuration.maxUploadBytes == 52_428_800)
        #expect(configuration.maxFilesPerRequest == 100)
        #expect(configuration.authRateLimit == RateLimit(capacity: 30, refillPerSecond: 10.0 / 60))
        #expect(configuration.apiRateLimit == RateLimit(capacity: 600, refillPerSecond: 20))
        #expect(configuration.jwtKeys.count == 1)
        #expect(configuration.jwtActiveKeyID == configuration.jwtKeys[0].id)
        #expect(configuration.dataDirectory.path == "/var/lib/seghub")
        #expect(configuration.exportRetentionHours == 24)
        #expect(configuration.workerPrefetch == 6)
        #expect(configuration.maxPolygonBodyBytes == 64 << 20)
        #expect(configuration.idleTimeoutSeconds == 60 && configuration.headerTimeoutSeconds == 10)
        #expect(configuration.maxConnections == 4096)
    }

    @Test func prefetchFollowsTheWorkersUnlessSet() throws {
        let (three, _) = try ServerConfiguration.fromEnvironment(Self.minimal.merging(["SEG_WORKERS": "3"]) { $1 }, cores: 6)
        #expect(three.workers == 3 && three.workerPrefetch == 3)
        let (none, _) = try ServerConfiguration.fromEnvironment(Self.minimal.merging(["SEG_WORKER_PREFETCH": "0"]) { $1 }, cores: 6)
        #expect(none.workers == 6 && none.workerPrefetch == 0)
        #expect(throws: (any Error).self) {
            try ServerConfiguration.fromEnvironment(Self.minimal.merging(["SEG_WORKER_PREFETCH": "-1"]) { $1 }, cores: 6)
        }
    }

    @Test func everyProblemIsListedAtOnce() {
        let environment = [
            "SEG_DATA_DIR": "relative/path",
            "SEG_JWT_SECRET": "too short",
            "SEG_HTTP_PORT": "80000",
            "SEG_AUTO_MIGRATE": "maybe",
            "SEG_RATE_API": "lots",
            "SEG_TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip",
            "SEG_CORS_ORIGINS": "https://ok.example.org,ftp://bad",
        ]
        do {
            _ = try ServerConfiguration.fromEnvironment(environment)
            Issue.record("expected problems")
        } catch {
            let text = error.messages.joined(separator: "\n")
            for key in [
                "SEG_DATABASE_URL is required", "SEG_DATA_DIR", "SEG_JWT_SECRET", "SEG_HTTP_PORT", "SEG_AUTO_MIGRATE", "SEG_RATE_API",
                "not-an-ip", "ftp://bad",
            ] {
                #expect(text.contains(key), "missing: \(key)")
            }
            #expect(error.messages.count == 8)
            // Secrets are never echoed.
            #expect(!text.contains("too short"))
        }
    }

    @Test func mailSettingsAreCheckedTogetherAndThePasswordIsNeverEchoed() throws {
        // Without SMTP: mail waits; nothing is required.
        let (none, _) = try ServerConfiguration.fromEnvironment(Self.minimal)
        #expect(none.smtp == nil && none.mailFrom == nil && none.publicURL == nil)
        // A full setting.
        let (full, _) = try ServerConfiguration.fromEnvironment(
            Self.minimal.merging([
                "SEG_SMTP_URL": "smtps://seghub:s3cret@mail.lab.example", "SEG_MAIL_FROM": "SegHub <seghub@lab.example>",
                "SEG_PUBLIC_URL": "https://seghub.lab.example/",
            ]) { $1 })
        #expect(full.smtp?.host == "mail.lab.example" && full.smtp?.port == 465 && full.smtp?.security == .implicitTLS)
        #expect(full.mailFrom?.address == "seghub@lab.example" && full.mailFrom?.name == "SegHub")
        #expect(full.publicURL == "https://seghub.lab.example" && full.linkBase == "https://seghub.lab.example")
        #expect(full.newMessageID().hasSuffix("@lab.example>") && full.newMessageID() != full.newMessageID())
        // Problems, all listed: SMTP without a sender, a bad public URL; a bad SMTP URL says why without its password.
        do {
            _ = try ServerConfiguration.fromEnvironment(
                Self.minimal.merging(["SEG_SMTP_URL": "smtp://u:s3cret@h?starttls=sometimes", "SEG_PUBLIC_URL": "ftp://x"]) { $1 })
            Issue.record("expected problems")
        } catch {
            let text = error.messages.joined(separator: "\n")
            #expect(text.contains("SEG_SMTP_URL: invalid SMTP settings: starttls must be required or auto"))
            #expect(text.contains("SEG_PUBLIC_URL must be an http(s) URL"))
            #expect(!text.contains("s3cret"))
        }
        do {
            _ = try ServerConfiguration.fromEnvironment(Self.minimal.merging(["SEG_SMTP_URL": "smtps://mail.lab.example"]) { $1 })
            Issue.record("expected problems")
        } catch {
            #expect(
                error.messages == [
                    "SEG_MAIL_FROM is required with SEG_SMTP_URL (for example SegHub <seghub@lab.example>)",
                    "SEG_PUBLIC_URL is required with SEG_SMTP_URL: the links in mail point there",
                ])
        }
        // Requiring confirmed addresses: off by default, and only with mail (nobody could confirm without it).
        #expect(full.requireEmailVerification == false)
        let (required, _) = try ServerConfiguration.fromEnvironment(
            Self.minimal.merging([
                "SEG_SMTP_URL": "smtps://mail.lab.example", "SEG_MAIL_FROM": "seghub@lab.example", "SEG_PUBLIC_URL": "https://seghub.lab.example",
                "SEG_REQUIRE_EMAIL_VERIFICATION": "true",
            ]) { $1 })
        #expect(required.requireEmailVerification)
        do {
            _ = try ServerConfiguration.fromEnvironment(Self.minimal.merging(["SEG_REQUIRE_EMAIL_VERIFICATION": "true"]) { $1 })
            Issue.record("expected a problem")
        } catch {
            #expect(
                error.messages == [
                    "SEG_REQUIRE_EMAIL_VERIFICATION needs SEG_SMTP_URL: without mail no new account could confirm its address and sign in"
                ])
        }
    }

    @Test func theObjectStoreIsTheFileStoreUnlessS3IsConfiguredWithEverySettingItNeeds() throws {
        let (plain, _) = try ServerConfiguration.fromEnvironment(Self.minimal)
        #expect(plain.objectStore == .file(dataDirectory: plain.dataDirectory))
        // A complete S3 setting, the secret from a file; the description never shows the secret.
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("seg-s3-secret-\(UUID().uuidString)")
        try "  s3cret-from-file\n".write(to: secretFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let (s3, warnings) = try ServerConfiguration.fromEnvironment(
            Self.minimal.merging([
                "SEG_OBJECT_STORE": "S3", "SEG_S3_ENDPOINT": "https://s3.lab.example:9000", "SEG_S3_BUCKET": "seghub-images",
                "SEG_S3_PREFIX": "/prod/", "SEG_S3_PATH_STYLE": "false", "SEG_S3_ACCESS_KEY_ID": "AKID",
                "SEG_S3_SECRET_ACCESS_KEY_FILE": secretFile.path,
            ]) { $1 })
        #expect(warnings.isEmpty)
        guard case .s3(let configuration, let prefix, let scratch) = try #require(s3.objectStore) else {
            Issue.record("expected the S3 store")
            return
        }
        #expect(configuration.endpoint.absoluteString == "https://s3.lab.example:9000" && configuration.bucket == "seghub-images")
        #expect(configuration.region == "us-east-1" && !configuration.pathStyle && prefix == "prod")
        #expect(configuration.credentials.secretAccessKey == "s3cret-from-file")
        #expect(scratch == s3.dataDirectory.appendingPathComponent("tmp", isDirectory: true))
        #expect(!"\(s3.objectStore!)".contains("s3cret") && !"\(configuration)".contains("s3cret"))
        // Every problem at once.
        do {
            _ = try ServerConfiguration.fromEnvironment(
                Self.minimal.merging([
                    "SEG_OBJECT_STORE": "s3", "SEG_S3_ENDPOINT": "ftp://x/y", "SEG_S3_BUCKET": "No_Such", "SEG_S3_PATH_STYLE": "maybe",
                ]) { $1 })
            Issue.record("expected problems")
        } catch {
            #expect(
                error.messages.sorted() == [
                    "SEG_S3_ACCESS_KEY_ID is required with SEG_OBJECT_STORE=s3",
                    "SEG_S3_BUCKET must be 3-63 lowercase letters, digits, dots and hyphens, not No_Such",
                    "SEG_S3_ENDPOINT must be an http(s) URL of the store without a path, not ftp://x/y",
                    "SEG_S3_PATH_STYLE must be true or false, not maybe",
                    "SEG_S3_SECRET_ACCESS_KEY is required with SEG_OBJECT_STORE=s3",
                ])
        }
        #expect(throws: (any Error).self) { try ServerConfiguration.fromEnvironment(Self.minimal.merging(["SEG_OBJECT_STORE": "nfs"]) { $1 }) }
    }

    @Test func keyRotationNeedsAnActiveKeyAmongTheKeys() throws {
        var environment = Self.minimal
        environment["SEG_JWT_SECRET"] = nil
        environment["SEG_JWT_KEYS"] = "old:\(String(repeating: "a", count: 32)),new:\(String(repeating: "b", count: 40))"
        environment["SEG_JWT_ACTIVE_KID"] = "new"
        let (configuration, _) = try ServerConfiguration.fromEnvironment(environment)
        #expect(configuration.jwtKeys.map(\.id) == ["old", "new"])
        #expect(configuration.jwtActiveKeyID == "new")

        environment["SEG_JWT_ACTIVE_KID"] = "newer"
        #expect(throws: ServerConfiguration.Problems.self) { try ServerConfiguration.fromEnvironment(environment) }
        environment["SEG_JWT_ACTIVE_KID"] = nil
        #expect(throws: ServerConfiguration.Problems.self) { try ServerConfiguration.fromEnvironment(environment) }
        environment["SEG_JWT_ACTIVE_KID"] = "new"
        environment["SEG_JWT_SECRET"] = String(repeating: "c", count: 32)
        #expect(throws: ServerConfiguration.Problems.self) { try ServerConfiguration.fromEnvironment(environment) }
    }

    @Test func unknownSEGKeysAreWarnedAbout() throws {
        var environment = Self.minimal
        environment["SEG_WORKER"] = "3"
        environment["PATH"] = "/usr/bin"
        let (_, warnings) = try ServerConfiguration.fromEnvironment(environment)
        #expect(warnings == ["unknown setting SEG_WORKER is ignored"])
    }

    @Test(arguments: [
        ("30:10/min", RateLimit(capacity: 30, refillPerSecond: 10.0 / 60) as RateLimit?, true),
        ("600:20/s", RateLimit(capacity: 600, refillPerSecond: 20), true),
        ("5:1/h", RateLimit(capacity: 5, refillPerSecond: 1.0 / 3600), true),
        ("0", nil, true),
        ("0:1/s", nil, false), ("10:0/s", nil, false), ("10:1/day", nil, false), ("ten", nil, false),
    ])
    func rateLimitsParse(text: String, expected: RateLimit?, valid: Bool) {
        let parsed = RateLimit.parse(text)
        if valid {
            #expect(parsed == .some(expected))
        } else {
            #expect(parsed == nil)
        }
    }

    @Test func addressRangesMatchTheirMembersOnly() throws {
        let private10 = try #require(IPAddressRange("10.0.0.0/8"))
        #expect(private10.contains("10.255.1.2"))
        #expect(!private10.contains("11.0.0.1"))
        #expect(private10.contains("::ffff:10.1.2.3"))
        let single = try #require(IPAddressRange("192.168.1.10"))
        #expect(single.contains("192.168.1.10"))
        #expect(!single.contains("192.168.1.11"))
        let v6 = try #require(IPAddressRange("fd00::/8"))
        #expect(v6.contains("fd12:3456::1"))
        #expect(!v6.contains("fe80::1"))
        #expect(!v6.contains("10.0.0.1"))
        #expect(IPAddressRange("10.0.0.0/33") == nil)
        #expect(IPAddressRange("example.org") == nil)
        #expect(private10.description == "10.0.0.0/8")
    }

    /// `.env.example` documents every key segserver (and segctl, beside it) reads, and only those.
    @Test func envExampleDocumentsEveryKnownKey() throws {
        let root = checkoutRoot
        let text = try String(contentsOf: root.appendingPathComponent(".env.example"), encoding: .utf8)
        var documented = Set<String>()
        for line in text.split(separator: "\n") {
            let body = line.hasPrefix("# ") ? line.dropFirst(2) : line[...]
            guard body.hasPrefix("SEG_"), let equals = body.firstIndex(of: "=") else { continue }
            documented.insert(String(body[..<equals]))
        }
        #expect(documented == ServerConfiguration.knownKeys)
    }

    /// The deployment colours' env examples configure segserver validly (only known keys, every required one) and
    /// share the JWT keys, so a token issued by one colour works on the other.
    @Test func colourEnvExamplesAreValidAndShareTheirKeys() throws {
        let root = checkoutRoot
        var environments: [String: [String: String]] = [:]
        for colour in ["blue", "green"] {
            let text = try String(contentsOf: root.appendingPathComponent(".env.\(colour).example"), encoding: .utf8)
            var environment: [String: String] = [:]
            for line in text.split(separator: "\n") where line.hasPrefix("SEG_") {
                let parts = line.split(separator: "=", maxSplits: 1)
                environment[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            let (configuration, warnings) = try ServerConfiguration.fromEnvironment(environment)
            #expect(warnings.isEmpty, "\(colour): \(warnings)")
            #expect(configuration.httpPort == (colour == "blue" ? 4000 : 5000))
            environments[colour] = environment
        }
        for key in ["SEG_JWT_KEYS", "SEG_JWT_ACTIVE_KID", "SEG_DATABASE_URL", "SEG_DATA_DIR"] {
            #expect(environments["blue"]?[key] == environments["green"]?[key], "\(key) differs between the colours")
        }
    }
}
