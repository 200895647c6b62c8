import Foundation

/// What a job does. Each kind has its own payload shape, agreed between whoever enqueues and the worker.
public enum JobKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Segment one image (`jobs.image_id`).
    case segment
    /// Build an export archive.
    case export
}

/// Where a job is in its life.
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting to be claimed (possibly not before `runAt`, after a failed attempt).
    case queued
    /// Claimed by a worker that holds its lease.
    case running
    /// Completed.
    case succeeded
    /// Gave up: failed on its last attempt or with a permanent error; `lastError` says why.
    case failed
    /// Cancelled by a user, or superseded by a newer request for the same image.
    case cancelled
}

/// A job to put in the queue.
public struct NewJob: Sendable, Hashable {
    /// What it does.
    public var kind: JobKind
    /// Its parameters as JSON text (an object); the worker of `kind` decodes it.
    public var payload: String
    /// Higher runs first, `-100...100`.
    public var priority: Int
    /// Who asked for it: the queue is fair between users.
    public var userID: UUID?
    /// The project it belongs to (for statistics and cancellation by project).
    public var projectID: UUID?
    /// The image it segments (at most one queued `segment` job per image).
    public var imageID: UUID?
    /// Attempts before the job ends `failed`, `1...100`.
    public var maxAttempts: Int

    /// A job with JSON `payload`.
    public init(
        kind: JobKind,
        payload: String = "{}",
        priority: Int = 0,
        userID: UUID? = nil,
        projectID: UUID? = nil,
        imageID: UUID? = nil,
        maxAttempts: Int = 3
    ) {
        self.kind = kind
        self.payload = payload
        self.priority = priority
        self.userID = userID
        self.projectID = projectID
        self.imageID = imageID
        self.maxAttempts = maxAttempts
    }

    /// A job whose payload is `payload` encoded as JSON.
    /// - Throws: `StorageError.invalidArgument` when `payload` cannot be encoded.
    public init(
        kind: JobKind,
        encoding payload: some Encodable,
        priority: Int = 0,
        userID: UUID? = nil,
        projectID: UUID? = nil,
        imageID: UUID? = nil,
        maxAttempts: Int = 3
    ) throws {
        let data: Data
        do {
            data = try JSONEncoder().encode(payload)
        } catch {
            throw StorageError.invalidArgument("the job payload cannot be encoded as JSON")
        }
        self.init(
            kind: kind, payload: String(decoding: data, as: UTF8.self), priority: priority, userID: userID,
            projectID: projectID, imageID: imageID, maxAttempts: maxAttempts)
    }
}

/// The proof that a worker holds a job: completion, heartbeats and failures must present it.
///
/// A new lease id is drawn at every claim, so a worker whose lease expired (and whose job another worker
/// claimed since) can no longer complete, extend or fail it.
public struct JobLease: Sendable, Hashable {
    /// The job.
    public var jobID: UUID
    /// This claim's lease.
    public var leaseID: UUID

    /// A lease on `jobID`.
    public init(jobID: UUID, leaseID: UUID) {
        self.jobID = jobID
        self.leaseID = leaseID
    }
}

/// A job a worker has claimed.
public struct ClaimedJob: Sendable, Hashable {
    /// The lease to present when completing, extending or failing the job.
    public var lease: JobLease
    /// What to do.
    public var kind: JobKind
    /// The payload as JSON text.
    public var payload: String
    /// This attempt's number, from 1.
    public var attempt: Int
    /// The last attempt the job gets.
    public var maxAttempts: Int
    /// Who asked for it.
    public var userID: UUID?
    /// Its project.
    public var projectID: UUID?
    /// Its image (segment jobs).
    public var imageID: UUID?
    /// When it was first enqueued.
    public var createdAt: Date

    /// The job's id.
    public var id: UUID { lease.jobID }

    /// Decodes the payload.
    /// - Throws: `StorageError.invalidArgument` when the payload does not decode as `T`.
    public func decodePayload<T: Decodable>(as type: T.Type = T.self) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(payload.utf8))
        } catch {
            throw StorageError.invalidArgument("the payload of job \(id) does not match what a \(kind.rawValue) job needs")
        }
    }
}

/// A job as stored, for listings and administration.
public struct JobRecord: Sendable, Hashable {
    /// The job's id.
    public var id: UUID
    /// What it does.
    public var kind: JobKind
    /// Where it is.
    public var state: JobState
    /// The payload as JSON text.
    public var payload: String
    /// Higher runs first.
    public var priority: Int
    /// Who asked for it.
    public var userID: UUID?
    /// Its project.
    public var projectID: UUID?
    /// Its image.
    public var imageID: UUID?
    /// Attempts made so far (a running job counts its current one).
    public var attempt: Int
    /// Attempts allowed.
    public var maxAttempts: Int
    /// Not claimed before this instant.
    public var runAt: Date
    /// When the current lease ends (running jobs).
    public var leaseUntil: Date?
    /// The worker holding it (running jobs), or the last one that did.
    public var worker: String?
    /// The error of the last failed attempt.
    public var lastError: String?
    /// When it was enqueued.
    public var createdAt: Date
    /// When it succeeded, failed for good or was cancelled.
    public var finishedAt: Date?
    /// The exact creation time, for cursors.
    var createdAtTimestamp: Timestamp
}

/// What `JobQueue.enqueue` did with one job.
public struct EnqueuedJob: Sendable, Hashable {
    /// The job's id (for a replaced request, the id of the queued job that now carries the new parameters).
    public var id: UUID
    /// Whether an already queued segmentation job of the same image took the new parameters instead of a new row.
    public var replacedPending: Bool
}

/// What happened to a job whose attempt failed.
public enum JobFailureOutcome: Sendable, Hashable {
    /// It returns to the queue, not before `at`.
    case retrying(at: Date)
    /// It will not run again: its attempts are used up or the error was permanent.
    case failed
    /// A newer request for the same image is queued, so this one was cancelled instead of retried.
    case superseded
}

/// Counts of jobs by state, for `GET /api/v1/queue` and `segctl queue stats`.
public struct QueueStats: Sendable, Hashable, Codable {
    /// Waiting to run (including retries waiting for their backoff).
    public var queued: Int
    /// Being worked on.
    public var running: Int
    /// Failed for good.
    public var failed: Int

    /// Counts as given.
    public init(queued: Int = 0, running: Int = 0, failed: Int = 0) {
        self.queued = queued
        self.running = running
        self.failed = failed
    }
}
