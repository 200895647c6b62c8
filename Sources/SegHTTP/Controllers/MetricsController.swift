import Foundation
import Hummingbird
import PostgresNIO
import SegStorage

/// `GET /metrics`: Prometheus text format. No authentication here: nginx only lets private addresses reach it.
///
/// Gauges that describe the shared state (jobs by kind and state, free space in the data directory, this process's
/// database connections) are read at scrape time; a database failure leaves them out rather than failing the scrape.
struct MetricsController {
    let services: AppServices
    let metrics: AppMetrics
    /// Whether the database answers its probes: while it does not, the scrape skips its queries (each would wait
    /// for its timeout, and a scrape slower than Prometheus's timeout is a failed scrape).
    let monitor: DatabaseMonitor
    /// The `application_name` of this process's pool connections, counted in `pg_stat_activity`.
    let applicationName: String

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/metrics", authenticated: false) { _, context in try await scrape(context) }
    }

    func scrape(_ context: AppRequestContext) async throws -> Response {
        // The database's gauges, unless its monitor sees it down (then every query would wait for its timeout).
        let databaseUp = monitor.isUp ? await readDatabaseGauges(context) : false
        // What readiness (`/api/health`) depends on, for alerts that must not wait for a failed scrape: the database
        // answered the queries above; the object store answers its check.
        var storeUp = true
        do {
            let files = services.files
            try await withTimeout(.seconds(3)) { try await files.check() }
        } catch {
            storeUp = false
        }
        metrics.setGauge(
            "seghub_database_up", help: "Whether this process reached the database at this scrape (1) or not (0)", to: databaseUp ? 1 : 0)
        metrics.setGauge(
            "seghub_object_store_up", help: "Whether this process reached the object store at this scrape (1) or not (0)", to: storeUp ? 1 : 0)
        metrics.setGauge(
            "seghub_ready", help: "Whether this process can serve (database and object store reachable) (1) or not (0)",
            to: databaseUp && storeUp ? 1 : 0)
        // Each model's readiness as its server last answered (asked at most every few seconds).
        for (name, state) in await services.segmenters.readinessOfModels() {
            metrics.setGauge(
                "seghub_model_ready", help: "Whether a configured model's inference server has it ready (1) or not (0)",
                labels: [("model", name)], to: state.ready ? 1 : 0)
        }
        if let free = await services.files.freeBytes() {
            metrics.setGauge("seghub_data_dir_free_bytes", help: "Free bytes in SEG_DATA_DIR's file system", to: Double(free))
        }
        setPool(state: "max", to: Double(services.configuration.databasePoolSize))
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }

    /// Sets the gauges read from the database (jobs, this process's pool, the last backup and drill, the mail
    /// outbox), each query within 3 s; one that fails leaves its gauges as they were.
    /// - Returns: Whether every query answered.
    private func readDatabaseGauges(_ context: AppRequestContext) async -> Bool {
        let database = services.database(context.logger)
        var answered = true
        do {
            try await withTimeout(.seconds(3)) {
                let stats = try await services.queue.statsByKind(on: database)
                for kind in JobKind.allCases {
                    let counts = stats[kind] ?? QueueStats()
                    metrics.setJobs(kind: kind.rawValue, state: "queued", count: counts.queued)
                    metrics.setJobs(kind: kind.rawValue, state: "running", count: counts.running)
                    metrics.setJobs(kind: kind.rawValue, state: "failed", count: counts.failed)
                }
                // This process's pool, as the server sees it: `idle` connections wait in the pool, the others (this
                // query's own included) are in use.
                let sessions = try await DatabaseSessions.count(applicationName: applicationName, on: database)
                setPool(state: "idle", to: Double(sessions.idle))
                setPool(state: "in_use", to: Double(sessions.inUse))
            }
        } catch {
            answered = false
            context.logger.warning("metrics: cannot read the job and connection counts", metadata: ["error": "\(error)"])
        }
        do {
            // 0 until the first backup, so an alert on `time() - seghub_last_backup_timestamp_seconds` fires then too.
            let last = try await withTimeout(.seconds(3)) { try await BackupRepository.latestFinishedAt(on: database) }
            metrics.setGauge(
                "seghub_last_backup_timestamp_seconds", help: "When the newest backup in the backups table finished (Unix time)",
                to: last?.timeIntervalSince1970 ?? 0)
            // Likewise for the last successful restore drill (`segctl backup drill`).
            let drilled = try await withTimeout(.seconds(3)) { try await BackupRepository.latestSuccessfulDrillAt(on: database) }
            metrics.setGauge(
                "seghub_last_backup_drill_timestamp_seconds",
                help: "When the last successful restore drill (segctl backup drill) finished (Unix time)", to: drilled?.timeIntervalSince1970 ?? 0)
        } catch {
            answered = false
            context.logger.warning("metrics: cannot read the last backup and drill", metadata: ["error": "\(error)"])
        }
        do {
            let depth = try await withTimeout(.seconds(3)) { try await MailOutboxRepository.depth(on: database) }
            for (state, count) in depth.counts {
                metrics.setGauge(
                    "seghub_mail_outbox", help: "Messages in the mail outbox by state", labels: [("state", state.rawValue)], to: Double(count))
            }
            metrics.setGauge(
                "seghub_mail_oldest_due_seconds", help: "How long the oldest due message of the outbox has waited", to: depth.oldestDueSeconds)
        } catch {
            answered = false
            context.logger.warning("metrics: cannot read the mail outbox", metadata: ["error": "\(error)"])
        }
        return answered
    }

    private func setPool(state: String, to value: Double) {
        metrics.setGauge(
            "seghub_db_pool_connections", help: "This process's database pool: connections idle, in use, and the most it may open",
            labels: [("state", state)], to: value)
    }
}
