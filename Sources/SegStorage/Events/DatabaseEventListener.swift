import Logging
import PostgresNIO
import Synchronization

/// What a `DatabaseEventListener` hands its events to.
public protocol DatabaseEventHandler: Sendable {
    /// The listener has (re)started listening. Events sent while it was not listening are lost, so anything derived
    /// from earlier events (caches) may be stale and should be dropped.
    func listenerConnected() async
    /// The listener lost its connection and will listen again once the database answers.
    func listenerDisconnected() async
    /// One event, in the order the database committed them.
    func receive(_ event: DatabaseEvent) async
}

/// Listens on the `seghub_events` channel (`DatabaseEvent.channel`) on a connection of its own, so that changes
/// written by any process reach this one.
///
/// One listener per process is enough whatever the number of WebSocket clients. `run(handler:)` keeps listening
/// until its task is cancelled; a lost connection (a database restart, a network cut) is retried every second, and
/// the handler is told both when listening stops and when it starts again. The connection is not taken from the
/// application's pool, so a busy pool never delays events and the listener never shrinks the pool.
///
/// ## Usage
/// ```swift
/// let listener = DatabaseEventListener(configuration: clientConfiguration, logger: logger)
/// await listener.run(handler: hub)   // until cancelled
/// ```
public final class DatabaseEventListener: Sendable {
    private let client: PostgresClient
    private let logger: Logger
    private let listening = Mutex(false)
    private let connections = Mutex(0)

    /// A listener for the database `configuration` names (its pool settings are replaced: one connection).
    public init(configuration: PostgresClient.Configuration, logger: Logger) {
        var configuration = configuration
        configuration.options.minimumConnections = 0
        configuration.options.maximumConnections = 1
        configuration.options.connectTimeout = .seconds(5)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Whether the listening connection is established now.
    public var isListening: Bool { listening.withLock { $0 } }

    /// How many times listening has started (1 after the first connection, 2 after one reconnection, …).
    public var connectionCount: Int { connections.withLock { $0 } }

    /// Listens until the task is cancelled, passing every event of ours to `handler`.
    public func run(handler: some DatabaseEventHandler) async {
        await client.run(alongside: { await self.listen(handler: handler) })
    }

    private func listen(handler: some DatabaseEventHandler) async {
        let logger = logger
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: DatabaseEvent.channel) { notifications in
                        self.listening.withLock { $0 = true }
                        self.connections.withLock { $0 += 1 }
                        logger.info("listening for database events")
                        await handler.listenerConnected()
                        for try await notification in notifications {
                            guard let event = DatabaseEvent(payload: notification.payload) else {
                                logger.debug("ignored a notification that is not a SegHub event")
                                continue
                            }
                            await handler.receive(event)
                        }
                    }
                }
            } catch {
                if !Task.isCancelled {
                    logger.notice("database events interrupted; listening again", metadata: ["error": "\(StorageError(mapping: error))"])
                }
            }
            let wasListening = listening.withLock { state in
                let was = state
                state = false
                return was
            }
            if wasListening {
                await handler.listenerDisconnected()
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
