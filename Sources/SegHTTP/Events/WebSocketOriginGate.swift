import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// Refuses WebSocket upgrades from browser pages of other origins with 403, before the upgrade is considered.
///
/// A browser sends cookies with a WebSocket handshake whatever page opens it and never applies CORS to it, so a page
/// of another site could otherwise open a socket in its visitor's name (cross-site WebSocket hijacking). An upgrade
/// request whose `Origin` is not in the allowed list gets `403 ORIGIN_NOT_ALLOWED` (problem+json) and the connection
/// is closed; a request without `Origin`, or with a `ws:`/`wss:` one (not a browser: scripts, the CLI, other servers),
/// goes on. An allowed upgrade is then admitted by ``EventSocketLimits`` (the address's share of sockets and its rate
/// limit), or answered 429 problem+json. hummingbird-websocket answers every refused upgrade with a bare 400, so the
/// checks sit in the channel pipeline, between the HTTP decoder and the upgrade handler, and leave the pipeline after
/// the first request of a connection (only that one can be an upgrade).
final class WebSocketOriginGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Allowed origins, lowercased, without a trailing slash.
    private let allowed: Set<String>
    /// The per-address cap and rate limit of upgrades, if any.
    private let limits: EventSocketLimits?
    private var refusing = false

    init(allowed: Set<String>, limits: EventSocketLimits? = nil) {
        self.allowed = allowed
        self.limits = limits
    }

    /// Whether a request with `origin` (nil when absent) may be upgraded.
    ///
    /// Browsers send the page's origin (`http(s)://…`, or `null`), never a `ws:`/`wss:` one; WebSocket client
    /// libraries that send an `Origin` at all (swift-websocket's client sends `ws://host`) are not browsers and carry
    /// no ambient credentials, so like a request without `Origin` they go on to authenticate with a token.
    ///
    /// A page of the server's own origin (the web UI it serves) is allowed too: its `Origin`'s host and port equal the
    /// request's `Host`. A page of another site that resolves its own name to this server (DNS rebinding) also passes,
    /// but the browser sends it no SegHub cookies (they belong to SegHub's host name), so it gains nothing.
    static func allows(_ origin: String?, in allowed: Set<String>, host: String? = nil) -> Bool {
        guard let origin else { return true }
        var normalised = origin.trimmingCharacters(in: .whitespaces).lowercased()
        if normalised.hasPrefix("ws://") || normalised.hasPrefix("wss://") { return true }
        if normalised.hasSuffix("/") { normalised.removeLast() }
        if let host, Self.origins(ofHost: host).contains(normalised) { return true }
        return allowed.contains(normalised)
    }

    /// The origins a page served from `host` (a `Host` header value) may send: `http://` and `https://`, with and
    /// without the scheme's default port.
    static func origins(ofHost host: String) -> Set<String> {
        let host = host.trimmingCharacters(in: .whitespaces).lowercased()
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else { return [] }
        var name = host
        var port: String?
        if let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") {
            name = String(host[..<colon])
            port = String(host[host.index(after: colon)...])
        }
        var result: Set<String> = []
        for (scheme, standard) in [("http://", "80"), ("https://", "443")] {
            if let port, port != standard {
                result.insert("\(scheme)\(name):\(port)")
            } else {
                result.insert(scheme + name)
                result.insert("\(scheme)\(name):\(standard)")
            }
        }
        return result
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The rest of a refused request is dropped.
        guard !refusing else { return }
        guard case .head(let head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let upgrade = head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        if upgrade, !Self.allows(head.headers.first(name: "origin"), in: allowed, host: head.headers.first(name: "host")) {
            refusing = true
            refuse(context: context, with: Self.originNotAllowed)
            return
        }
        if upgrade, let limits, let problem = limits.admit(forwardedFor: head.headers[ClientAddress.forwardedFor.rawName], channel: context.channel) {
            refusing = true
            refuse(context: context, with: problem)
            return
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    static let originNotAllowed = Problem(
        .forbidden, code: "ORIGIN_NOT_ALLOWED", detail: "this origin may not open the event socket (SEG_WS_ALLOWED_ORIGINS)")

    /// Answers `problem` as problem+json and closes the connection.
    private func refuse(context: ChannelHandlerContext, with problem: Problem) {
        let body = problem.encodedBody
        var buffer = context.channel.allocator.buffer(capacity: body.count)
        buffer.writeBytes(body)
        var headers = HTTPHeaders([
            ("Content-Type", Problem.mediaType), ("Content-Length", "\(buffer.readableBytes)"), ("Connection", "close"),
            ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
        ])
        for field in problem.headers { headers.add(name: field.name.rawName, value: field.value) }
        let status = HTTPResponseStatus(statusCode: problem.status.code)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
    }
}

/// hummingbird-websocket's HTTP/1 channel with `WebSocketOriginGate` in front of its upgrade handler.
struct OriginCheckedWebSocketChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let inner: HTTP1WebSocketUpgradeChannel
    let allowedOrigins: Set<String>
    var limits: EventSocketLimits?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let allowedOrigins = allowedOrigins
        let limits = limits
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(
                WebSocketOriginGate(allowed: allowedOrigins, limits: limits), position: .after(decoder))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with WebSocket upgrades through `webSocketRouter`, refusing pages of origins not in `allowedOrigins`.
    /// - Parameters:
    ///   - webSocketRouter: The router that decides upgrades (`EventsController.router()`).
    ///   - allowedOrigins: `SEG_WS_ALLOWED_ORIGINS`.
    ///   - maxFrameSize: The largest frame a client may send.
    static func http1WebSocket(
        webSocketRouter: Router<EventsRequestContext>, allowedOrigins: [String], maxFrameSize: Int,
        additionalChannelHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }, idleTimeout: TimeAmount? = nil,
        connections: ConnectionLimiter? = nil, limits: EventSocketLimits? = nil
    ) -> HTTPServerBuilder {
        let webSocketResponder = webSocketRouter.buildResponder()
        let allowed = Set(
            allowedOrigins.map { origin in
                var normalised = origin.lowercased()
                if normalised.hasSuffix("/") { normalised.removeLast() }
                return normalised
            })
        return HTTPServerBuilder { responder in
            let channel = OriginCheckedWebSocketChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder,
                    configuration: .init(
                        http1: .init(additionalChannelHandlers: additionalChannelHandlers(), idleTimeout: idleTimeout),
                        ws: .init(maxFrameSize: maxFrameSize, autoPing: .enabled(timePeriod: .seconds(30))))),
                allowedOrigins: allowed, limits: limits)
            guard let connections else { return channel }
            return LimitedChannel(inner: channel, connections: connections)
        }
    }
}
