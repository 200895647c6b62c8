import Logging
import PostgresNIO

/// Where a repository call runs, and whose logger its statements and log lines use.
///
/// Every repository function and named operation takes one as its last argument (`on database:`), so a caller
/// decides per call whether the work runs on the pool (each statement on any free connection) or inside a
/// transaction it already holds, and a request's logger (with its request id) reaches the queries it causes:
///
/// ```swift
/// let database = Database(client: client, logger: context.logger)
/// let user = try await Users.get(id: id, on: database)
/// try await database.transaction { transaction in
///     let project = try await Projects.create(ownerID: user.id, name: "Spheroids", description: "", on: transaction)
///     try await AuditLog.record(action: "project.create", actorID: user.id, projectID: project.id, on: transaction)
/// }
/// ```
///
/// A value is cheap to copy; make one per request or per unit of work rather than keeping one for a process.
public struct Database: Sendable {
    private enum Target: Sendable {
        /// Each statement on a pooled connection.
        case pool(PostgresClient)
        /// One connection the caller holds; `inTransaction` when a transaction is open on it.
        case connection(PostgresConnection, inTransaction: Bool)
    }

    private let target: Target
    /// The logger for statements and for the repositories' own log lines.
    public let logger: Logger

    /// Statements on `client`'s pool, logged to `logger`.
    public init(client: PostgresClient, logger: Logger) {
        self.target = .pool(client)
        self.logger = logger
    }

    /// Statements on `connection`, which the caller holds for the duration (no transaction is open on it).
    public init(connection: PostgresConnection, logger: Logger) {
        self.target = .connection(connection, inTransaction: false)
        self.logger = logger
    }

    private init(target: Target, logger: Logger) {
        self.target = target
        self.logger = logger
    }

    /// The same place, logging to `logger` (a request's, say).
    public func logging(to logger: Logger) -> Database {
        Database(target: target, logger: logger)
    }

    /// Whether statements run inside an open transaction.
    public var isInTransaction: Bool {
        if case .connection(_, inTransaction: true) = target { return true }
        return false
    }

    // MARK: Units of work

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    ///
    /// Inside a transaction already, `body` joins it (no savepoint): the outer transaction commits or rolls back both.
    /// - Throws: What `body` throws, or a failed `BEGIN`/`COMMIT`, as `StorageError`.
    public func transaction<Result: Sendable>(_ body: (Database) async throws -> Result) async throws(StorageError) -> Result {
        try await withStorageErrors {
            switch target {
            case .pool(let client):
                return try await client.withTransaction(logger: logger) { connection in
                    try await body(Database(target: .connection(connection, inTransaction: true), logger: logger))
                }
            case .connection(let connection, inTransaction: false):
                return try await connection.withTransaction(logger: logger) { connection in
                    try await body(Database(target: .connection(connection, inTransaction: true), logger: logger))
                }
            case .connection(_, inTransaction: true):
                return try await body(self)
            }
        }
    }

    /// Runs `body` with every statement on one connection (session state: `LISTEN`, advisory locks, a snapshot).
    /// - Throws: What `body` throws, or no connection, as `StorageError`.
    public func withConnection<Result: Sendable>(_ body: (Database) async throws -> Result) async throws(StorageError) -> Result {
        try await withStorageErrors {
            switch target {
            case .pool(let client):
                return try await client.withConnection { connection in
                    try await body(Database(target: .connection(connection, inTransaction: false), logger: logger))
                }
            case .connection:
                return try await body(self)
            }
        }
    }

    /// Runs `body` with the connection itself, for postgres-nio calls that need one (`LISTEN`, `COPY`).
    func withPostgresConnection<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        switch target {
        case .pool(let client):
            return try await client.withConnection { connection in try await body(connection) }
        case .connection(let connection, _):
            return try await body(connection)
        }
    }

    // MARK: Statements (SegStorage only)

    /// Runs one statement.
    @discardableResult
    func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        switch target {
        case .pool(let client):
            return try await client.query(query, logger: logger, file: file, line: line)
        case .connection(let connection, _):
            return try await connection.query(query, logger: logger, file: file, line: line)
        }
    }

    /// Runs one prepared statement (prepared once per connection).
    func execute<Statement: PostgresPreparedStatement, Row>(
        _ statement: Statement,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Row> where Row == Statement.Row {
        switch target {
        case .pool(let client):
            return try await client.execute(statement, logger: logger, file: file, line: line)
        case .connection(let connection, _):
            return try await connection.execute(statement, logger: logger, file: file, line: line)
        }
    }
}
