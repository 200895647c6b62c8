import Logging
import PostgresNIO
import Synchronization

/// Does the work of claimed jobs for a `JobWorkerPool`.
public protocol JobHandler: Sendable {
    /// Runs one claimed job.
    ///
    /// To store a result, call `context.complete(storing:)`: the result and the job's completion commit together,
    /// and only while the lease is held. Returning without calling it completes the job with nothing stored.
    /// Throwing fails the attempt: it is retried with backoff unless the error is a `PermanentJobError`. The task
    /// is cancelled when the lease is lost or the pool shuts down.
    func run(_ job: ClaimedJob, context: JobContext) async throws
}

/// An error that another attempt cannot fix (the image cannot be decoded, the payload is invalid): the job ends
/// `failed` at once with this message.
public struct PermanentJobError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, kept as the job's last error.
    public var message: String

    /// A permanent failure with `message`.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// What a `JobHandler` can do with its job besides working on it.
public struct JobContext: Sendable {
    /// The queue the job came from.
    public let queue: JobQueue
    /// The job's lease.
    public let lease: JobLease
    /// The pool's database, logging with the job's logger (its id, kind and attempt in every line).
    public let database: Database
    let completion: CompletionFlag

    /// Completes the job and runs `body` in the same transaction (store the result there).
    /// - Throws: `StorageError.leaseLost` when the lease is no longer held (nothing is stored), or what `body` throws.
    public func complete<Result: Sendable>(storing body: (Database) async throws -> Result) async throws(StorageError) -> Result {
        let result = try await queue.complete(lease, on: database, storing: body)
        completion.set()
        return result
    }
}

/// Whether a handler completed its job itself. Shared between the handler's task and the pool's.
final class CompletionFlag: Sendable {
    private let done = Mutex(false)

    func set() { done.withLock { $0 = true } }
    var isSet: Bool { done.withLock { $0 } }
}

/// Runs `concurrency` workers that claim jobs from a `JobQueue` and hand them to a `JobHandler`.
///
/// Each worker claims one job at a time, renews its lease every third of the lease duration while the handler runs,
/// and completes, retries or fails it from the handler's outcome. Idle workers sleep until a `JobWakeups`
/// notification or `idlePoll`. One worker of each pool also returns expired leases to the queue. When `run()`'s task
/// is cancelled, workers stop claiming, running handlers are cancelled, and their jobs are released (given back
/// without counting the attempt) so that another process can take them at once.
///
/// ## Usage
/// ```swift
/// let pool = JobWorkerPool(
///     queue: queue, wakeups: wakeups, name: "host-1", concurrency: 4, handler: SegmentHandler(),
///     database: Database(client: client, logger: logger))
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await wakeups.run() }
///     group.addTask { await pool.run() }
/// }
/// ```
public struct JobWorkerPool<Handler: JobHandler>: Sendable {
    /// The queue to work.
    public let queue: JobQueue
    /// Notifications that wake idle workers (optional: without them workers poll every `idlePoll`).
    public let wakeups: JobWakeups?
    /// This process's name in the jobs' `worker` column (`name/0`, `name/1`, …).
    public let name: String
    /// Workers in this pool.
    public let concurrency: Int
    /// Only claim these kinds (`nil`: all).
    public let kinds: Set<JobKind>?
    /// The longest an idle worker sleeps before it looks again.
    public let idlePoll: Duration
    /// The work.
    public let handler: Handler
    /// Where the workers claim and finish jobs; its logger is the pool's.
    public let database: Database
    private var logger: Logger { database.logger }

    /// A pool of `concurrency` workers.
    public init(
        queue: JobQueue,
        wakeups: JobWakeups?,
        name: String,
        concurrency: Int,
        kinds: Set<JobKind>? = nil,
        idlePoll: Duration = .seconds(5),
        handler: Handler,
        database: Database
    ) {
        self.queue = queue
        self.wakeups = wakeups
        self.name = name
        self.concurrency = max(1, concurrency)
        self.kinds = kinds
        self.idlePoll = idlePoll
        self.handler = handler
        self.database = database
    }

