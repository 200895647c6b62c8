import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SegStorage
import Synchronization

extension SegCtl {
    /// `segctl bench-queue`: measures the job queue's claim + complete throughput in a scratch database.
    struct QueueBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-queue",
            abstract: "Measure the job queue: claims + completions per second with N concurrent workers; prints JSON.",
            discussion: """
                Creates a scratch database on the server of --database-url (the user needs CREATEDB), migrates it, \
                enqueues --jobs jobs from --users users, then runs --workers workers (each its own connection) that \
                claim one job and then complete each job and claim the next in one statement (as JobWorkerPool \
                does), or with --batch N > 1 claim N at a time and complete each in its own statement. \
                The scratch database is dropped afterwards. Prints {"jobs", "workers", "batch", "enqueueSeconds", \
                "seconds", "jobsPerSecond", "completedOnce"}.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Jobs to run.")
        var jobs: Int = 20000

        @Option(help: "Concurrent workers.")
        var workers: Int = 4

        @Option(help: "Jobs claimed per claim query.")
        var batch: Int = 1

        @Option(help: "Users the jobs are spread over (fair queueing between them).")
        var users: Int = 10

        @Flag(
            name: .customLong("analyze"), inversion: .prefixedNo,
            help: "Refresh the planner's statistics after enqueueing, as autovacuum soon would (default: on).")
        var analyze = true

        func validate() throws {
            guard (1...1_000_000).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 1000000") }
            guard (1...64).contains(workers) else { throw ValidationError("--workers must be between 1 and 64") }
            guard (1...1000).contains(batch) else { throw ValidationError("--batch must be between 1 and 1000") }
            guard (1...1000).contains(users) else { throw ValidationError("--users must be between 1 and 1000") }
        }

        func run() async throws {
            let server = try database.configuration()
            let name = "seghub_bench_\(UInt32.random(in: 0...UInt32.max))"
            let jobs = jobs
            let workers = workers
            let batch = batch
            let users = users
            let analyze = analyze
            try await database.withDatabase { admin in
                let logger = admin.logger
                try await ScratchDatabase.create(name, on: admin)
                do {
                    var configuration = server.with(database: name)
                    configuration.tls = server.tls
                    let result = try await PostgresClient.withRunning(configuration, logger: logger) { client in
                        let scratch = Database(client: client, logger: logger)
                        _ = try await Migrator(on: scratch).migrate()
                        return try await Self.measure(
                            on: scratch, jobs: jobs, workers: workers, batch: batch, users: users, analyze: analyze)
                    }
                    try await ScratchDatabase.drop(name, on: admin)
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(result), as: UTF8.self))
                } catch {
                    try? await ScratchDatabase.drop(name, on: admin)
                    throw error
                }
            }
        }

        struct Result: Encodable {
            var jobs: Int
            var workers: Int
            var batch: Int
            var enqueueSeconds: Double
            var seconds: Double
            var jobsPerSecond: Double
            var completedOnce: Bool
        }

        static func measure(
            on database: Database, jobs: Int, workers: Int, batch: Int, users: Int, analyze: Bool
        ) async throws -> Result {
            var userIDs: [UUID] = []
            for index in 0..<users {
                // Job owners only: nobody signs in with them ("x" is no bcrypt hash).
                let user = try await UserRepository.create(
                    NewUser(email: "bench\(index)@example.org", name: "bench \(index)", passwordHash: "x"), on: database)
                userIDs.append(user.id)
            }
            let queue = JobQueue(configuration: .init(leaseDuration: .seconds(60)))
            let clock = ContinuousClock()
            let enqueueStart = clock.now
            var chunk: [NewJob] = []
            for index in 0..<jobs {
                chunk.append(NewJob(kind: .export, payload: #"{"n": \#(index)}"#, userID: userIDs[index % userIDs.count]))
                if chunk.count == 1000 || index == jobs - 1 {
                    _ = try await queue.enqueue(chunk, on: database)
                    chunk.removeAll(keepingCapacity: true)
                }
            }
            let enqueueSeconds = seconds(clock.now - enqueueStart)
            // What autovacuum does soon after such a burst in a live installation; without it the runs were bimodal.
            if analyze { try await queue.refreshStatistics(on: database) }
            let completed = Counter()
            let start = clock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<workers {
                    group.addTask {
                        let worker = "bench/\(index)"
                        if batch == 1 {
                            // As JobWorkerPool does: each completion claims the next job in the same statement.
                            var job = try await queue.claim(worker: worker, on: database)
                            while let current = job {
                                let (done, next) = try await queue.completeAndClaimNext(current.lease, worker: worker, on: database)
                                if done { completed.add(1) }
                                job = next
                            }
                            return
                        }
                        while true {
                            let claimed = try await queue.claim(worker: worker, limit: batch, on: database)
                            if claimed.isEmpty { return }
                            for job in claimed {
                                try await queue.complete(job.lease, on: database)
                            }
                            completed.add(claimed.count)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = seconds(clock.now - start)
            let succeeded = try await queue.count(state: .succeeded, on: database)
            let total = completed.value
            return Result(
                jobs: jobs, workers: workers, batch: batch, enqueueSeconds: enqueueSeconds, seconds: elapsed,
                jobsPerSecond: Double(total) / elapsed, completedOnce: total == jobs && succeeded == jobs)
        }

        /// Jobs completed so far, shared by the workers.
        final class Counter: Sendable {
            private let count = Mutex(0)
            func add(_ n: Int) { count.withLock { $0 += n } }
            var value: Int { count.withLock { $0 } }
        }

        static func seconds(_ duration: Duration) -> Double {
            let (s, atto) = duration.components
            return Double(s) + Double(atto) / 1e18
        }
    }
}
