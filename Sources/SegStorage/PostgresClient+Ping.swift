import Logging
import PostgresNIO

extension PostgresClient {
    /// Runs `SELECT 1`: returns once the server has answered (the database monitor's probe).
    /// - Throws: Whatever the client throws when the server cannot be reached or does not answer.
    public func ping(logger: Logger) async throws {
        try await query("SELECT 1", logger: logger).drain()
    }
}
