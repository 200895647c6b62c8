import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import PostgresNIO
import SegStorage

/// The realtime part of one segserver process: the database listener, the hub it feeds, and the socket route.
struct EventsRuntime: Sendable {
    let listener: DatabaseEventListener
    let hub: EventHub
    let controller: EventsController

    init(
        services: AppServices, monitor: DatabaseMonitor, workers: Int, database: PostgresClient.Configuration,
        limits: EventSocketLimits? = nil, logger: Logger
    ) {
        self.listener = DatabaseEventListener(configuration: database, logger: logger)
        self.hub = EventHub(services: services, workers: workers, logger: logger)
        self.controller = EventsController(services: services, hub: hub, monitor: monitor, limits: limits)
    }

    /// `GET /api/v1/events` without an upgrade: 426 `UPGRADE_REQUIRED` (WebSocket upgrades never reach the router).
    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, EventsController.path, authenticated: false) { _, _ -> Response in
            var headers = HTTPFields()
            headers[.upgrade] = "websocket"
            throw Problem(
                .upgradeRequired, code: "UPGRADE_REQUIRED", detail: "this is a WebSocket endpoint (docs/events.md)", headers: headers)
        }
    }

    /// HTTP/1 with the event socket's upgrade, refusing browser pages of origins not in `allowedOrigins`.
    func server(
        allowedOrigins: [String], additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] },
        idleTimeout: TimeAmount? = nil, connections: ConnectionLimiter? = nil
    ) -> HTTPServerBuilder {
        .http1WebSocket(
            webSocketRouter: controller.router(), allowedOrigins: allowedOrigins, maxFrameSize: EventsController.maxMessageBytes,
            additionalChannelHandlers: additionalChannelHandlers, idleTimeout: idleTimeout, connections: connections,
            limits: controller.limits)
    }
}
