import Foundation
import PostgresNIO

extension JobQueue {
    /// Which jobs an administrator retries or cancels.
    public enum JobSelection: Sendable, Hashable {
        /// One job by id.
        case job(UUID)
        /// Every matching job of a project.
        case project(UUID)
        /// Every matching job.
        case all

        /// The selection as the statements bind it: a job id, a project id, or everything.
        var bindings: (job: UUID?, project: UUID?, all: Bool) {
            switch self {
            case .job(let id): (id, nil, false)
            case .project(let id): (nil, id, false)
            case .all: (nil, nil, true)
            }
        }
    }

    /// Cancels queued and running jobs (`segctl queue cancel`) and, in the same transaction, gives their images
    /// back the status they had before queueing: `segmented` with a stored version, else `new`, or `processing`
    /// while another job of the image still runs.
    /// - Returns: How many jobs were cancelled.
    /// - Throws: `StorageError.notFound` for an unknown job id.
    public func cancel(_ selection: JobSelection, on database: Database) async throws(StorageError) -> Int {
        let (job, project, all) = selection.bindings
        if let job { _ = try await self.job(job, on: database) }
        return try await database.transaction { database in
            let rows = try await database.query(
                """
                UPDATE jobs SET state = 'cancelled', lease_id = NULL, lease_until = NULL, finished_at = now(), updated_at = now()
                WHERE state IN ('queued', 'running')
                  AND (\(all) OR id = \(job) OR project_id = \(project))
                RETURNING image_id
                """
            )
            var count = 0
            var images: [UUID] = []
            for try await image in rows.decode(UUID?.self) {
                count += 1
                if let image { images.append(image) }
            }
            try await ImageRepository.restoreStatusAfterCancel(ids: images, on: database)
            database.logger.info("jobs cancelled", metadata: ["jobs.count": "\(count)"])
            return count
        }

    }

    /// Puts failed jobs back in the queue with fresh attempts (`segctl queue retry`): one job by id (also a cancelled
    /// one), or every failed job of a project or of the queue. The images of retried segmentations become `queued`
    /// again in the same statement. A job whose image already has a queued segmentation is left alone.
    /// - Returns: How many jobs were queued again.
    /// - Throws: `StorageError.notFound` for an unknown job id.
    public func retry(_ selection: JobSelection, on database: Database) async throws(StorageError) -> Int {
        let (job, project, all) = selection.bindings
        if let job { _ = try await self.job(job, on: database) }
        let count: Int = try await withStorageErrors {
            let rows = try await database.query(
                """
                WITH retried AS (
                    UPDATE jobs SET state = 'queued', attempt = 0, run_at = now(), last_error = NULL, finished_at = NULL,
                        updated_at = now()
                    WHERE ((id = \(job) AND state IN ('failed', 'cancelled'))
                        OR (\(job)::uuid IS NULL AND state = 'failed' AND (\(all) OR project_id = \(project))))
                      AND NOT (kind = 'segment' AND EXISTS (
                          SELECT 1 FROM jobs q WHERE q.image_id = jobs.image_id AND q.kind = 'segment' AND q.state = 'queued'))
                    RETURNING kind, image_id),
                images_queued AS (
                    UPDATE images SET status = 'queued', updated_at = now()
                    FROM retried WHERE retried.kind = 'segment' AND images.id = retried.image_id
                    RETURNING images.id)
                SELECT (SELECT count(*) FROM retried), (SELECT count(*) FROM images_queued)
                """
            )
            var count = 0
            for try await (retried, _) in rows.decode((Int64, Int64).self) { count = Int(retried) }
            return count
        }
        if count > 0 { try? await notify(.segment, on: database) }
        return count
    }
}
