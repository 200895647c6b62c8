import PostgresNIO

extension PostgresRowSequence {
    /// Reads and drops every row, so the statement has finished (and any error has arrived) when this returns.
    func drain() async throws {
        for try await _ in self {}
    }
}
