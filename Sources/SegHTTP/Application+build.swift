import Foundation
import Hummingbird
import Logging
import PostgresNIO
import SegCore
import SegMail
import SegStorage
import ServiceLifecycle
import Synchronization

/// Which parts of segserver this process runs: the HTTP API, the segmentation workers, or both.
public enum ServerRole: String, Sendable, CaseIterable {
    /// HTTP API only (no workers).
    case api
    /// Workers only; HTTP serves just `/health`, `/api/health` and `/metrics`.
    case worker
    /// Both (the default).
    case all
}

/// Builds the segserver application: routes, middleware, the database client, migrations and workers.
///
/// ## Usage
/// ```swift
/// let (configuration, _) = try ServerConfiguration.fromEnvironment()
/// let app = try await buildApplication(configuration: configuration, role: .all, logger: logger)
/// try await app.runService()
/// ```
/// - Parameters:
///   - configuration: The server configuration.
///   - role: Which parts to run.
///   - passwordCost: bcrypt cost (tests lower it).
///   - jobQueue: Queue timing; `nil` takes the lease from `SEG_JOB_LEASE_SECONDS` (tests pass their own).
///   - routeTable: Receives every route registered (the OpenAPI check reads it); a fresh table when `nil`.
///   - logger: The application logger.
public func buildApplication(
    configuration: ServerConfiguration,
    role: ServerRole = .all,
    passwordCost: UInt8 = 12,
    jobQueue: JobQueueConfiguration? = nil,
    routeTable: RouteTable? = nil,
    logger: Logger
) async throws -> some ApplicationProtocol {
    let jobQueue = jobQueue ?? JobQueueConfiguration(leaseDuration: .seconds(configuration.jobLeaseSeconds))
    var clientConfiguration = configuration.database.clientConfiguration
    clientConfiguration.options.maximumConnections = configuration.databasePoolSize
    // The pool's connections carry a name of their own, so `/metrics` can count them in `pg_stat_activity` (postgres-nio
    // does not expose its pool's state) and operators can tell this process's sessions apart.
    let applicationName = "segserver \(role.rawValue) \(UUID().uuidString.prefix(8).lowercased())"
    var poolConfiguration = clientConfiguration
    poolConfiguration.options.additionalStartupParameters.append(("application_name", applicationName))
    let client = PostgresClient(configuration: poolConfiguration, backgroundLogger: logger)
    let metrics = AppMetrics()
    let services = try await AppServices(
        configuration: configuration, client: client, passwordCost: passwordCost, jobQueue: jobQueue, metrics: metrics, logger: logger)
    let workers = role == .api ? 0 : configuration.workers

    let monitor = DatabaseMonitor(configuration: clientConfiguration, logger: logger)
    let table = routeTable ?? RouteTable()
    let router = Router(context: AppRequestContext.self)
    // Outermost first: every answer, errors and 429s included, gets an id, a log line, the security headers and CORS.
    router.add(middleware: RequestIDMiddleware(clientAddress: ClientAddress(trustedProxies: configuration.trustedProxies)))
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: CORSAllowlistMiddleware(origins: Set(configuration.corsOrigins)))
    router.add(middleware: ErrorMappingMiddleware(routes: table))
    // One API rate limiter for requests and event socket upgrades alike.
    let apiLimiter = configuration.apiRateLimit.map { RateLimiter(limit: $0) }
    router.add(
        middleware: ClientLimitsMiddleware(
            authLimiter: configuration.authRateLimit.map { RateLimiter(limit: $0) }, apiLimiter: apiLimiter,
            maxRequestBytes: configuration.maxRequestBytes))
    router.add(middleware: DatabaseGateMiddleware(monitor: monitor))
    router.add(middleware: GzipMiddleware())
    let routes = APIRoutes(
        open: router.group(), authenticated: router.group().add(middleware: JWTAuthenticator(services: services)), table: table)
    // The event socket, its hub and the database listener that feeds it (not in worker-only processes).
    var events: EventsRuntime?
    if role != .worker {
        let limits = EventSocketLimits(
            perAddress: configuration.eventSocketsPerAddress, perUser: configuration.eventSocketsPerUser,
            clientAddress: ClientAddress(trustedProxies: configuration.trustedProxies), limiter: apiLimiter)
        events = EventsRuntime(
            services: services, monitor: monitor, workers: configuration.workers, database: clientConfiguration, limits: limits,
            logger: logger)
    }
    HealthController(services: services, monitor: monitor, workers: workers, version: SegHubRelease.version, events: events).addRoutes(to: routes)
    MetricsController(services: services, metrics: metrics, monitor: monitor, applicationName: applicationName).addRoutes(to: routes)
    try OpenAPIController().addRoutes(to: routes)
    if role != .worker {
        for controller in apiControllers(services: services) {
            controller(routes)
        }
        events?.addRoutes(to: routes)
        // The web UI (static files; not API routes, so outside the route table and the OpenAPI document).
        try WebUI.bundled().addRoutes(to: router)
    }

    let maxRequestBytes = configuration.maxRequestBytes
    // Connections over SEG_HTTP_MAX_CONNECTIONS are closed as they arrive, a new one that has not sent its first
    // request's headers after SEG_HTTP_HEADER_TIMEOUT seconds too, and a kept-alive one idle for SEG_HTTP_IDLE_TIMEOUT.
    let idleTimeout = TimeAmount.seconds(Int64(configuration.idleTimeoutSeconds))
    let connections = ConnectionLimiter(
        limit: configuration.maxConnections, headerTimeout: .seconds(Int64(configuration.headerTimeoutSeconds)), logger: logger)
    let handlers: @Sendable () -> [any RemovableChannelHandler] = { [ExpectContinueHandler(maxRequestBytes: maxRequestBytes)] }
    var app = Application(
        router: router,
        server: events?.server(
            allowedOrigins: configuration.webSocketAllowedOrigins, additionalChannelHandlers: handlers, idleTimeout: idleTimeout,
            connections: connections)
            ?? .http1(configuration: .init(additionalChannelHandlers: handlers(), idleTimeout: idleTimeout), connections: connections),
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "SegHub"),
        services: [client, monitor],
        logger: logger
    )
    // Workers start once the schema is there: a prepared statement that fails on a missing table stays failed on its
    // connection, so a claim racing the migrations would poison the pool.
    let migrated = StartGate(open: !configuration.autoMigrate)
    if configuration.autoMigrate {
        app.beforeServerStarts {
            let applied = try await Migrator(on: Database(client: client, logger: logger)).migrate()
            if !applied.isEmpty {
                logger.info("applied migrations", metadata: ["db.migrations": "\(applied.map(\.version))"])
            }
            migrated.open()
        }
    }
    if role != .api {
        // Expires old export archives and removes their files (SEG_EXPORT_RETENTION_HOURS).
        let sweeper = ExportSweeper(services: services, logger: logger)
        app.addServices(GatedService(gate: migrated, service: ClosureService { await sweeper.run() }))
        // Delivers the mail outbox (SEG_SMTP_URL); without it, says once an hour that mail waits.
        let mail = MailDelivery(
            client: try configuration.smtp.map { try SMTPClient(settings: $0) }, from: configuration.mailFrom,
            database: services.database(logger), metrics: metrics, policy: .init(), logger: logger)
        app.addServices(GatedService(gate: migrated, service: ClosureService { await mail.run() }))
    }
    if let events {
        app.addServices(ClosureService { await events.listener.run(handler: events.hub) })
    }
    if workers > 0 {
        let wakeups = JobWakeups(client: client, configuration: jobQueue, logger: logger)
        app.addServices(ClosureService { await wakeups.run() })
        for service in workerServices(services: services, wakeups: wakeups, workers: workers, logger: logger) {
            app.addServices(GatedService(gate: migrated, service: service))
        }
    }
    return app
}

