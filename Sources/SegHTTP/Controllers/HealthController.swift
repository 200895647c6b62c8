import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import SegStorage

/// `GET /health` (liveness: the process answers, no dependencies) and `GET /api/health` (readiness).
///
/// Readiness checks the database (a query with a 10 s timeout, skipped while the `DatabaseMonitor` sees it down),
/// that its schema is migrated, the object store (its directories, or its bucket answering the key pair; 10 s), and reports the queue, this process's workers and the segmenter; it answers 503
/// while the database is unreachable and 200 again as soon as it returns, without a restart.
struct HealthController {
    let services: AppServices
    let monitor: DatabaseMonitor
    let workers: Int
    let version: String
    /// The event socket's listener and hub; `nil` in worker-only processes.
    var events: EventsRuntime? = nil

    struct Liveness: ResponseEncodable {
        var status: String
    }

    struct Readiness: ResponseEncodable {
        struct Check: Encodable {
            var status: String
            var detail: String?
        }
        var status: String
        var version: String
        var checks: [String: Check]
        var queue: QueueStats?
        var workers: Int
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/health", authenticated: false) { _, _ in Liveness(status: "ok") }
        routes.add(.get, "/api/health", authenticated: false) { request, context in try await readiness(request, context) }
    }

    func readiness(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        var checks: [String: Readiness.Check] = [:]
        var stats: QueueStats?
        var healthy = true
        do {
            // Known down: answer at once instead of waiting out the timeout.
            guard monitor.isUp else { throw StorageError.unavailable("the database monitor sees it down") }
            let status = try await withTimeout(.seconds(10)) {
                try await Migrator(on: services.database(context.logger)).status()
            }
            if status.isUpToDate {
                checks["database"] = .init(status: "ok", detail: nil)
            } else {
                healthy = false
                checks["database"] = .init(status: "error", detail: "the schema is not fully migrated")
            }
            stats = try await withTimeout(.seconds(10)) { try await services.queue.stats(on: services.database(context.logger)) }
            checks["queue"] = .init(status: "ok", detail: nil)
        } catch {
            healthy = false
            checks["database"] = .init(status: "error", detail: "unreachable")
            checks["queue"] = .init(status: "error", detail: "unreachable")
        }
        // The object store: without it no image can be stored or read (503, like the database).
        do {
            let files = services.files
            try await withTimeout(.seconds(10)) { try await files.check() }
            checks["objectStore"] = .init(status: "ok", detail: services.files.kind)
        } catch {
            healthy = false
            checks["objectStore"] = .init(status: "error", detail: "\(services.files.kind): \(error)")
        }
        checks["segmenter"] = .init(status: "ok", detail: "builtin")
        // A model whose server is down degrades the service but does not make it unready: the built-in segmenter works.
        var degraded = false
        for (name, state) in await services.segmenters.readinessOfModels() {
            checks["model:\(name)"] = state.ready ? .init(status: "ok", detail: nil) : .init(status: "degraded", detail: state.detail)
            if !state.ready { degraded = true }
        }
        checks["workers"] = .init(status: "ok", detail: "\(workers) in this process")
        if let events {
            // Reported, but not a reason for 503: the API works without events, and the listener reconnects by itself.
            let sockets = await events.hub.connectionCount
            checks["websocket"] =
                events.listener.isListening
                ? .init(status: "ok", detail: "listening for events; \(sockets) sockets")
                : .init(status: "degraded", detail: "the event listener is reconnecting to the database; \(sockets) sockets")
        }
        let body = Readiness(
            status: healthy ? (degraded ? "degraded" : "ok") : "unavailable", version: version, checks: checks, queue: stats, workers: workers)
        var response = try body.response(from: request, context: context)
        response.status = healthy ? .ok : .serviceUnavailable
        return response
    }
}

/// Runs `body`, giving up after `timeout` with `StorageError.unavailable`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw StorageError.unavailable("timed out")
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw StorageError.unavailable("timed out") }
        return first
    }
}
