import Hummingbird
import Logging
import PostgresNIO
import SegStorage
import ServiceLifecycle
import Synchronization

/// Knows whether the database answers, by probing it every few seconds, so that API requests fail fast with 503
/// while it is down instead of waiting for a connection that cannot come (postgres-nio waits for one without a
/// deadline).
///
/// The probe has a client of its own with one connection, so a busy application pool never delays it. A slow
/// server must not be mistaken for a missing one, so the gate closes only when no probe has succeeded for
/// `downAfter` (10 s) and at least two in a row failed; the first good probe opens it again, without a restart.
public final class DatabaseMonitor: Service, Sendable {
    private let client: PostgresClient
    private let logger: Logger
    private let up = Mutex(true)
    private let failures = Mutex(0)
    private let lastSuccess = Mutex(ContinuousClock.now)
    /// How long without a successful probe before API requests are refused.
    let downAfter: Duration = .seconds(10)

    /// A monitor of the database `configuration` names.
    public init(configuration: PostgresClient.Configuration, logger: Logger) {
        var configuration = configuration
        configuration.options.maximumConnections = 1
        configuration.options.minimumConnections = 0
        configuration.options.connectTimeout = .seconds(2)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Whether the last probe succeeded.
    public var isUp: Bool { up.withLock { $0 } }

    /// Probes until graceful shutdown: every 5 s while up, every second while down.
    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            await self.client.run(alongside: { await self.watch() })
        }
    }

    private func watch() async {
        while !Task.isCancelled {
            let answered = await self.probe()
            let now = ContinuousClock.now
            if answered { self.lastSuccess.withLock { $0 = now } }
            let failed = self.failures.withLock { count in
                count = answered ? 0 : count + 1
                return count
            }
            let silence = now - self.lastSuccess.withLock { $0 }
            let healthy = answered || failed < 2 || silence < self.downAfter
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
            try? await Task.sleep(for: answered ? .seconds(5) : .seconds(1))
        }
    }

    /// One `SELECT 1` with a 3-second deadline.
    public func probe() async -> Bool {
        let client = client
        let logger = logger
        do {
            try await withTimeout(.seconds(3)) {
                try await client.ping(logger: logger)
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
