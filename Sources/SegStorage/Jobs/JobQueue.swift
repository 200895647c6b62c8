import Foundation
import Logging
import PostgresNIO

/// The job queue in PostgreSQL: enqueue, claim, lease, complete, retry, cancel.
///
/// Any number of processes on any number of machines can work one queue: a claim takes the best queued job
/// with `FOR UPDATE SKIP LOCKED` and draws a new lease id; completing, extending and failing a job all require
/// that lease id and an unexpired lease, so a worker that lost its lease can change nothing.
///
/// Order: higher `priority` first, then fairness between users (each user's jobs get consecutive ranks from the
/// queue's head, so a user who queues 1,000 jobs and one who queues 1 take turns), then age.
///
/// ## Usage
/// ```swift
/// let queue = JobQueue()
/// let database = Database(client: client, logger: logger)
/// _ = try await queue.enqueue([NewJob(kind: .segment, payload: "{}", userID: user, imageID: image)], on: database)
/// if let job = try await queue.claim(worker: "host-1/0", on: database) {
///     try await queue.complete(job.lease, on: database) { transaction in /* store the result in the same transaction */ }
/// }
/// ```
public struct JobQueue: Sendable {
    /// Leases, backoff and the wake-up channel.
    public let configuration: JobQueueConfiguration

    /// A queue with `configuration`; every call names the database it runs on.
    public init(configuration: JobQueueConfiguration = .init()) {
        self.configuration = configuration
    }

    // MARK: Enqueue

    /// Adds jobs and wakes idle workers, in one transaction (the caller's, when `database` is inside one, so that
    /// images become `queued` in the same commit; workers are woken when it commits).
    ///
    /// A `segment` job for an image that already has a queued one does not add a row: the queued job takes the
    /// new payload, priority and attempts (and starts again from its first attempt) and keeps its place.
    /// - Returns: One entry per job, in order.
    /// - Throws: `StorageError` (`.invalidArgument` for a bad priority or attempt count, `.invalidReference` for
    ///   an unknown user, project or image).
    public func enqueue(_ jobs: [NewJob], on database: Database) async throws(StorageError) -> [EnqueuedJob] {
        guard !jobs.isEmpty else { return [] }
        for job in jobs {
            guard (-100...100).contains(job.priority) else { throw .invalidArgument("priority must be between -100 and 100") }
            guard (1...100).contains(job.maxAttempts) else { throw .invalidArgument("maxAttempts must be between 1 and 100") }
        }
        let notificationChannel = configuration.notificationChannel
        return try await database.transaction { database in
            // A batch naming one image twice keeps the last request (as two requests in a row would).
            var lastIndexForImage: [UUID: Int] = [:]
            for (index, job) in jobs.enumerated() where job.kind == .segment {
                if let image = job.imageID { lastIndexForImage[image] = index }
            }
            let kept = jobs.indices.filter { index in
                let job = jobs[index]
                return !(job.kind == .segment && job.imageID.map { lastIndexForImage[$0] != index } == true)
            }
            let ranks = try await Self.fairRanks(for: kept.map { jobs[$0] }, on: database)
            var ids: [UUID?] = Array(repeating: nil, count: jobs.count)
            var columns = InsertColumns()
            for (position, index) in kept.enumerated() {
                let job = jobs[index]
                let id = UUID()
                if !(job.kind == .segment && job.imageID != nil) { ids[index] = id }
                columns.append(job, id: id, rank: ranks[position])
            }
            // One statement for the whole batch; a queued segmentation of the same image takes the new parameters.
            let rows = try await database.query(
                """
                INSERT INTO jobs (id, kind, payload, priority, user_id, project_id, image_id, fair_rank, max_attempts)
                SELECT t.id, t.kind, t.payload::jsonb, t.priority, NULLIF(t.user_id, '')::uuid, NULLIF(t.project_id, '')::uuid,
                    NULLIF(t.image_id, '')::uuid, t.fair_rank, t.max_attempts
                FROM unnest(\(columns.ids), \(columns.kinds), \(columns.payloads), \(columns.priorities), \(columns.users),
                    \(columns.projects), \(columns.images), \(columns.ranks), \(columns.maxAttempts))
                    AS t(id, kind, payload, priority, user_id, project_id, image_id, fair_rank, max_attempts)
                ON CONFLICT (image_id) WHERE kind = 'segment' AND state = 'queued'
                DO UPDATE SET payload = EXCLUDED.payload, priority = EXCLUDED.priority, user_id = EXCLUDED.user_id,
                    max_attempts = EXCLUDED.max_attempts, attempt = 0, run_at = now(), last_error = NULL, updated_at = now()
                RETURNING id, image_id, kind, xmax <> 0
                """
            )
            var segmentJobs: [UUID: (UUID, Bool)] = [:]
            for try await (id, image, kind, replaced) in rows.decode((UUID, UUID?, String, Bool).self) {
                if kind == JobKind.segment.rawValue, let image { segmentJobs[image] = (id, replaced) }
            }
            var result: [EnqueuedJob] = []
            result.reserveCapacity(jobs.count)
            for (index, job) in jobs.enumerated() {
                if let id = ids[index] {
                    result.append(EnqueuedJob(id: id, replacedPending: false))
                } else if let image = job.imageID, let (id, replaced) = segmentJobs[image] {
                    result.append(EnqueuedJob(id: id, replacedPending: replaced || lastIndexForImage[image] != index))
                } else {
                    throw StorageError.database(sqlState: nil)
                }
            }
            let kinds = Set(jobs.map(\.kind.rawValue)).sorted().joined(separator: ",")
            try await database.query("SELECT pg_notify(\(notificationChannel), \(kinds))")
            return result
        }
    }

