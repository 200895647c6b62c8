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
