import HummingbirdCore
import Logging
import NIOCore
import Synchronization

/// Caps the open HTTP connections of a server and how long a new one may take to send its first request's headers.
///
/// ``install(on:)`` puts a handler at the front of each new connection's pipeline (raw bytes, before any HTTP
/// decoding, so that it also stays on event sockets). It counts the connection while it is open, closes it at once
/// when `limit` are already open (nginx or a client then retries elsewhere), and closes it when its first request's
/// headers have not all arrived within `headerTimeout`: a flood of idle or half-sent sockets cannot take every file
/// descriptor. Between requests Hummingbird's own idle timeout closes a kept-alive connection; it does not run
/// before the first request.
final class ConnectionLimiter: Sendable {
    /// The most connections open at once.
    let limit: Int
    /// How long a new connection may take to send its first request's headers.
    let headerTimeout: TimeAmount
    let logger: Logger
    private let open = Atomic<Int>(0)

    init(limit: Int, headerTimeout: TimeAmount, logger: Logger) {
        self.limit = limit
        self.headerTimeout = headerTimeout
        self.logger = logger
    }

    /// Adds the counting handler at the front of `channel`'s pipeline (on its event loop, during setup).
    func install(on channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(CountingHandler(limiter: self), position: .first)
    }

    /// Counts one connection from the moment it is active until it closes, and watches for the end of its first
    /// request's headers (`\r\n\r\n`).
    final class CountingHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer

        private let limiter: ConnectionLimiter
        private var counted = false
        private var headerDeadline: Scheduled<Void>?
        /// The last four bytes read while the first headers are incomplete.
        private var tail: UInt32 = 0
        private var headersComplete = false

        init(limiter: ConnectionLimiter) {
            self.limiter = limiter
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { admit(context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            admit(context)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !headersComplete {
                let bytes = unwrapInboundIn(data)
                for byte in bytes.readableBytesView {
                    tail = tail << 8 | UInt32(byte)
                    if tail == 0x0D0A_0D0A {
                        headersComplete = true
                        headerDeadline?.cancel()
                        headerDeadline = nil
                        break
                    }
                }
            }
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            release()
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            release()
        }

        private func admit(_ context: ChannelHandlerContext) {
            guard !counted else { return }
            counted = true
            let now = limiter.open.wrappingAdd(1, ordering: .relaxed).newValue
            if now > limiter.limit {
                limiter.logger.debug("connection refused: too many open", metadata: ["connections.limit": "\(limiter.limit)"])
                context.close(promise: nil)
                return
            }
            let channel = NIOLoopBound(context, eventLoop: context.eventLoop)
            let logger = limiter.logger
            headerDeadline = context.eventLoop.scheduleTask(in: limiter.headerTimeout) {
                logger.debug("connection closed: no complete request headers in time")
                channel.value.close(promise: nil)
            }
        }

        private func release() {
            headerDeadline?.cancel()
            headerDeadline = nil
            guard counted else { return }
            counted = false
            limiter.open.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}

/// A server channel with a ``ConnectionLimiter``'s handler in front of `inner`'s pipeline.
struct LimitedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value

    let inner: Inner
    let connections: ConnectionLimiter

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let connections = connections
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            try connections.install(on: channel)
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 (`configuration`) with `connections`' cap and first-header timeout.
    static func http1(configuration: HTTP1Channel.Configuration, connections: ConnectionLimiter) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            LimitedChannel(inner: HTTP1Channel(responder: responder, configuration: configuration), connections: connections)
        }
    }
}