    /// Column arrays for one multi-row insert (`unnest`); absent ids are empty strings, turned into NULL in SQL.
    private struct InsertColumns {
        var ids: [UUID] = []
        var kinds: [String] = []
        var payloads: [String] = []
        var priorities: [Int32] = []
        var users: [String] = []
        var projects: [String] = []
        var images: [String] = []
        var ranks: [Int64] = []
        var maxAttempts: [Int32] = []

        mutating func append(_ job: NewJob, id: UUID, rank: Int64) {
            ids.append(id)
            kinds.append(job.kind.rawValue)
            payloads.append(job.payload)
            priorities.append(Int32(job.priority))
            users.append(job.userID?.uuidString ?? "")
            projects.append(job.projectID?.uuidString ?? "")
            images.append(job.imageID?.uuidString ?? "")
            ranks.append(rank)
            maxAttempts.append(Int32(job.maxAttempts))
        }
    }

    /// The fair rank of each of `jobs` (in their order), making room among their users' queued jobs.
    ///
    /// A rank is a turn: claims take the lowest rank first, whoever queued it, so users take turns (start-time fair
    /// queueing). A user's new jobs of priority `p` take the turns right after that user's queued jobs of priority
    /// `p` or more, never before the queue's head, and the user's queued jobs of lower priority move back to make
    /// room. Priority therefore orders only a user's own jobs: a flood of top-priority jobs from one user still
    /// leaves everyone else's turns where they were.
    private static func fairRanks(for jobs: [NewJob], on database: Database) async throws -> [Int64] {
        var ranks = [Int64](repeating: 0, count: jobs.count)
        // Groups of one user's jobs of one priority, highest priority first, each keeping the batch's order.
        var groups: [UUID?: [Int: [Int]]] = [:]
        for (index, job) in jobs.enumerated() { groups[job.userID, default: [:]][job.priority, default: []].append(index) }
        for (user, byPriority) in groups {
            var floor: Int64 = 0
            for priority in byPriority.keys.sorted(by: >) {
                guard let members = byPriority[priority] else { continue }
                let count = Int64(members.count)
                let start = max(floor, try await startRank(for: user, priority: priority, on: database))
                // The user's queued jobs from that turn on have a lower priority: they move back.
                if let user {
                    try await database.query(
                        "UPDATE jobs SET fair_rank = fair_rank + \(count) WHERE state = 'queued' AND user_id = \(user) AND fair_rank >= \(start)")
                } else {
                    try await database.query(
                        "UPDATE jobs SET fair_rank = fair_rank + \(count) WHERE state = 'queued' AND user_id IS NULL AND fair_rank >= \(start)")
                }
                for (offset, index) in members.enumerated() { ranks[index] = start + Int64(offset) }
                floor = start + count
            }
        }
        return ranks
    }

