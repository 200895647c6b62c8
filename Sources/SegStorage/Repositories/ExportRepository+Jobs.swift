import Foundation
import Logging
import PostgresNIO

extension ExportRepository {
    /// Marks `failed` every queued or running export whose job ended `failed` or `cancelled` without the worker
    /// recording it: the worker died on the job's last attempt and the queue reclaimed the expired lease, or an
    /// operator cancelled the job. The export keeps a short reason for its user.
    /// - Returns: The ids of the exports marked failed.
    /// - Throws: `StorageError` when the database fails.
    @discardableResult
    public static func failAbandoned(on database: Database) async throws(StorageError) -> [UUID] {
        let ids = try await withStorageErrors {
            try await database.query(
                """
                UPDATE exports SET status = 'failed',
                    error = CASE WHEN jobs.state = 'cancelled' THEN 'the export was cancelled'
                        ELSE 'the export could not be built (its worker stopped)' END,
                    finished_at = now(), updated_at = now()
                FROM jobs
                WHERE exports.job_id = jobs.id AND exports.status IN ('queued', 'running')
                  AND jobs.state IN ('failed', 'cancelled')
                RETURNING exports.id
                """
            ).decodeAll { try $0.decode(UUID.self) }
        }
        if !ids.isEmpty { database.logger.info("abandoned exports marked failed", metadata: ["export.count": "\(ids.count)"]) }
        return ids
    }
}
