import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `body` with a running client for `configuration`, then shuts the client down.
    ///
    /// For short-lived work (segctl commands, tests). A server adds its client to its service group instead.
    /// The client's connections are closed when this returns.
    /// - Parameters:
    ///   - configuration: Where to connect.
    ///   - logger: The client's background logger.
    ///   - body: The work; the client must not escape it.
    public static func withRunning<Result: Sendable>(
        _ configuration: DatabaseConfiguration,
        logger: Logger,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

extension PostgresClient {
    /// Runs the client and `work` side by side until `work` returns (or the task is cancelled), then stops the client.
    ///
    /// For a service that owns a client of its own (the database monitor, the event listener). `work` runs in a child
    /// task beside the client's run task, never in the task that owns it: postgres-nio's pool fails its waiting requests
    /// from its cancellation handler, and the Swift runtime then locks each waiting task. Were a waiting task an
    /// ancestor of the pool's task, a graceful shutdown that reaches both the pool's own `cancelWhenGracefulShutdown`
    /// and the service's could leave two threads each holding a task lock the other needs; a full parallel test run
    /// hung that way while the database refused connections.
    /// - Parameter work: What uses the client; it should return when its task is cancelled.
    public func run(alongside work: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.run() }
            group.addTask { await work() }
            // Whichever ends first (the work, or the client at graceful shutdown) ends the other.
            _ = await group.next()
            group.cancelAll()
        }
    }
}
