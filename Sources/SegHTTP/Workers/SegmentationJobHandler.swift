import Foundation
import Logging
import NIOPosix
import SegCore
import SegStorage

/// Runs `segment` jobs with the segmenter each names (the built-in one, or a model on its inference server) and stores
/// each result as a new segmentation version.
///
/// The image becomes `processing` when the work starts. Decoding, segmenting, a model's pre- and post-processing and
/// encoding the result run on `threads`, the workers' own thread pool of `SEG_WORKERS` threads (``Segmenters``); the
/// pool holds `SEG_WORKER_PREFETCH` more jobs than that, which read their image, wait for a model server or store their
/// result meanwhile, so the threads go from one job's computation straight to the next. The new version, the image's
/// `segmented` status and the job's completion commit in one transaction that only the lease holder can make
/// (RELIABILITY Q3, Q5): a worker whose lease was lost stores nothing, and a job run twice leaves one version. An image
/// that cannot be decoded, a missing image or file, a payload that does not decode, an unknown segmenter and a model
/// whose answer does not fit its registry entry are `PermanentJobError`s: the job ends `failed` at once and the queue
/// marks the image `failed`. Database trouble and a model server that is down or slow are thrown as they are, so the
/// attempt is retried with backoff; the last attempt's reason stays on the job.
struct SegmentationJobHandler: JobHandler {
    let files: any ObjectStore
    let metrics: AppMetrics
    let segmenters: Segmenters
    /// Where the CPU stages run.
    let threads: NIOThreadPool

    init(services: AppServices, threads: NIOThreadPool) {
        self.files = services.files
        self.metrics = services.metrics
        self.segmenters = services.segmenters
        self.threads = threads
    }

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let started = ContinuousClock.now
        do {
            try await segment(job, context: context)
            metrics.recordJob(kind: "segment", result: "succeeded", duration: ContinuousClock.now - started)
            metrics.recordImageProcessed(result: "segmented")
        } catch {
            let final = error is PermanentJobError || job.attempt >= job.maxAttempts
            metrics.recordJob(kind: "segment", result: final ? "failed" : "retried", duration: ContinuousClock.now - started)
            if final, !(error is CancellationError) { metrics.recordImageProcessed(result: "failed") }
            throw error
        }
    }

    private func segment(_ job: ClaimedJob, context: JobContext) async throws {
        guard let imageID = job.imageID else { throw PermanentJobError("the segment job names no image") }
        let payload: SegmentationPayload
        do {
            payload = try job.decodePayload(as: SegmentationPayload.self)
        } catch {
            throw PermanentJobError("the job's parameters are not valid segmenter parameters")
        }
        let image: ImageRecord
        do {
            image = try await ImageRepository.get(id: imageID, on: context.database)
        } catch .notFound {
            throw PermanentJobError("image \(imageID.uuidString.lowercased()) no longer exists")
        }
        _ = try await ImageRepository.setStatus(.processing, id: imageID, on: context.database)
        let bytes: [UInt8]
        do {
            bytes = try await files.read(image.objectKey)
        } catch let error as StorageError {
            if case .notFound = error { throw PermanentJobError("the image's file is missing from the file store") }
            throw error
        }
        let outcome: Segmenters.Outcome
        do {
            outcome = try await segmenters.segment(bytes, payload: payload, on: threads)
        } catch let error as Segmenters.Permanent {
            throw PermanentJobError(error.description)
        }
        let polygons = outcome.polygons
        let storedParameters = outcome.storedParameters
        let version = try await context.complete { transaction in
            let record = try await SegmentationRepository.addVersion(
                imageID: imageID, polygons: polygons, parameters: storedParameters, segmenter: payload.segmenter, authorID: nil,
                on: transaction)
            // A newer request queued while this one ran keeps the image `queued` for its own job.
            _ = try await ImageRepository.finishSegmentation(id: imageID, on: transaction)
            return record.version
        }
        context.database.logger.debug(
            "image segmented",
            metadata: [
                "image.id": "\(imageID)", "segmentation.version": "\(version)", "polygons.count": "\(outcome.count)",
                "segmenter": "\(payload.segmenter)",
            ])
    }
}

extension SegmentationJobHandler {
    /// Runs the `segment` workers until the task is cancelled: `workers` threads for the CPU stages and a pool of
    /// `workers + prefetch` jobs at a time, named after this host and process.
    static func run(services: AppServices, wakeups: JobWakeups, workers: Int, prefetch: Int, logger: Logger) async {
        let threads = NIOThreadPool(numberOfThreads: max(1, workers))
        threads.start()
        let pool = JobWorkerPool(
            queue: services.queue, wakeups: wakeups, name: workerName(), concurrency: max(1, workers) + max(0, prefetch),
            kinds: [.segment], handler: SegmentationJobHandler(services: services, threads: threads), database: services.database(logger))
        await pool.run()
        // The pool has finished or released every job; nothing is left on the threads.
        do {
            try await threads.shutdownGracefully()
        } catch {
            logger.warning("the segmentation threads did not stop cleanly", metadata: ["error": "\(error)"])
        }
    }

    /// `host:pid`, shown in the jobs' `worker` column.
    static func workerName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        let host: String
        if gethostname(&buffer, buffer.count - 1) == 0 {
            host = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        } else {
            host = "segserver"
        }
        return "\(host):\(ProcessInfo.processInfo.processIdentifier)"
    }
}