    /// Runs the workers until the task is cancelled.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for slot in 0..<concurrency {
                group.addTask { await self.work(slot: slot) }
            }
        }
    }

    private func work(slot: Int) async {
        let worker = "\(name)/\(slot)"
        let clock = ContinuousClock()
        let reclaimEvery = queue.configuration.leaseDuration / 2
        var nextReclaim = clock.now
        while !Task.isCancelled {
            if slot == 0, clock.now >= nextReclaim {
                nextReclaim = clock.now.advanced(by: reclaimEvery)
                do {
                    try await queue.reclaimExpired(on: database)
                } catch {
                    logger.warning("cannot reclaim expired leases", metadata: ["error": "\(error)"])
                }
            }
            var job: ClaimedJob?
            do {
                job = try await queue.claim(worker: worker, kinds: kinds, on: database)
            } catch {
                if Task.isCancelled { break }
                logger.warning("cannot claim a job", metadata: ["worker": "\(worker)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            guard job != nil else {
                if let wakeups {
                    await wakeups.wait(upTo: idlePoll)
                } else {
                    try? await Task.sleep(for: idlePoll)
                }
                continue
            }
            // A job that completes without storing anything claims its successor in the same statement.
            while let current = job {
                job = await process(current, worker: worker)
            }
        }
    }

    private enum Step: Sendable {
        case finished(Result<Void, any Error>)
        case leaseLost
    }

    /// Runs one job and finishes it; returns the next job when finishing claimed one.
    private func process(_ job: ClaimedJob, worker: String) async -> ClaimedJob? {
        var logger = logger
        logger[metadataKey: "job.id"] = "\(job.id)"
        logger[metadataKey: "job.kind"] = "\(job.kind.rawValue)"
        logger[metadataKey: "job.attempt"] = "\(job.attempt)"
        let database = database.logging(to: logger)
        let context = JobContext(queue: queue, lease: job.lease, database: database, completion: CompletionFlag())
        let heartbeat = queue.configuration.leaseDuration / 3
        let step: Step = await withTaskGroup(of: Step?.self) { group in
            group.addTask {
                do {
                    try await handler.run(job, context: context)
                    return .finished(.success(()))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: heartbeat)
                    if Task.isCancelled { return nil }
                    do {
                        if try await queue.heartbeat(job.lease, on: database) == false { return .leaseLost }
                    } catch {
                        // A missed heartbeat is not yet a lost lease; the next one may get through.
                        continue
                    }
                }
                return nil
            }
            var outcome: Step = .leaseLost
            for await case let step? in group {
                outcome = step
                break
            }
            group.cancelAll()
            return outcome
        }
        let shuttingDown = Task.isCancelled
        // Finishing must reach the database even while this task is being cancelled.
        let finisher = queue
        let kinds = kinds
        return await Task { () -> ClaimedJob? in
            switch step {
            case .leaseLost:
                logger.warning("lost the lease on a running job; its result is discarded")
            case .finished(.success):
                guard !context.completion.isSet else { return nil }
                do {
                    if shuttingDown {
                        try await finisher.complete(job.lease, on: database)
                        return nil
                    }
                    let (completed, next) = try await finisher.completeAndClaimNext(job.lease, worker: worker, kinds: kinds, on: database)
                    if !completed { logger.warning("lost the lease on a running job; its result is discarded") }
                    return next
                } catch {
                    logger.warning("could not complete a job", metadata: ["error": "\(error)"])
                }
            case .finished(.failure(let error)):
                if case .leaseLost = error as? StorageError {
                    logger.warning("lost the lease on a running job; its result was not stored")
                } else if shuttingDown {
                    _ = try? await finisher.release(job.lease, on: database)
                } else {
                    let permanent = error is PermanentJobError
                    do {
                        let outcome = try await finisher.fail(job.lease, error: "\(error)", permanent: permanent, on: database)
                        logger.info("job attempt failed", metadata: ["job.outcome": "\(outcome)", "error": "\(error)"])
                    } catch {
                        logger.warning("could not record a failed attempt", metadata: ["error": "\(error)"])
                    }
                }
            }
            return nil
        }.value
    }
}
