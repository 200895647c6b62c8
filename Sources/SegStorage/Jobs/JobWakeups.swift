import Logging
import PostgresNIO

/// Wakes idle workers when jobs are queued, through PostgreSQL `LISTEN/NOTIFY`, so they need not poll fast.
///
/// `run()` keeps one connection listening on the queue's channel (reconnecting after a failure) until its task is
/// cancelled; `wait(upTo:)` returns at the next notification or after the timeout, whichever comes first.
/// Notifications reach every process listening on the database, so a job queued by one segserver wakes the
/// workers of all of them. Workers still poll at their timeout: a notification is a hint, never the only path.
public actor JobWakeups {
    private let client: PostgresClient
    private let channel: String
    private let logger: Logger
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    private var listening = false
    /// Waiters woken (by their timer or cancellation) before they registered.
    private var wokenEarly: Set<Int> = []
    /// Waiters between the start and the end of `wait(upTo:)`.
    private var pending: Set<Int> = []

    /// Wake-ups for the queue on `client` (channel from `configuration`).
    public init(client: PostgresClient, configuration: JobQueueConfiguration = .init(), logger: Logger) {
        self.client = client
        self.channel = configuration.notificationChannel
        self.logger = logger
    }

    /// Whether the listening connection is currently established.
    public var isListening: Bool { listening }

    /// Listens until cancelled; after a lost connection it tries again every second.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: self.channel) { notifications in
                        self.setListening(true)
                        // Jobs queued while no one listened are found by the next poll; wake everyone once now.
                        self.wakeAll()
                        for try await _ in notifications {
                            self.wakeAll()
                        }
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.info("job notifications interrupted; listening again", metadata: ["error": "\(StorageError(mapping: error))"])
            }
            setListening(false)
            try? await Task.sleep(for: .seconds(1))
        }
        setListening(false)
        wakeAll()
    }

    /// Waits for the next notification, at most `timeout`.
    public func wait(upTo timeout: Duration) async {
        let id = nextWaiter
        nextWaiter += 1
        pending.insert(id)
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled || wokenEarly.remove(id) != nil {
                    continuation.resume()
                } else {
                    waiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.wake(id) }
        }
        timer.cancel()
        pending.remove(id)
        wokenEarly.remove(id)
    }

    /// Wakes every waiter now (also used by a worker that finished a job, to look for the next at once).
    public func wakeAll() {
        let current = waiters
        waiters.removeAll()
        for continuation in current.values { continuation.resume() }
    }

    private func wake(_ id: Int) {
        if let continuation = waiters.removeValue(forKey: id) {
            continuation.resume()
        } else if pending.contains(id) {
            wokenEarly.insert(id)
        }
    }

    private func setListening(_ value: Bool) {
        listening = value
    }
}
