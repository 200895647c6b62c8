import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket
import Testing

/// A WebSocket client for the event socket tests: send JSON, take the server's messages one at a time, and see how
/// the server closed the socket. Every wait has a generous limit that only guards against a hang.
final class TestEventSocket: Sendable {
    struct Timeout: Error, CustomStringConvertible {
        var what: String
        var description: String { "no \(what) within the test's hang guard" }
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the socket closed while a message was expected" }
    }

    private enum Command: Sendable {
        case text(String)
        case close
    }

    private let inbox: EventInbox
    private let commands: AsyncStream<Command>.Continuation
    private let connection: Task<WebSocketCloseFrame?, any Error>

    /// Opens `/api/v1/events` on the live test server at `port`.
    init(port: Int, headers: HTTPFields = [:]) {
        let (commandStream, commands) = AsyncStream.makeStream(of: Command.self)
        let inbox = EventInbox()
        self.inbox = inbox
        self.commands = commands
        var logger = Logger(label: "seg.test.ws")
        logger.logLevel = .critical
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20, additionalHeaders: headers)
        self.connection = Task {
            defer { Task { await inbox.finish() } }
            return try await WebSocketClient.connect(
                url: "ws://localhost:\(port)/api/v1/events", configuration: configuration, logger: logger
            ) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            if case .text(let text) = message { await inbox.push(text) }
                        }
                    }
                    group.addTask {
                        for await command in commandStream {
                            switch command {
                            case .text(let text): try await outbound.write(.text(text))
                            case .close:
                                try await outbound.close(.normalClosure, reason: nil)
                                return
                            }
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }

    /// Sends a text message.
    func send(_ text: String) {
        commands.yield(.text(text))
    }

    /// Sends a JSON object.
    func send(json: [String: String]) throws {
        let data = try JSONSerialization.data(withJSONObject: json)
        send(String(decoding: data, as: UTF8.self))
    }

    /// Sends `{"type": "auth", "token": token}` and returns the answer.
    @discardableResult
    func authenticate(_ token: String) async throws -> [String: Any] {
        try send(json: ["type": "auth", "token": token])
        return try await next()
    }

    /// The next message from the server, decoded as a JSON object.
    func next(within limit: Duration = .seconds(20)) async throws -> [String: Any] {
        let text = try await nextText(within: limit)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(text)")
    }

    /// The next message of `type`, skipping others (queue.stats come and go with image events).
    func next(
        ofType type: String, within limit: Duration = .seconds(20), where accept: ([String: Any]) -> Bool = { _ in true }
    ) async throws
        -> [String: Any]
    {
        let deadline = ContinuousClock.now + limit
        while true {
            let message = try await next(within: deadline - ContinuousClock.now)
            if message["type"] as? String == type, accept(message) { return message }
        }
    }

    /// The next message's text; throws `Closed` when the socket closed first.
    func nextText(within limit: Duration = .seconds(20)) async throws -> String {
        switch await inbox.take(within: limit) {
        case .message(let text): return text
        case .closed: throw Closed()
        case .timedOut: throw Timeout(what: "message")
        }
    }

    /// Waits until the server closes the socket and returns its close frame.
    func closeFrame(within limit: Duration = .seconds(30)) async throws -> WebSocketCloseFrame? {
        let connection = connection
        return try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
            group.addTask { try await connection.value }
            group.addTask {
                try await Task.sleep(for: limit)
                throw Timeout(what: "close")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    /// Closes from the client side and waits for the end of the connection.
    func close() async {
        commands.yield(.close)
        commands.finish()
        _ = try? await closeFrame()
    }
}

/// The server's messages in order, for one reader at a time.
actor EventInbox {
    enum Outcome: Sendable {
        case message(String)
        case closed
        case timedOut
    }

    private var buffer: [String] = []
    private var closed = false
    private var waiter: (id: Int, continuation: CheckedContinuation<Outcome, Never>)?
    private var nextWaiter = 0

    func push(_ text: String) {
        if let waiter {
            self.waiter = nil
            waiter.continuation.resume(returning: .message(text))
        } else {
            buffer.append(text)
        }
    }

    func finish() {
        closed = true
        waiter?.continuation.resume(returning: .closed)
        waiter = nil
    }

    func take(within limit: Duration) async -> Outcome {
        if !buffer.isEmpty { return .message(buffer.removeFirst()) }
        if closed { return .closed }
        let id = nextWaiter
        nextWaiter += 1
        let timer = Task {
            try await Task.sleep(for: limit)
            self.expire(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            waiter = (id, continuation)
        }
    }

    private func expire(_ id: Int) {
        guard let waiter, waiter.id == id else { return }
        self.waiter = nil
        waiter.continuation.resume(returning: .timedOut)
    }
}