    /// The first turn for a job of `user` with `priority`: after the user's queued jobs of that priority or more, but
    /// not before the queue's head.
    private static func startRank(for user: UUID?, priority: Int, on database: Database) async throws -> Int64 {
        // `user_id = …` and `IS NULL` apart, so that each is an index scan on (user_id, fair_rank).
        let rows: PostgresRowSequence
        if let user {
            rows = try await database.query(
                """
                SELECT greatest(
                    (SELECT min(fair_rank) FROM jobs WHERE state = 'queued'),
                    (SELECT max(fair_rank) + 1 FROM jobs WHERE state = 'queued' AND user_id = \(user) AND priority >= \(Int32(priority))),
                    0)
                """
            )
        } else {
            rows = try await database.query(
                """
                SELECT greatest(
                    (SELECT min(fair_rank) FROM jobs WHERE state = 'queued'),
                    (SELECT max(fair_rank) + 1 FROM jobs WHERE state = 'queued' AND user_id IS NULL AND priority >= \(Int32(priority))),
                    0)
                """
            )
        }
        for try await rank in rows.decode(Int64.self) { return rank }
        return 0
    }

    // MARK: Claim and lease

    /// Claims up to `limit` of the best due jobs for `worker`, each with its own new lease.
    /// - Parameters:
    ///   - worker: A name for the claimant (host and worker number), shown in listings.
    ///   - kinds: Only these kinds; `nil` for all.
    ///   - limit: At most this many jobs, `1...1000`.
    /// - Returns: The claimed jobs in queue order; empty when nothing is due.
    public func claim(worker: String, kinds: Set<JobKind>? = nil, limit: Int, on database: Database) async throws(StorageError) -> [ClaimedJob] {
        let limit = Int64(min(max(limit, 1), 1000))
        let lease = configuration.leaseDuration.milliseconds
        let kindList = (kinds ?? Set(JobKind.allCases)).map(\.rawValue).sorted()
        return try await withStorageErrors {
            let rows = try await database.execute(
                JobStatements.Claim(leaseMilliseconds: lease, worker: worker, kinds: kindList, limit: limit))
            var claimed: [(job: ClaimedJob, rank: Int64)] = []
            for try await row in rows {
                guard let kind = JobKind(rawValue: row.2) else { continue }
                let job = ClaimedJob(
                    lease: JobLease(jobID: row.0, leaseID: row.1), kind: kind, payload: row.3, attempt: Int(row.4),
                    maxAttempts: Int(row.5), userID: row.6, projectID: row.7, imageID: row.8, createdAt: row.9)
                claimed.append((job, row.11))
            }
            // RETURNING does not keep the subquery's order.
            claimed.sort { a, b in
                if a.rank != b.rank { return a.rank < b.rank }
                return a.job.createdAt < b.job.createdAt
            }
            return claimed.map(\.job)
        }
    }

    /// Claims the best due job, if any.
    public func claim(worker: String, kinds: Set<JobKind>? = nil, on database: Database) async throws(StorageError) -> ClaimedJob? {
        try await claim(worker: worker, kinds: kinds, limit: 1, on: database).first
    }

    /// Extends a lease by the configured duration from now.
    /// - Returns: `false` when the lease is lost (expired, cancelled, or the job was claimed again): stop working.
    public func heartbeat(_ lease: JobLease, on database: Database) async throws(StorageError) -> Bool {
        let duration = configuration.leaseDuration.milliseconds
        return try await withStorageErrors {
            let rows = try await database.execute(JobStatements.Heartbeat(leaseMilliseconds: duration, lease: lease))
            for try await _ in rows { return true }
            return false
        }
    }

    // MARK: Finish

    /// Marks a job done.
    /// - Throws: `StorageError.leaseLost` when the lease expired, the job was cancelled or claimed again.
    public func complete(_ lease: JobLease, on database: Database) async throws(StorageError) {
        // One autocommit statement: nothing else has to commit with it.
        try await withStorageErrors {
            for try await _ in try await database.execute(JobStatements.Complete(lease: lease)) { return }
            throw StorageError.leaseLost(jobID: lease.jobID.uuidString.lowercased())
        }
    }