/// The API's controllers, each registering its routes. Later controllers are added here.
func apiControllers(services: AppServices) -> [@Sendable (APIRoutes) -> Void] {
    [
        AuthController(services: services).addRoutes,
        PasswordResetController(services: services).addRoutes,
        EmailVerificationController(services: services).addRoutes,
        InvitationsController(services: services).addRoutes,
        SegmentationsController(services: services).addRoutes,
        ImagesController(services: services).addRoutes,
        ProjectsController(services: services).addRoutes,
        MembersController(services: services).addRoutes,
        QueueController(services: services).addRoutes,
        SegmentersController(services: services).addRoutes,
        ExportsController(services: services).addRoutes,
        ShareLinksController(services: services).addRoutes,
    ]
}

/// The worker pools of this process: `workers` segmentation workers (with `SEG_WORKER_PREFETCH` jobs in reserve) and one
/// export worker.
func workerServices(services: AppServices, wakeups: JobWakeups, workers: Int, logger: Logger) -> [any Service] {
    // Cancelled at graceful shutdown: the pool stops claiming and releases its running jobs (RELIABILITY Q8).
    let prefetch = services.configuration.workerPrefetch
    let exports = ExportJobHandler.pool(services: services, wakeups: wakeups, workers: 1, logger: logger)
    return [
        ClosureService {
            await SegmentationJobHandler.run(services: services, wakeups: wakeups, workers: workers, prefetch: prefetch, logger: logger)
        },
        ClosureService { await exports.run() },
    ]
}

/// A one-way gate: closed until `open()`, then open for good.
final class StartGate: Sendable {
    private let state: Mutex<Bool>

    init(open: Bool) {
        self.state = Mutex(open)
    }

    var isOpen: Bool { state.withLock { $0 } }

    func open() {
        state.withLock { $0 = true }
    }

    /// Returns once the gate is open, or when the task is cancelled.
    func wait() async {
        while !isOpen, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// Runs `service` once `gate` is open.
struct GatedService: Service {
    let gate: StartGate
    let service: any Service

    func run() async throws {
        // A stop before the migrations finished ends the wait too.
        await cancelWhenGracefulShutdown { await gate.wait() }
        guard gate.isOpen, !Task.isCancelled else { return }
        try await service.run()
    }
}

/// A `Service` that runs `body` until graceful shutdown cancels it.
struct ClosureService: Service {
    let body: @Sendable () async -> Void

    init(_ body: @escaping @Sendable () async -> Void) {
        self.body = body
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await body()
        }
    }
}
