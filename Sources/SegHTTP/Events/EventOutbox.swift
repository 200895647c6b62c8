import NIOWebSocket
import Synchronization

/// One WebSocket's queue of outgoing messages, bounded in bytes.
///
/// The hub adds to it without waiting, and the socket's writer takes from it as fast as the client reads. A client
/// that falls more than `limit` bytes behind is not allowed to grow the server's memory: its queued messages are
/// dropped and the socket is closed with `EventCloseCode.tooSlow` (the client reconnects and reloads what it
/// shows). A close request goes after the messages already queued; nothing is accepted after it.
final class EventOutbox: Sendable {
    /// What the writer sends next.
    enum Item: Sendable, Equatable {
        case text(String)
        case close(WebSocketErrorCode, reason: String)
    }

    /// What happened to a message offered with `send`.
    enum SendResult: Equatable {
        case queued
        /// The outbox is closing or finished; the message was dropped.
        case closed
        /// The message would have passed the limit: everything queued was dropped and the socket is being closed.
        case overflowed
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var bytes = 0
        var closing = false
        var finished = false
        var waiter: CheckedContinuation<Item?, Never>?
    }

    /// The most bytes of text that may wait.
    let limit: Int
    private let state = Mutex(State())

    /// An empty outbox holding at most `limit` bytes of text.
    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes of text waiting now.
    var queuedBytes: Int { state.withLock { $0.bytes } }

    /// Queues `text` unless that passes the limit (then the socket is closed as too slow).
    @discardableResult
    func send(_ text: String) -> SendResult {
        let size = text.utf8.count
        let (result, waiter, item): (SendResult, CheckedContinuation<Item?, Never>?, Item?) = state.withLock { state in
            if state.closing || state.finished { return (.closed, nil, nil) }
            if state.bytes + size > limit {
                state.items.removeAll()
                state.head = 0
                state.bytes = 0
                state.closing = true
                let close = Item.close(EventCloseCode.tooSlow, reason: "too slow: the client fell too far behind")
                if let waiter = state.waiter {
                    state.waiter = nil
                    return (.overflowed, waiter, close)
                }
                state.items.append(close)
                return (.overflowed, nil, nil)
            }
            if let waiter = state.waiter {
                state.waiter = nil
                return (.queued, waiter, .text(text))
            }
            state.items.append(.text(text))
            state.bytes += size
            return (.queued, nil, nil)
        }
        waiter?.resume(returning: item)
        return result
    }

    /// Queues a close frame after what is already queued; later messages are dropped.
    func close(_ code: WebSocketErrorCode, reason: String) {
        let waiter: CheckedContinuation<Item?, Never>? = state.withLock { state in
            if state.closing || state.finished { return nil }
            state.closing = true
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.items.append(.close(code, reason: reason))
            return nil
        }
        waiter?.resume(returning: .close(code, reason: reason))
    }

    /// Whether a close was requested (by `close` or an overflow).
    var isClosing: Bool { state.withLock { $0.closing } }

    /// Ends the outbox: the writer's `next()` returns `nil`, now or once it asks.
    func finish() {
        let waiter: CheckedContinuation<Item?, Never>? = state.withLock { state in
            state.finished = true
            state.items.removeAll()
            state.head = 0
            state.bytes = 0
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next item, waiting for one; `nil` once finished (or when the calling task is cancelled).
    func next() async -> Item? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Item?, Never>) in
                let item: Item?? = state.withLock { state in
                    if state.finished { return .some(nil) }
                    if state.head < state.items.count {
                        let item = state.items[state.head]
                        state.head += 1
                        if case .text(let text) = item { state.bytes -= text.utf8.count }
                        if state.head >= 64, state.head * 2 >= state.items.count {
                            state.items.removeFirst(state.head)
                            state.head = 0
                        }
                        return .some(item)
                    }
                    state.waiter = continuation
                    return nil
                }
                if let item { continuation.resume(returning: item) }
            }
        } onCancel: {
            finish()
        }
    }
}

/// The close codes SegHub's event socket uses besides the standard ones (docs/events.md).
enum EventCloseCode {
    /// The first message was not valid JSON of a known shape, or was binary.
    static let badMessage = WebSocketErrorCode.unknown(4400)
    /// Authentication failed, the token expired or was revoked, or a message came before `auth`.
    static let unauthorized = WebSocketErrorCode.unknown(4401)
    /// No `auth` message came in time.
    static let authTimeout = WebSocketErrorCode.unknown(4408)
    /// The client sent messages too fast.
    static let rateLimited = WebSocketErrorCode.unknown(4429)
    /// The client did not read its events fast enough.
    static let tooSlow = WebSocketErrorCode.unknown(4000)
    /// The database is unreachable; try again later.
    static let unavailable = WebSocketErrorCode.unknown(4503)
}