    /// Marks a job done and claims the next due job in the same statement: one round trip and one commit per job
    /// for workers whose jobs store nothing else.
    /// - Returns: Whether the job was completed (`false`: the lease was lost, nothing changed for it) and the next job.
    public func completeAndClaimNext(
        _ lease: JobLease,
        worker: String,
        kinds: Set<JobKind>? = nil,
        on database: Database
    ) async throws(StorageError) -> (completed: Bool, next: ClaimedJob?) {
        let statement = JobStatements.CompleteAndClaim(
            lease: lease, leaseMilliseconds: configuration.leaseDuration.milliseconds, worker: worker,
            kinds: (kinds ?? Set(JobKind.allCases)).map(\.rawValue).sorted())
        do {
            return try await Self.completeAndClaim(statement, on: database)
        } catch .database(sqlState: "40P01") {
            // Holding two row locks in one statement can deadlock with another worker's; PostgreSQL aborted this
            // statement as a whole, so nothing changed: finish the same work in two single-lock statements.
            database.logger.debug("complete-and-claim deadlocked; retrying as two statements")
            var completed = true
            do {
                try await complete(lease, on: database)
            } catch .leaseLost {
                completed = false
            }
            return (completed, try await claim(worker: worker, kinds: kinds, on: database))
        }
    }

    private static func completeAndClaim(
        _ statement: JobStatements.CompleteAndClaim, on database: Database
    ) async throws(StorageError) -> (completed: Bool, next: ClaimedJob?) {
        try await withStorageErrors {
            for try await row in try await database.execute(statement) {
                var next: ClaimedJob?
                if let id = row.1, let leaseID = row.2, let kindName = row.3, let kind = JobKind(rawValue: kindName),
                    let payload = row.4, let attempt = row.5, let maxAttempts = row.6, let createdAt = row.10
                {
                    next = ClaimedJob(
                        lease: JobLease(jobID: id, leaseID: leaseID), kind: kind, payload: payload, attempt: Int(attempt),
                        maxAttempts: Int(maxAttempts), userID: row.7, projectID: row.8, imageID: row.9, createdAt: createdAt)
                }
                return (row.0 > 0, next)
            }
            return (false, nil)
        }
    }

    /// Marks a job done and runs `body` in the same transaction, so a result is stored only by the lease holder.
    ///
    /// The job row is locked first; if the lease is lost, `body` does not run and nothing is stored.
    /// - Throws: `StorageError.leaseLost`, or what `body` throws (mapped to `StorageError`), rolling everything back.
    public func complete<Result: Sendable>(
        _ lease: JobLease,
        on database: Database,
        storing body: (Database) async throws -> Result
    ) async throws(StorageError) -> Result {
        try await database.transaction { transaction in
            try await complete(lease, on: transaction)
            return try await body(transaction)
        }
    }

    /// Records a failed attempt: back to the queue after a backoff, or `failed` when attempts are used up or the
    /// error is permanent. A segmentation superseded by a newer queued request is cancelled instead.
    /// - Parameters:
    ///   - lease: The lease of the failed attempt.
    ///   - error: What went wrong, kept as `lastError` (cut to 2,000 characters).
    ///   - permanent: Do not retry (bad input that another attempt cannot fix).
    /// - Throws: `StorageError.leaseLost` when the lease is no longer held.
    public func fail(_ lease: JobLease, error: String, permanent: Bool = false, on database: Database) async throws(StorageError) -> JobFailureOutcome
    {
        let message = String(error.prefix(2000))
        // The delay is computed for the attempt that failed; the row knows its number.
        let rows: [(String, Date)] = try await withStorageErrors {
            let attempt = try await currentAttempt(lease, on: database)
            let delay = configuration.retryDelay(afterAttempt: attempt).milliseconds
            let rows = try await database.query(
                """
                WITH changed AS (
                UPDATE jobs SET
                    state = CASE
                        WHEN \(permanent) OR attempt >= max_attempts THEN 'failed'
                        \(unescaped: Self.supersededSegmentation)
                        ELSE 'queued' END,
                    run_at = now() + \(delay) * interval '1 millisecond',
                    lease_id = NULL, lease_until = NULL, last_error = \(message), updated_at = now(),
                    finished_at = CASE WHEN \(permanent) OR attempt >= max_attempts THEN now() END
                WHERE id = \(lease.jobID) AND lease_id = \(lease.leaseID) AND state = 'running' AND lease_until >= now()
                RETURNING state, run_at, kind, image_id),
                \(unescaped: Self.imagesFollowTheirJobs)
                SELECT state, run_at FROM changed
                """
            )
            var result: [(String, Date)] = []
            for try await row in rows.decode((String, Date).self) { result.append(row) }
            return result
        }
        guard let (state, runAt) = rows.first else { throw .leaseLost(jobID: lease.jobID.uuidString.lowercased()) }
        switch state {
        case "queued":
            try? await notify(.segment, on: database)
            return .retrying(at: runAt)
        case "cancelled": return .superseded
        default: return .failed
        }
    }

