import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Knows whether the database answers, by probing it every few seconds, so that API requests fail fast with 503
/// while it is down instead of waiting for a connection that cannot come (postgres-nio waits for one without a
/// deadline). It starts optimistic; the first failed probe (2 s timeout) closes the gate and the first good one
/// opens it again, without a restart.
public final class DatabaseMonitor: Service, Sendable {
    private let client: PostgresClient
    private let logger: Logger
    private let up = Mutex(true)

    /// A monitor of `client`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Whether the last probe succeeded.
    public var isUp: Bool { up.withLock { $0 } }

    /// Probes until graceful shutdown: every 5 s while up, every second while down.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let healthy = await self.probe()
                let changed = self.up.withLock { state in
                    defer { state = healthy }
                    return state != healthy
                }
                if changed {
                    if healthy {
                        self.logger.notice("database reachable again")
                    } else {
                        self.logger.error("database unreachable; API requests answer 503 until it returns")
                    }
                }
                try? await Task.sleep(for: healthy ? .seconds(5) : .seconds(1))
            }
        }
    }

    /// One `SELECT 1` with a 2-second deadline.
    public func probe() async -> Bool {
        let client = client
        let logger = logger
        do {
            try await withTimeout(.seconds(2)) {
                try await client.query("SELECT 1", logger: logger).collect()
                return true
            }
            return true
        } catch {
            return false
        }
    }
}

/// Answers 503 `SERVICE_UNAVAILABLE` at once for API routes while the `DatabaseMonitor` sees the database down.
struct DatabaseGateMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let monitor: DatabaseMonitor

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix("/api/v1/"), !monitor.isUp {
            var headers = HTTPFields()
            headers[.retryAfter] = "5"
            throw Problem(
                .serviceUnavailable, code: "SERVICE_UNAVAILABLE", detail: "the database is unavailable; try again shortly", headers: headers)
        }
        return try await next(request, context)
    }
}
