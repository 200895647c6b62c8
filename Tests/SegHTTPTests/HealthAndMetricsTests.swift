import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import SegHTTP
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct HealthAndMetricsTests {
    @Test func livenessAndReadinessWithTheDatabaseUp() async throws {
        try await withTestApp { app in
            let live = try await app.request(.get, "/health")
            #expect(live.status == .ok)
            let ready = try await app.request(.get, "/api/health")
            #expect(ready.status == .ok)
            struct Readiness: Decodable {
                struct Check: Decodable { var status: String }
                var status: String
                var checks: [String: Check]
            }
            let body = try ready.decode(Readiness.self)
            #expect(body.status == "ok")
            #expect(body.checks["database"]?.status == "ok")
            #expect(body.checks["queue"]?.status == "ok")
        }
    }

    /// A real unreachable database (nothing listens on the port): readiness is 503, liveness stays 200.
    @Test func readinessIs503WhenTheDatabaseIsUnreachable() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("seg-health-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try TestApp.configuration(
            databaseURL: "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable", dataDirectory: directory)
        let app = try await buildApplication(configuration: configuration, role: .api, passwordCost: 4, logger: TestApp.logger)
        try await app.test(.router) { client in
            let live = try await client.execute(uri: "/health", method: .get)
            #expect(live.status == .ok)
            let ready = try await client.execute(uri: "/api/health", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(String(buffer: ready.body).contains("unreachable"))
            // an API call that needs the database is a 503 problem, not a 500
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            let login = try await client.execute(
                uri: "/api/v1/auth/login", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"email":"a@example.org","password":"whatever pw"}"#))
            #expect(login.status == .serviceUnavailable)
            #expect(login.headers[.retryAfter] != nil)
            // the scrape still answers, and says the process is not ready because of the database
            let scrape = try await client.execute(uri: "/metrics", method: .get)
            #expect(scrape.status == .ok)
            let text = String(buffer: scrape.body)
            #expect(text.contains("seghub_database_up 0") && text.contains("seghub_ready 0") && text.contains("seghub_object_store_up 1"), "\(text)")
        }
    }

    @Test func metricsCountRequestsByRoutePatternAndReportJobs() async throws {
        try await withTestApp { app in
            _ = try await app.request(.get, "/health")
            let id = UUID().uuidString.lowercased()
            _ = try await app.request(.get, "/api/v1/nothing/\(id)")
            try await app.database.query("INSERT INTO jobs (kind) VALUES ('export'), ('export')")
            let scrape = try await app.request(.get, "/metrics")
            #expect(scrape.status == .ok)
            #expect(scrape.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: scrape.body)
            #expect(text.contains(#"http_server_requests_total{route="/health",method="GET",status="200"} 1"#))
            #expect(text.contains("http_server_request_duration_seconds_bucket"))
            #expect(text.contains(#"seghub_jobs{kind="export",state="queued"} 2"#))
            #expect(text.contains("seghub_data_dir_free_bytes"))
            #expect(text.contains("seghub_database_up 1") && text.contains("seghub_object_store_up 1") && text.contains("seghub_ready 1"))
            // a path that matched no route is counted as "unmatched", never by its raw path
            #expect(text.contains(#"route="unmatched""#))
            #expect(!text.contains(id))
        }
    }

    /// The pool gauge counts this process's pool only (the scrape's own query is in use), not other sessions.
    @Test func poolGaugeCountsOnlyThisProcesssConnections() async throws {
        try await withTestApp { app in
            // setup: five sessions of another client (as another process would hold) stay busy during the scrape; they
            // sleep far longer than the test needs and are cancelled at the end, so a loaded machine cannot let them
            // finish before all five are seen (an idle pooled connection that then ran the counting query would drop
            // out of the count)
            let sleep = "SELECT pg_sleep(120)"
            let busy = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<5 { group.addTask { try await app.database.query(PostgresQuery(unsafeSQL: sleep)) } }
                    try await group.waitForAll()
                }
            }
            defer { busy.cancel() }
            try await eventually("the five foreign sessions to be busy") {
                let rows = try await app.database.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = \(sleep)")
                return try await rows.collect().first?.decode(Int64.self) == 5
            }

            // MUT (a scrape whose database query timed out on a loaded machine leaves the pool gauge out: again then)
            var text = ""
            try await eventually("a scrape with the pool gauge") {
                text = String(buffer: try await app.request(.get, "/metrics").body)
                return text.contains("seghub_db_pool_connections{state=\"in_use\"}")
            }

            // validate: the pool of 4 (TestApp's SEG_DB_POOL_SIZE) is reported, with at least the scrape's connection
            // in use, and none of the five foreign sessions
            func value(_ state: String) -> Double? {
                let prefix = "seghub_db_pool_connections{state=\"\(state)\"} "
                return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
            }
            #expect(value("max") == 4)
            let inUse = try #require(value("in_use"))
            let idle = try #require(value("idle"))
            #expect(inUse >= 1)
            #expect(inUse + idle <= 4)
            try await app.database.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = \(sleep)")
            _ = await busy.result
        }
    }

    /// `seghub_last_backup_timestamp_seconds` is the newest `finished_at` of the backups table, 0 before any backup.
    @Test func lastBackupGaugeComesFromTheBackupsTable() async throws {
        try await withTestApp { app in
            let before = String(buffer: try await app.request(.get, "/metrics").body)
            #expect(before.contains("seghub_last_backup_timestamp_seconds 0.0\n"), "\(before)")
            for (name, finished) in [("seghub-20260101T000000Z", "2026-01-01T00:00:00Z"), ("seghub-20260102T030405Z", "2026-01-02T03:04:05Z")] {
                try await app.database.query(
                    """
                    INSERT INTO backups (name, location, bytes, object_count, schema_version, started_at, finished_at)
                    VALUES (\(name), '/backups', 1, 0, 7, \(finished)::timestamptz - interval '1 minute', \(finished)::timestamptz)
                    """)
            }
            let after = String(buffer: try await app.request(.get, "/metrics").body)
            // 2026-01-02T03:04:05Z is 1767323045 s after the epoch (`date -u -d 2026-01-02T03:04:05Z +%s`).
            #expect(after.contains("seghub_last_backup_timestamp_seconds 1767323045.0\n"), "\(after)")
        }
    }
}