    private func currentAttempt(_ lease: JobLease, on database: Database) async throws -> Int {
        let rows = try await database.query(
            "SELECT attempt FROM jobs WHERE id = \(lease.jobID) AND lease_id = \(lease.leaseID)"
        )
        for try await attempt in rows.decode(Int32.self) { return Int(attempt) }
        throw StorageError.leaseLost(jobID: lease.jobID.uuidString.lowercased())
    }

    /// Gives a job back without counting the attempt (a worker shutting down): it is claimable at once.
    /// - Returns: `false` when the lease was already lost.
    @discardableResult
    public func release(_ lease: JobLease, on database: Database) async throws(StorageError) -> Bool {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                WITH changed AS (
                UPDATE jobs SET
                    state = CASE
                        \(unescaped: Self.supersededSegmentation)
                        ELSE 'queued' END,
                    attempt = greatest(attempt - 1, 0), run_at = now(), lease_id = NULL, lease_until = NULL, updated_at = now(),
                    finished_at = NULL
                WHERE id = \(lease.jobID) AND lease_id = \(lease.leaseID) AND state = 'running'
                RETURNING state, kind, image_id),
                \(unescaped: Self.imagesFollowTheirJobs)
                SELECT state FROM changed
                """
            )
            var released = false
            for try await state in rows.decode(String.self) { released = state == "queued" || state == "cancelled" }
            if released { try? await notify(.segment, on: database) }
            return released
        }
    }

    /// Returns every job whose lease has expired to the queue (or to `failed` when that was its last attempt; an
    /// expired attempt counts). Run periodically by workers; safe to run from many processes at once.
    /// - Returns: The number of jobs whose lease was taken back.
    @discardableResult
    public func reclaimExpired(on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                WITH expired AS (
                    SELECT id FROM jobs WHERE state = 'running' AND lease_until < now()
                    ORDER BY lease_until LIMIT 1000 FOR UPDATE SKIP LOCKED),
                changed AS (
                UPDATE jobs SET
                    state = CASE
                        WHEN attempt >= max_attempts THEN 'failed'
                        \(unescaped: Self.supersededSegmentation)
                        ELSE 'queued' END,
                    last_error = 'the worker stopped renewing its lease (attempt ' || attempt || ')',
                    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
                    run_at = now(), lease_id = NULL, lease_until = NULL, updated_at = now()
                FROM expired WHERE jobs.id = expired.id
                RETURNING jobs.state, jobs.kind, jobs.image_id),
                \(unescaped: Self.imagesFollowTheirJobs)
                SELECT state FROM changed
                """
            )
            var count = 0
            var requeued = false
            for try await state in rows.decode(String.self) {
                count += 1
                if state == "queued" { requeued = true }
            }
            if requeued { try? await notify(.segment, on: database) }
            if count > 0 { database.logger.info("reclaimed expired job leases", metadata: ["jobs.count": "\(count)"]) }
            return count
        }
    }

    // MARK: Administration

    /// Refreshes the planner's statistics for the queue (`ANALYZE jobs`), as autovacuum does a while after a burst.
    ///
    /// Until then a table filled in one burst looks empty to the planner, which may claim with a scan and sort of every
    /// queued row instead of the claim index (bench-queue saw 350–430 jobs/s instead of 1,800–3,000 in such runs).
    public func refreshStatistics(on database: Database) async throws(StorageError) {
        try await withStorageErrors { try await database.query("ANALYZE jobs").drain() }
    }

    /// Cancels the queued (not yet running) segmentation jobs of a project inside the caller's transaction, and gives
    /// their images back the status they had before queueing (`ImageRepository.restoreStatusAfterCancel`).
    ///
    /// The images are locked first, in id order, as queueing does (images, then jobs), so that a cancel and a request
    /// for the same images wait for each other instead of deadlocking.
    /// - Returns: The images whose jobs were cancelled.
    public func cancelQueuedSegmentations(
        project: UUID,
        on database: Database
    ) async throws(StorageError) -> [UUID] {
        let images = try await withStorageErrors {
            try await database.query(
                """
                SELECT i.id FROM images i
                WHERE i.project_id = \(project) AND EXISTS (
                    SELECT 1 FROM jobs j WHERE j.image_id = i.id AND j.kind = 'segment' AND j.state = 'queued')
                ORDER BY i.id
                FOR NO KEY UPDATE OF i
                """
            ).drain()
            let rows = try await database.query(
                """
                UPDATE jobs SET state = 'cancelled', finished_at = now(), updated_at = now()
                WHERE project_id = \(project) AND kind = 'segment' AND state = 'queued'
                RETURNING image_id
                """
            )
            var images: [UUID] = []
            for try await image in rows.decode(UUID?.self) { if let image { images.append(image) } }
            return images
        }
        try await ImageRepository.restoreStatusAfterCancel(ids: images, projectID: project, on: database)
        return images
    }

    /// Counts jobs by state.
    /// - Parameter projects: Only these projects' jobs; `nil` for the whole queue.
    public func stats(projects: [UUID]? = nil, on database: Database) async throws(StorageError) -> QueueStats {
        try await withStorageErrors {
            if let projects {
                return try await Self.countByState(
                    database.query(
                        """
                        SELECT state, count(*) FROM jobs
                        WHERE state IN ('queued', 'running', 'failed') AND project_id = ANY(\(projects))
                        GROUP BY state
                        """))
            }
            return try await Self.countByState(
                database.query(
                    "SELECT state, count(*) FROM jobs WHERE state IN ('queued', 'running', 'failed') GROUP BY state"))
        }
    }

    /// How many jobs are in `state` (finished ones included, until `deleteFinished` removes them).
    public func count(state: JobState, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query("SELECT count(*)::int8 FROM jobs WHERE state = \(state.rawValue)")
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// Counts jobs by kind and state over the whole queue (`/metrics`); kinds without jobs are absent.
    public func statsByKind(on database: Database) async throws(StorageError) -> [JobKind: QueueStats] {
        try await withStorageErrors {
            let rows = try await database.query(
                "SELECT kind, state, count(*) FROM jobs WHERE state IN ('queued', 'running', 'failed') GROUP BY kind, state")
            var stats: [JobKind: QueueStats] = [:]
            for try await (kind, state, count) in rows.decode((String, String, Int64).self) {
                guard let kind = JobKind(rawValue: kind) else { continue }
                switch state {
                case "queued": stats[kind, default: QueueStats()].queued = Int(count)
                case "running": stats[kind, default: QueueStats()].running = Int(count)
                default: stats[kind, default: QueueStats()].failed = Int(count)
                }
            }
            return stats
        }
    }

    /// Counts jobs by state over the projects `memberID` belongs to, in one query.
    public func stats(memberID: UUID, on database: Database) async throws(StorageError) -> QueueStats {
        try await withStorageErrors {
            try await Self.countByState(
                database.query(
                    """
                    SELECT j.state, count(*) FROM jobs j JOIN project_members m ON m.project_id = j.project_id
                    WHERE m.user_id = \(memberID) AND j.state IN ('queued', 'running', 'failed')
                    GROUP BY j.state
                    """))
        }
    }

    private static func countByState(_ rows: PostgresRowSequence) async throws -> QueueStats {
        var stats = QueueStats()
        for try await (state, count) in rows.decode((String, Int64).self) {
            switch state {
            case "queued": stats.queued = Int(count)
            case "running": stats.running = Int(count)
            default: stats.failed = Int(count)
            }
        }
        return stats
    }

    /// Reads one job.
    /// - Throws: `StorageError.notFound` for an unknown id.
    public func job(_ id: UUID, on database: Database) async throws(StorageError) -> JobRecord {
        let page: [JobRecord] = try await withStorageErrors {
            try await records(where: "id = $1", binding: id, on: database)
        }
        guard let job = page.first else { throw .notFound(entity: "job", id: id.uuidString.lowercased()) }
        return job
    }

    /// Lists jobs, newest first.
    /// - Parameters:
    ///   - state: Only jobs in this state; `nil` for all.
    ///   - project: Only this project's jobs.
    ///   - request: Which page.
    public func list(
        state: JobState? = nil, project: UUID? = nil, page request: PageRequest = .first,
        on database: Database
    ) async throws(StorageError) -> Page<
        JobRecord
    > {
        let rows: [JobRecord] = try await withStorageErrors {
            var query = PostgresQuery(unsafeSQL: "")
            var bindings = PostgresBindings()
            var conditions: [String] = []
            if let state {
                bindings.append(state.rawValue)
                conditions.append("state = $\(bindings.count)")
            }
            if let project {
                bindings.append(project)
                conditions.append("project_id = $\(bindings.count)")
            }
            if let cursor = request.cursor {
                bindings.append(cursor.timestamp)
                bindings.append(cursor.id)
                conditions.append("(created_at, id) < ($\(bindings.count - 1), $\(bindings.count))")
            }
            bindings.append(Int64(request.limit + 1))
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            query = PostgresQuery(
                unsafeSQL: "SELECT \(Self.columns) FROM jobs \(filter) ORDER BY created_at DESC, id DESC LIMIT $\(bindings.count)",
                binds: bindings
            )
            return try await Self.decodeRecords(database.query(query))
        }
        return Page(fetched: rows, request: request) { PageCursor(timestamp: $0.createdAtTimestamp, id: $0.id) }
    }

    /// Deletes finished jobs (succeeded, failed, cancelled) that finished before `date`
    /// (`segctl queue prune`): the queue keeps them for `segctl queue list` and `/metrics` until then.
    /// - Returns: How many were deleted.
    @discardableResult
    public func deleteFinished(before date: Date, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                DELETE FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < \(date)
                RETURNING id
                """
            )
            var count = 0
            for try await _ in rows.decode(UUID.self) { count += 1 }
            return count
        }
    }

    /// Wakes workers listening on the queue's channel.
    public func notify(_ kind: JobKind, on database: Database) async throws(StorageError) {
        let channel = configuration.notificationChannel
        try await withStorageErrors {
            try await database.query("SELECT pg_notify(\(channel), \(kind.rawValue))")
        }
    }

    // MARK: Shared SQL

    /// The `CASE` branch that cancels a segmentation whose image has a newer queued request (inside `UPDATE jobs`).
    private static let supersededSegmentation = """
        WHEN kind = 'segment' AND EXISTS (
            SELECT 1 FROM jobs q WHERE q.image_id = jobs.image_id AND q.kind = 'segment' AND q.state = 'queued')
            THEN 'cancelled'
        """

    /// The CTE that moves the images of the segmentations in `changed` (a CTE returning `state, kind, image_id`) to
    /// `failed` or back to `queued`, as their jobs went.
    private static let imagesFollowTheirJobs = """
        images_changed AS (
        UPDATE images SET status = CASE WHEN changed.state = 'failed' THEN 'failed' ELSE 'queued' END, updated_at = now()
        FROM changed
        WHERE changed.kind = 'segment' AND images.id = changed.image_id AND images.status IN ('queued', 'processing')
        RETURNING images.id)
        """

    // MARK: Rows

    private static let columns = """
        id, kind, state, payload::text, priority, user_id, project_id, image_id, attempt, max_attempts, run_at, lease_until,
        worker, last_error, created_at, finished_at
        """

    private func records(where condition: String, binding id: UUID, on database: Database) async throws -> [JobRecord] {
        var bindings = PostgresBindings()
        bindings.append(id)
        let query = PostgresQuery(unsafeSQL: "SELECT \(Self.columns) FROM jobs WHERE \(condition)", binds: bindings)
        return try await Self.decodeRecords(database.query(query))
    }

    private static func decodeRecords(_ rows: PostgresRowSequence) async throws -> [JobRecord] {
        var records: [JobRecord] = []
        for try await row in rows {
            let columns = try row.decode(
                (UUID, String, String, String, Int32, UUID?, UUID?, UUID?, Int32, Int32, Date, Date?, String?, String?, Timestamp, Date?)
                    .self
            )
            guard let kind = JobKind(rawValue: columns.1), let state = JobState(rawValue: columns.2) else {
                throw StorageError.database(sqlState: nil)
            }
            records.append(
                JobRecord(
                    id: columns.0, kind: kind, state: state, payload: columns.3, priority: Int(columns.4), userID: columns.5,
                    projectID: columns.6, imageID: columns.7, attempt: Int(columns.8), maxAttempts: Int(columns.9),
                    runAt: columns.10, leaseUntil: columns.11, worker: columns.12, lastError: columns.13,
                    createdAt: columns.14.date, finishedAt: columns.15, createdAtTimestamp: columns.14))
        }
        return records
    }
}
