import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import ServiceLifecycle

/// The request context of WebSocket upgrades: it keeps the connection's channel, so that a socket whose client stops
/// reading can be cut.
struct EventsRequestContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}

/// `GET /api/v1/events`: the realtime event socket (docs/events.md).
///
/// The `Origin` check happens before this, in `WebSocketOriginGate`, which answers 403 to a browser page of an
/// origin not in `SEG_WS_ALLOWED_ORIGINS`. Here each socket gets an `EventSession` (authentication, deadlines) and an
/// `EventOutbox` (its bounded send queue) and runs two loops until either ends: reading the client's messages and
/// writing what the outbox holds.
struct EventsController {
    let services: AppServices
    let hub: EventHub
    let monitor: DatabaseMonitor?
    /// The per-account cap (the per-address cap and the rate limit apply at the upgrade, in `WebSocketOriginGate`).
    var limits: EventSocketLimits?
    /// How long a socket may stay without authenticating.
    var authTimeout: Duration = .seconds(5)
    /// The largest message a client may send (an auth message with its token is well under 1 KiB).
    static let maxMessageBytes = 8 << 10
    /// How far a client may fall behind before it is dropped.
    static let outboxLimit = 1 << 20
    /// The path of the socket.
    static let path = "/api/v1/events"

    /// The router for WebSocket upgrades.
    func router() -> Router<EventsRequestContext> {
        let router = Router(context: EventsRequestContext.self)
        router.ws(
            RouterPath(stringLiteral: Self.path),
            onUpgrade: { inbound, outbound, context in
                await run(inbound: inbound, outbound: outbound, context: context)
            })
        return router
    }

    /// The access token carried by the upgrade request itself, if any.
    ///
    /// The web UI's `seg_access` cookie (`WebSession`): the socket is authenticated before its first message and
    /// answers `ready` at once. A cookie is sent by the browser whatever page opens the socket, so this is only safe
    /// because `WebSocketOriginGate` refuses pages of other origins first (it lets the server's own origin through).
    static func upgradeToken(from request: Request) -> String? {
        guard let token = request.cookies[WebSession.accessCookie]?.value, !token.isEmpty else { return nil }
        return token
    }

    /// Runs one socket until the client or the server closes it.
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, context: WebSocketRouterContext<EventsRequestContext>) async {
        let outbox = EventOutbox(limit: Self.outboxLimit)
        let session = EventSession(
            services: services, hub: hub, monitor: monitor, outbox: outbox, channel: context.requestContext.channel, authTimeout: authTimeout,
            limits: limits, logger: context.logger)
        await hub.opened()
        await session.start()
        if let token = Self.upgradeToken(from: context.request) {
            await session.authenticate(token: token)
        }
        // At graceful shutdown hummingbird-websocket sends the close frame; ending the writer lets this handler return
        // so that the close handshake (bounded by its timeout) can finish even if the client never answers.
        await withGracefulShutdownHandler {
            // Each loop tells whether it ended because the server sent a close frame.
            await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    // The writer: ends after sending a close frame, or when the socket is gone.
                    while let item = await outbox.next() {
                        do {
                            switch item {
                            case .text(let text):
                                try await outbound.write(.text(text))
                            case .close(let code, let reason):
                                try await outbound.close(code, reason: reason)
                                return true
                            }
                        } catch {
                            return false
                        }
                    }
                    return false
                }
                group.addTask {
                    // The reader: ends when the client closes (or answers our close). Messages over the limit close the
                    // socket (1009); messages after a close are read and ignored.
                    do {
                        for try await message in inbound.messages(maxSize: Self.maxMessageBytes) {
                            await session.handle(message)
                        }
                    } catch {
                        context.logger.debug("event socket read failed", metadata: ["error": "\(error)"])
                    }
                    return false
                }
                if await group.next() == true {
                    // Keep reading until the client answers the close: closing the connection with its messages unread
                    // would reset it, and the client could lose the error message that explains the close.
                    group.addTask {
                        try? await Task.sleep(for: .seconds(5))
                        return false
                    }
                    _ = await group.next()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            outbox.finish()
        }
        outbox.finish()
        await session.end()
        await hub.closed()
    }
}
