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
    /// The `application_name` of this process's pool connections, counted in `pg_stat_activity`.
    let applicationName: String

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/metrics", authenticated: false) { _, context in try await scrape(context) }
    }

    func scrape(_ context: AppRequestContext) async throws -> Response {
        do {
            try await withTimeout(.seconds(3)) {
                let stats = try await services.queue.statsByKind(on: services.database(context.logger))
                for kind in JobKind.allCases {
                    let counts = stats[kind] ?? QueueStats()
                    metrics.setJobs(kind: kind.rawValue, state: "queued", count: counts.queued)
                    metrics.setJobs(kind: kind.rawValue, state: "running", count: counts.running)
                    metrics.setJobs(kind: kind.rawValue, state: "failed", count: counts.failed)
                }
                // This process's pool, as the server sees it: `idle` connections wait in the pool, the others (this
                // query's own included) are in use.
                let sessions = try await DatabaseSessions.count(
                    applicationName: applicationName, on: services.database(context.logger))
                setPool(state: "idle", to: Double(sessions.idle))
                setPool(state: "in_use", to: Double(sessions.inUse))
            }
        } catch {
            context.logger.warning("metrics: cannot read the job and connection counts", metadata: ["error": "\(error)"])
        }
        do {
            // 0 until the first backup, so an alert on `time() - seghub_last_backup_timestamp_seconds` fires then too.
            let database = services.database(context.logger)
            let last = try await withTimeout(.seconds(3)) { try await BackupRepository.latestFinishedAt(on: database) }
            metrics.setGauge(
                "seghub_last_backup_timestamp_seconds", help: "When the newest backup in the backups table finished (Unix time)",
                to: last?.timeIntervalSince1970 ?? 0)
        } catch {
            context.logger.warning("metrics: cannot read the last backup", metadata: ["error": "\(error)"])
        }
        do {
            let database = services.database(context.logger)
            let depth = try await withTimeout(.seconds(3)) { try await MailOutboxRepository.depth(on: database) }
            for (state, count) in depth.counts {
                metrics.setGauge(
                    "seghub_mail_outbox", help: "Messages in the mail outbox by state", labels: [("state", state.rawValue)], to: Double(count))
            }
            metrics.setGauge(
                "seghub_mail_oldest_due_seconds", help: "How long the oldest due message of the outbox has waited", to: depth.oldestDueSeconds)
        } catch {
            context.logger.warning("metrics: cannot read the mail outbox", metadata: ["error": "\(error)"])
        }
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

    private func setPool(state: String, to value: Double) {
        metrics.setGauge(
            "seghub_db_pool_connections", help: "This process's database pool: connections idle, in use, and the most it may open",
            labels: [("state", state)], to: value)
    }
}
