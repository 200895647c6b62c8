import Logging
import PostgresNIO

/// Sessions as the server sees them in `pg_stat_activity`.
public struct DatabaseSessions: Sendable, Hashable {
    /// Connected and waiting for a statement.
    public var idle: Int
    /// Running a statement or inside a transaction (the counting query's own session included).
    public var inUse: Int

    /// The sessions whose `application_name` is `applicationName` (a process names its pool's connections so).
    /// - Throws: `StorageError`.
    public static func count(applicationName: String, on database: Database) async throws(StorageError) -> DatabaseSessions {
        let row = try await withStorageErrors {
            try await database.query(
                """
                SELECT count(*) FILTER (WHERE state = 'idle'), count(*) FILTER (WHERE state IS DISTINCT FROM 'idle')
                FROM pg_stat_activity WHERE application_name = \(applicationName)
                """
            ).decodeFirst { try $0.decode((Int64, Int64).self) }
        }
        return DatabaseSessions(idle: Int(row?.0 ?? 0), inUse: Int(row?.1 ?? 0))
    }
}
