import Foundation
import Logging
import PostgresNIO
import SegTestSupport
import Synchronization
import Testing

@testable import SegStorage

/// The job queue against a real PostgreSQL: exactly-once completion under concurrency, leases, retries, fairness.
@Suite(.timeLimit(.minutes(5))) struct JobQueueTests {
    static let logger: Logger = {
        var logger = Logger(label: "seg.test.jobs")
        logger.logLevel = .critical
        return logger
    }()

    /// Fast backoff so that retries happen within a test; leases long enough for a loaded machine.
    static let fast = JobQueueConfiguration(
        leaseDuration: .seconds(10), retryBaseDelay: .milliseconds(20), retryMaximumDelay: .milliseconds(80))

    /// Leases that expire within a test (used only where expiry is the point).
    static let expiring = JobQueueConfiguration(
        leaseDuration: .milliseconds(600), retryBaseDelay: .milliseconds(20), retryMaximumDelay: .milliseconds(80))

    @Test func fourWorkersCompleteTwoThousandJobsExactlyOnce() async throws {
        try await withTestDatabase { client in
            // setup: a table the handler writes in the completion transaction, with no unique constraint,
            // so a job completed twice would leave two rows.
            try await client.query("CREATE TABLE test_results (job_id uuid NOT NULL, worker text NOT NULL)")
            let user = try await insertUser(email: "load@example.org", client: client)
            let queue = JobQueue(configuration: .init(leaseDuration: .seconds(30)))
            let database = Database(client: client, logger: Self.logger)
            let jobs = (0..<2000).map { NewJob(kind: .export, payload: "{\"n\": \($0)}", userID: user) }
            let enqueued = try await queue.enqueue(jobs, on: database)
            #expect(Set(enqueued.map(\.id)).count == 2000)
            let handler = RecordingHandler()

            // MUT: four pools (as four processes would) with one worker each, until the queue is empty
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<4 {
                    let pool = JobWorkerPool(
                        queue: queue, wakeups: nil, name: "w\(index)", concurrency: 1, idlePoll: .milliseconds(20),
                        handler: handler, database: Database(client: client, logger: Self.logger))
                    group.addTask { await pool.run() }
                }
                group.addTask {
                    while try await queue.stats(on: database) != QueueStats() {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                try await group.next()
                group.cancelAll()
            }

            // validate
            let rows = try await client.query(
                "SELECT count(*), count(DISTINCT job_id), count(DISTINCT worker) FROM test_results")
            for try await (total, distinct, workers) in rows.decode((Int64, Int64, Int64).self) {
                #expect(total == 2000)
                #expect(distinct == 2000)
                #expect(workers == 4)
            }
            let states = try await client.query("SELECT state, count(*) FROM jobs GROUP BY state")
            for try await (state, count) in states.decode((String, Int64).self) {
                #expect(state == "succeeded")
                #expect(count == 2000)
            }
            #expect(handler.runs == 2000)
        }
    }

    @Test func expiredLeaseIsReclaimedAndTheLateWorkerCannotComplete() async throws {
        try await withTestDatabase { client in
            // setup
            let queue = JobQueue(configuration: Self.expiring)
            let database = Database(client: client, logger: Self.logger)
            let id = try #require(try await queue.enqueue([NewJob(kind: .export)], on: database).first?.id)
            let first = try #require(try await queue.claim(worker: "stalled", on: database))
            #expect(first.id == id)
            #expect(try await queue.claim(worker: "other", on: database) == nil)

            // MUT: the first worker stops heart-beating past its lease
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await queue.heartbeat(first.lease, on: database) == false)
            #expect(try await queue.reclaimExpired(on: database) == 1)
            // The rescuer's own lease is long, so a loaded machine cannot expire it before it completes.
            let rescuer = JobQueue(configuration: .init(leaseDuration: .seconds(60)))
            let second = try #require(try await rescuer.claim(worker: "rescuer", on: database))
            #expect(second.id == id)
            #expect(second.attempt == 2)
            #expect(second.lease != first.lease)

            // validate: the late worker can neither store nor fail; the rescuer completes
            let stored = Mutex(false)
            let late = try await storageError {
                try await queue.complete(first.lease, on: database) { _ in stored.withLock { $0 = true } }
            }
            #expect(late == .leaseLost(jobID: id.uuidString.lowercased()))
            #expect(stored.withLock { $0 } == false)
            let lateFailure = try await storageError { _ = try await queue.fail(first.lease, error: "late", on: database) }
            #expect(lateFailure == .leaseLost(jobID: id.uuidString.lowercased()))
            try await rescuer.complete(second.lease, on: database)
            let record = try await queue.job(id, on: database)
            #expect(record.state == .succeeded)
            #expect(record.attempt == 2)
            #expect(record.worker == "rescuer")
        }
    }

    @Test func heartbeatsKeepALongJobAlive() async throws {
        try await withTestDatabase { client in
            // setup: a 20 s lease (renewed every 6.7 s: generous, because synchronous CPU-bound tests running in
            // parallel can hold both cooperative threads of a 2-core machine for over 10 s; a full parallel run beside
            // a release build once missed a 10 s lease) and a job that takes over twice as long
            let configuration = JobQueueConfiguration(leaseDuration: .seconds(20))
            let queue = JobQueue(configuration: configuration)
            let database = Database(client: client, logger: Self.logger)
            let id = try #require(try await queue.enqueue([NewJob(kind: .export)], on: database).first?.id)
            let handler = SlowHandler(duration: .seconds(45))
            let pool = JobWorkerPool(
                queue: queue, wakeups: nil, name: "slow", concurrency: 1, idlePoll: .milliseconds(20), handler: handler,
                database: Database(client: client, logger: Self.logger))
            let rival = JobQueue(configuration: configuration)

            // MUT: while it runs, another process keeps reclaiming expired leases and trying to claim
            let task = Task { await pool.run() }
            var stolen = 0
            for _ in 0..<45 {
                try await Task.sleep(for: .seconds(1))
                stolen += try await rival.reclaimExpired(on: database)
                if try await rival.claim(worker: "rival", on: database) != nil { stolen += 1 }
            }
            try await eventually("the job to succeed") { try await queue.job(id, on: database).state == .succeeded }
            task.cancel()
            await task.value

            // validate
            #expect(stolen == 0)
            #expect(try await queue.job(id, on: database).attempt == 1)
            #expect(handler.runs == 1)
        }
    }

    @Test func alwaysFailingJobEndsFailedAfterItsAttemptsWithItsError() async throws {
        try await withTestDatabase { client in
            // setup
            let queue = JobQueue(configuration: Self.fast)
            let database = Database(client: client, logger: Self.logger)
            let id = try #require(try await queue.enqueue([NewJob(kind: .export, maxAttempts: 4)], on: database).first?.id)
            let handler = FailingHandler()
            let pool = JobWorkerPool(
                queue: queue, wakeups: nil, name: "f", concurrency: 2, idlePoll: .milliseconds(10), handler: handler,
                database: Database(client: client, logger: Self.logger))

            // MUT
            let task = Task { await pool.run() }
            try await eventually("the job to fail for good") { try await queue.job(id, on: database).state == .failed }
            task.cancel()
            await task.value

            // validate
            let record = try await queue.job(id, on: database)
            #expect(record.attempt == 4)
            #expect(record.lastError == "scanner offline (attempt 4)")
            #expect(record.finishedAt != nil)
            #expect(handler.runs == 4)
            #expect(try await queue.stats(on: database) == QueueStats(queued: 0, running: 0, failed: 1))
        }
    }

    @Test func failedAttemptWaitsForItsBackoffAndPermanentErrorsDoNotRetry() async throws {
        try await withTestDatabase { client in
            // setup: a 60 s base delay, so the retry is far in the future whatever the machine's load
            let configuration = JobQueueConfiguration(leaseDuration: .seconds(10), retryBaseDelay: .seconds(60))
            let queue = JobQueue(configuration: configuration)
            let database = Database(client: client, logger: Self.logger)
            _ = try await queue.enqueue([NewJob(kind: .export), NewJob(kind: .segment)], on: database)

            // MUT + validate: a transient failure is retried no earlier than half the delay (jitter) after the
            // failure began and no later than the whole delay after it was recorded; bounds that hold however slow
            // the call is (0.1 s allows for the two clocks' rounding)
            let first = try #require(try await queue.claim(worker: "w", kinds: [.export], on: database))
            let before = Date()
            let outcome = try await queue.fail(first.lease, error: "timeout", on: database)
            let after = Date()
            guard case .retrying(let at) = outcome else {
                Issue.record("expected a retry")
                return
            }
            #expect(at.timeIntervalSince(before) >= 30 - 0.1)
            #expect(at.timeIntervalSince(after) <= 60 + 0.1)
            #expect(try await queue.claim(worker: "w", kinds: [.export], on: database) == nil)

            // a permanent failure ends the job at once, attempts left or not
            let second = try #require(try await queue.claim(worker: "w", kinds: [.segment], on: database))
            #expect(try await queue.fail(second.lease, error: "not an image", permanent: true, on: database) == .failed)
            #expect(try await queue.job(second.id, on: database).state == .failed)
            #expect(try await queue.job(second.id, on: database).lastError == "not an image")
        }
    }

    @Test func retryDelayDoublesUpToTheCapWithJitter() {
        let configuration = JobQueueConfiguration(retryBaseDelay: .seconds(5), retryMaximumDelay: .seconds(60))
        #expect(configuration.retryDelay(afterAttempt: 1, unit: 0.999_999) == .milliseconds(5000))
        #expect(configuration.retryDelay(afterAttempt: 1, unit: 0) == .milliseconds(2500))
        #expect(configuration.retryDelay(afterAttempt: 3, unit: 0.999_999) == .milliseconds(20000))
        #expect(configuration.retryDelay(afterAttempt: 10, unit: 0.999_999) == .milliseconds(60000))
        #expect(configuration.retryDelay(afterAttempt: 10_000, unit: 0) == .milliseconds(30000))
    }

    @Test func userWithOneJobIsNotStarvedByAUserWithAThousand() async throws {
        try await withTestDatabase { client in
            // setup
            let busy = try await insertUser(email: "busy@example.org", client: client)
            let quiet = try await insertUser(email: "quiet@example.org", client: client)
            let late = try await insertUser(email: "late@example.org", client: client)
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            _ = try await queue.enqueue((0..<1000).map { _ in NewJob(kind: .export, userID: busy) }, on: database)
            let quietJob = try #require(try await queue.enqueue([NewJob(kind: .export, userID: quiet)], on: database).first?.id)

            // MUT + validate: the quiet user's job is among the first two claimed, not the 1,001st
            let firstTwo = try await queue.claim(worker: "w", limit: 1, on: database) + queue.claim(worker: "w", limit: 1, on: database)
            #expect(firstTwo.map(\.id).contains(quietJob))

            // after 100 of the busy user's jobs ran, a newcomer is still served within two claims
            _ = try await queue.claim(worker: "w", limit: 100, on: database)
            let lateJob = try #require(try await queue.enqueue([NewJob(kind: .export, userID: late)], on: database).first?.id)
            let nextTwo = try await queue.claim(worker: "w", limit: 1, on: database) + queue.claim(worker: "w", limit: 1, on: database)
            #expect(nextTwo.map(\.id).contains(lateJob))
            #expect(nextTwo.allSatisfy { $0.userID == busy || $0.id == lateJob })
        }
    }

    @Test func aPriorityFloodDoesNotPassAnotherUsersTurn() async throws {
        try await withTestDatabase { client in
            // setup: one user queues 1,000 jobs at the highest priority, then another user queues one
            let flooder = try await insertUser(email: "flood@example.org", client: client)
            let other = try await insertUser(email: "other@example.org", client: client)
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            _ = try await queue.enqueue((0..<1000).map { _ in NewJob(kind: .export, priority: 100, userID: flooder) }, on: database)
            let single = try #require(try await queue.enqueue([NewJob(kind: .export, userID: other)], on: database).first?.id)

            // MUT
            let nextTwo = try await queue.claim(worker: "w", limit: 1, on: database) + queue.claim(worker: "w", limit: 1, on: database)

            // validate: the other user's job is among the next two, priority notwithstanding
            #expect(nextTwo.map(\.id).contains(single))
        }
    }

    @Test func aUsersLaterPriorityJobGoesAheadOfThatUsersOwnBacklogOnly() async throws {
        try await withTestDatabase { client in
            // setup: A has five ordinary jobs queued, B two; then A asks for one urgent job
            let a = try await insertUser(email: "a@example.org", client: client)
            let b = try await insertUser(email: "b@example.org", client: client)
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let backlog = try await queue.enqueue((0..<5).map { _ in NewJob(kind: .export, userID: a) }, on: database).map(\.id)
            let bJobs = try await queue.enqueue((0..<2).map { _ in NewJob(kind: .export, userID: b) }, on: database).map(\.id)

            // MUT
            let urgent = try #require(try await queue.enqueue([NewJob(kind: .export, priority: 50, userID: a)], on: database).first?.id)

            // validate: A's urgent job takes A's first turn, A's backlog moves back by one, B's turns stay where they were
            var order: [UUID] = []
            while let job = try await queue.claim(worker: "w", on: database) { order.append(job.id) }
            #expect(order.filter { $0 == urgent || backlog.contains($0) } == [urgent] + backlog)
            #expect(order.firstIndex(of: urgent).map { $0 <= 1 } == true)
            #expect(order.firstIndex(of: bJobs[0]).map { $0 <= 1 } == true)
            #expect(order.firstIndex(of: bJobs[1]).map { $0 <= 3 } == true)
        }
    }

    @Test func priorityOrdersAUsersOwnJobs() async throws {
        try await withTestDatabase { client in
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let ids = try await queue.enqueue(
                [
                    NewJob(kind: .export, priority: 0), NewJob(kind: .export, priority: 5), NewJob(kind: .export, priority: -3),
                ], on: database
            ).map(\.id)
            var order: [UUID] = []
            while let job = try await queue.claim(worker: "w", on: database) { order.append(job.id) }
            #expect(order == [ids[1], ids[0], ids[2]])
            #expect(try await storageError { _ = try await queue.enqueue([NewJob(kind: .export, priority: 101)], on: database) } != nil)
        }
    }

    @Test func newSegmentationRequestReplacesThePendingOne() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await insertUser(email: "o@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            let image = try await insertImage(project: project, client: client)
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let first = try #require(
                try await queue.enqueue([NewJob(kind: .segment, payload: #"{"threshold": "otsu"}"#, userID: user, imageID: image)], on: database)
                    .first)
            #expect(!first.replacedPending)

            // MUT: a second request while the first is queued
            let second = try #require(
                try await queue.enqueue([NewJob(kind: .segment, payload: #"{"threshold": 90}"#, userID: user, imageID: image)], on: database).first)

            // validate: one job, with the new parameters
            #expect(second.replacedPending)
            #expect(second.id == first.id)
            let claimed = try #require(try await queue.claim(worker: "w", on: database))
            #expect(claimed.payload.contains("90"))
            #expect(try await queue.claim(worker: "w", on: database) == nil)

            // a request while it runs queues a new job; when the running one fails it is superseded, not retried
            let third = try #require(try await queue.enqueue([NewJob(kind: .segment, userID: user, imageID: image)], on: database).first)
            #expect(!third.replacedPending)
            #expect(third.id != claimed.id)
            #expect(try await queue.fail(claimed.lease, error: "oops", on: database) == .superseded)
            #expect(try await queue.job(claimed.id, on: database).state == .cancelled)
        }
    }

    @Test func completeAndClaimNextFinishesOneAndLeasesTheNext() async throws {
        try await withTestDatabase { client in
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let ids = try await queue.enqueue([NewJob(kind: .export, priority: 1), NewJob(kind: .export)], on: database).map(\.id)
            let first = try #require(try await queue.claim(worker: "w", on: database))
            #expect(first.id == ids[0])

            let (completed, next) = try await queue.completeAndClaimNext(first.lease, worker: "w", on: database)
            #expect(completed)
            #expect(next?.id == ids[1])
            #expect(try await queue.job(ids[0], on: database).state == .succeeded)
            #expect(try await queue.job(ids[1], on: database).state == .running)

            // a lost lease completes nothing, and an empty queue gives no next job
            let second = try #require(next)
            #expect(try await queue.cancel(.job(second.id), on: database) == 1)
            let (lost, none) = try await queue.completeAndClaimNext(second.lease, worker: "w", on: database)
            #expect(!lost)
            #expect(none == nil)
            #expect(try await queue.job(second.id, on: database).state == .cancelled)
        }
    }

    @Test func failedReleasedAndReclaimedSegmentationsMoveTheirImage() async throws {
        try await withTestDatabase { client in
            // setup: three images whose jobs are running (the worker set them processing)
            let user = try await insertUser(email: "s@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            var images: [UUID] = []
            for _ in 0..<3 { images.append(try await insertImage(project: project, status: "processing", client: client)) }
            let queue = JobQueue(configuration: Self.fast)
            let database = Database(client: client, logger: Self.logger)
            _ = try await queue.enqueue(images.map { NewJob(kind: .segment, userID: user, imageID: $0, maxAttempts: 1) }, on: database)
            var jobs = try await queue.claim(worker: "w", limit: 2, on: database)
            // The third job's lease is short: its expiry is the point.
            jobs += try await JobQueue(configuration: Self.expiring).claim(worker: "w", limit: 1, on: Database(client: client, logger: Self.logger))
            let byImage = Dictionary(uniqueKeysWithValues: jobs.compactMap { job in job.imageID.map { ($0, job) } })
            func status(_ image: UUID) async throws -> String? {
                try await client.query("SELECT status FROM images WHERE id = \(image)").collect().first?.decode(String.self)
            }

            // MUT + validate: a final failure fails the image; a release queues it again; an expired last attempt fails it
            let failing = try #require(byImage[images[0]])
            #expect(try await queue.fail(failing.lease, error: "corrupt", permanent: true, on: database) == .failed)
            #expect(try await status(images[0]) == "failed")
            let released = try #require(byImage[images[1]])
            #expect(try await queue.release(released.lease, on: database))
            #expect(try await status(images[1]) == "queued")
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await queue.reclaimExpired(on: database) == 1)
            #expect(try await status(images[2]) == "failed")
            #expect(try await queue.job(try #require(byImage[images[2]]).id, on: database).state == .failed)
        }
    }

    @Test func cancellingARunningJobRevokesItsLease() async throws {
        try await withTestDatabase { client in
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let id = try #require(try await queue.enqueue([NewJob(kind: .export)], on: database).first?.id)
            let job = try #require(try await queue.claim(worker: "w", on: database))
            #expect(try await queue.cancel(.job(id), on: database) == 1)
            #expect(try await queue.heartbeat(job.lease, on: database) == false)
            #expect(try await storageError { try await queue.complete(job.lease, on: database) } == .leaseLost(jobID: id.uuidString.lowercased()))
            #expect(try await queue.cancel(.job(id), on: database) == 0)
            #expect(try await storageError { _ = try await queue.cancel(.job(UUID()), on: database) } != nil)

            // a cancelled job can be retried from the start
            #expect(try await queue.retry(.job(id), on: database) == 1)
            let again = try #require(try await queue.claim(worker: "w", on: database))
            #expect(again.attempt == 1)
        }
    }

    @Test func cancelQueuedSegmentationsOfAProjectLeavesRunningOnes() async throws {
        try await withTestDatabase { client in
            // setup
            let user = try await insertUser(email: "c@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            var images: [UUID] = []
            for _ in 0..<3 { images.append(try await insertImage(project: project, client: client)) }
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            _ = try await queue.enqueue(images.map { NewJob(kind: .segment, userID: user, projectID: project, imageID: $0) }, on: database)
            let running = try #require(try await queue.claim(worker: "w", on: database))
            // as the API leaves them: queued, the running job's image processing, one image segmented earlier
            let runningImage = try #require(running.imageID)
            let waiting = images.filter { $0 != runningImage }
            _ = try await ImageRepository.setStatus(.queued, ids: waiting, projectID: project, on: database)
            _ = try await ImageRepository.setStatus(.processing, ids: [runningImage], projectID: project, on: database)
            _ = try await SegmentationRepository.addVersion(
                imageID: waiting[0], polygons: Array("[]".utf8), parameters: Array("{}".utf8), segmenter: "manual", authorID: nil, on: database)

            // MUT
            let cancelled = try await Database(client: client, logger: Self.logger).transaction { transaction in
                try await JobQueue().cancelQueuedSegmentations(project: project, on: transaction)
            }

            // validate: the queued ones are cancelled and back to what they were before queueing; the running one is
            // left alone
            #expect(Set(cancelled) == Set(waiting))
            #expect(try await ImageRepository.get(id: waiting[0], on: database).status == .segmented)
            #expect(try await ImageRepository.get(id: waiting[1], on: database).status == .new)
            #expect(try await ImageRepository.get(id: runningImage, on: database).status == .processing)
            #expect(try await queue.stats(projects: [project], on: database) == QueueStats(queued: 0, running: 1, failed: 0))
            #expect(try await queue.stats(projects: [UUID()], on: database) == QueueStats())
        }
    }

    @Test func releasedJobIsClaimableAtOnceWithoutLosingAnAttempt() async throws {
        try await withTestDatabase { client in
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            _ = try await queue.enqueue([NewJob(kind: .export, maxAttempts: 1)], on: database)
            let job = try #require(try await queue.claim(worker: "stopping", on: database))
            #expect(try await queue.release(job.lease, on: database))
            let again = try #require(try await queue.claim(worker: "w", on: database))
            #expect(again.id == job.id)
            #expect(again.attempt == 1)
        }
    }

    @Test func listPagesThroughEveryJobOnce() async throws {
        try await withTestDatabase { client in
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let ids = Set(try await queue.enqueue((0..<7).map { _ in NewJob(kind: .export) }, on: database).map(\.id))
            // Equal creation times: the id breaks the tie.
            try await client.query("UPDATE jobs SET created_at = '2026-01-01T00:00:00Z'")
            var seen: [UUID] = []
            var request = try PageRequest(limit: 3)
            while true {
                let page = try await queue.list(state: .queued, page: request, on: database)
                seen += page.items.map(\.id)
                guard let next = page.nextCursor else { break }
                request = try PageRequest(limit: 3, cursor: next)
            }
            #expect(seen.count == 7)
            #expect(Set(seen) == ids)
            #expect(try await queue.list(state: .failed, on: database).items.isEmpty)
        }
    }

    @Test func notificationWakesAnIdleWorker() async throws {
        try await withTestDatabase { client in
            // setup: workers that would otherwise sleep an hour between looks, so finishing at all proves the wake-up
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let wakeups = JobWakeups(client: client, logger: Self.logger)
            let handler = SlowHandler(duration: .zero)
            let pool = JobWorkerPool(
                queue: queue, wakeups: wakeups, name: "idle", concurrency: 2, idlePoll: .seconds(3600), handler: handler,
                database: Database(client: client, logger: Self.logger))
            let listener = Task { await wakeups.run() }
            let workers = Task { await pool.run() }
            try await eventually("the wake-up listener") { await wakeups.isListening }
            try await Task.sleep(for: .milliseconds(200))

            // MUT: a job enqueued through another client (as another process would)
            let started = ContinuousClock.now
            let id = try #require(try await queue.enqueue([NewJob(kind: .export)], on: database).first?.id)
            try await eventually("the job to succeed", timeout: .seconds(300)) { try await queue.job(id, on: database).state == .succeeded }
            let waited = ContinuousClock.now - started
            workers.cancel()
            listener.cancel()
            await workers.value
            await listener.value

            // validate: far sooner than the hourly poll (no tighter bound: the test must not fail on a slow machine)
            #expect(waited < .seconds(300))
        }
    }

    @Test func shutdownReleasesRunningJobs() async throws {
        try await withTestDatabase { client in
            let queue = JobQueue()
            let database = Database(client: client, logger: Self.logger)
            let id = try #require(try await queue.enqueue([NewJob(kind: .export)], on: database).first?.id)
            let pool = JobWorkerPool(
                queue: queue, wakeups: nil, name: "s", concurrency: 1, idlePoll: .milliseconds(10),
                handler: SlowHandler(duration: .seconds(60)), database: Database(client: client, logger: Self.logger))
            let task = Task { await pool.run() }
            try await eventually("the job to run") { try await queue.job(id, on: database).state == .running }
            task.cancel()
            await task.value
            let record = try await queue.job(id, on: database)
            #expect(record.state == .queued)
            #expect(record.attempt == 0)
        }
    }
}

/// Stores a row per run in the completion transaction and counts runs.
final class RecordingHandler: JobHandler {
    // An atomic rather than a Mutex: ThreadSanitizer cannot see the standard library's Mutex synchronise and
    // reports its protected value as raced (docs/reliability-coverage.md, F5).
    private let count = Atomic<Int>(0)
    var runs: Int { count.load(ordering: .sequentiallyConsistent) }

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        count.wrappingAdd(1, ordering: .sequentiallyConsistent)
        let worker = job.lease.leaseID.uuidString
        try await context.complete { transaction in
            let rows = try await transaction.query("SELECT worker FROM jobs WHERE id = \(job.id)").collect()
            let name = try rows.first?.decode(String.self)
            try await transaction.query("INSERT INTO test_results (job_id, worker) VALUES (\(job.id), \(name ?? worker))")
        }
    }
}

/// Takes `duration` (or until cancelled), then completes without a result.
final class SlowHandler: JobHandler {
    let duration: Duration
    // An atomic rather than a Mutex: ThreadSanitizer cannot see the standard library's Mutex synchronise and
    // reports its protected value as raced (docs/reliability-coverage.md, F5).
    private let count = Atomic<Int>(0)
    var runs: Int { count.load(ordering: .sequentiallyConsistent) }

    init(duration: Duration) { self.duration = duration }

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        count.wrappingAdd(1, ordering: .sequentiallyConsistent)
        try await Task.sleep(for: duration)
    }
}

/// Always throws, naming the attempt.
final class FailingHandler: JobHandler {
    // An atomic rather than a Mutex: ThreadSanitizer cannot see the standard library's Mutex synchronise and
    // reports its protected value as raced (docs/reliability-coverage.md, F5).
    private let count = Atomic<Int>(0)
    var runs: Int { count.load(ordering: .sequentiallyConsistent) }

    struct Offline: Error, CustomStringConvertible {
        var attempt: Int
        var description: String { "scanner offline (attempt \(attempt))" }
    }

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        count.wrappingAdd(1, ordering: .sequentiallyConsistent)
        throw Offline(attempt: job.attempt)
    }
}
