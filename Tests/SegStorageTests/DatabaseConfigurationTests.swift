import SegStorage
import Testing

@Suite(.timeLimit(.minutes(5))) struct DatabaseConfigurationTests {
    @Test func parsesAFullTCPURL() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://seg:s%40cret@db.example:6543/seghub?sslmode=disable")
        #expect(configuration.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(configuration.username == "seg")
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == "seghub")
        #expect(configuration.tls == .disable)
    }

    @Test func defaultsPortAndTLSAndAcceptsPostgresqlScheme() throws {
        let configuration = try DatabaseConfiguration(url: "postgresql://seg@localhost/seghub")
        #expect(configuration.endpoint == .tcp(host: "localhost", port: 5432))
        #expect(configuration.password == nil)
        #expect(configuration.tls == .prefer)
    }

    @Test func databaseIsOptional() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://seg@localhost:5432")
        #expect(configuration.database == nil)
    }

    @Test(arguments: [
        ("require", DatabaseConfiguration.TLSMode.require), ("verify-full", .require), ("prefer", .prefer), ("allow", .prefer),
        ("disable", .disable),
    ])
    func mapsSSLModes(mode: String, expected: DatabaseConfiguration.TLSMode) throws {
        let configuration = try DatabaseConfiguration(url: "postgres://seg@localhost/seghub?sslmode=\(mode)")
        #expect(configuration.tls == expected)
    }

    @Test func unixSocketDirectoryGetsTheSocketFileForThePort() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://postgres@/seghub?host=/run/postgresql")
        #expect(configuration.endpoint == .unixSocket(path: "/run/postgresql/.s.PGSQL.5432"))
        #expect(configuration.database == "seghub")

        let otherPort = try DatabaseConfiguration(url: "postgres://postgres@:55432/seghub?host=/tmp/pg/")
        #expect(otherPort.endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.55432"))

        let file = try DatabaseConfiguration(url: "postgres://postgres@/seghub?host=/tmp/pg/.s.PGSQL.7000")
        #expect(file.endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.7000"))
    }

    @Test(arguments: [
        "mysql://seg@localhost/seghub",
        "postgres://localhost/seghub",
        "postgres://seg@/seghub",
        "postgres://seg@localhost/seghub?sslmode=sometimes",
        "postgres://seg@localhost/seghub?host=relative/path",
        "postgres://seg@localhost/seghub?host=/tmp",
        "postgres://seg@localhost/seg/hub",
        "postgres://seg@localhost/seghub?pool=5",
        "postgres://seg@localhost:0/seghub",
        "",
    ])
    func rejectsMalformedURLs(url: String) {
        #expect {
            try DatabaseConfiguration(url: url)
        } throws: { error in
            guard case .invalidConfiguration = error as? StorageError else { return false }
            return true
        }
    }

    @Test func errorsNeverContainThePassword() {
        do {
            _ = try DatabaseConfiguration(url: "postgres://seg:hunter2@localhost/seghub?sslmode=bogus")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test func readsTheEnvironment() throws {
        let configuration = try DatabaseConfiguration.fromEnvironment(environment: ["SEG_DATABASE_URL": "postgres://seg@db/seghub"])
        #expect(configuration.endpoint == .tcp(host: "db", port: 5432))
        #expect(throws: StorageError.self) {
            try DatabaseConfiguration.fromEnvironment(environment: [:])
        }
    }
}
