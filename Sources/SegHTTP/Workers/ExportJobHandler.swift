import Foundation
import Logging
import NIOPosix
import PostgresNIO
import SegCore
import SegStorage

/// Runs `export` jobs: builds the export's ZIP from each image's latest segmentation and stores it in the file store.
///
/// Every attempt starts from scratch in a new temporary file, so a job taken over after a crash (its lease expired)
/// simply rebuilds the archive. Images are read a page at a time and encoded on `CPUWork.pool`; memory stays bounded
/// by a page of polygons and one image's encodings. Progress goes to `exports.progress`, at most every 2 % or every
/// 250 ms. The archive's object, the export's `done` and the job's completion commit in one transaction that only the
/// lease holder can make. A missing export or project ends the job at once; on the job's last attempt a failure also
/// marks the export `failed` (and the retention sweep catches a worker that died on it).
struct ExportJobHandler: JobHandler {
    /// The payload of an `export` job.
    struct Payload: Codable, Sendable {
        var exportId: UUID
    }

    /// Images read per page.
    static let pageSize = 50

    let services: AppServices

    func run(_ job: ClaimedJob, context: JobContext) async throws {
        let started = ContinuousClock.now
        let payload: Payload
        do {
            payload = try job.decodePayload(as: Payload.self)
        } catch {
            throw PermanentJobError("the export job's payload names no export")
        }
        do {
            try await build(payload.exportId, context: context)
            services.metrics.recordJob(kind: "export", result: "succeeded", duration: ContinuousClock.now - started)
        } catch {
            let leaseLost = (error as? StorageError).map { if case .leaseLost = $0 { true } else { false } } ?? false
            let final = error is PermanentJobError || job.attempt >= job.maxAttempts
            services.metrics.recordJob(kind: "export", result: final ? "failed" : "retried", duration: ContinuousClock.now - started)
            if final, !leaseLost, !(error is CancellationError), !Task.isCancelled {
                let reason = Self.reason(for: error, attempts: job.attempt)
                _ = try? await ExportRepository.markFailed(id: payload.exportId, error: reason, on: context.database)
            }
            throw error
        }
    }

    /// Why the export failed, for its owner (the job keeps the technical detail for operators).
    static func reason(for error: any Error, attempts: Int) -> String {
        if let error = error as? PermanentJobError { return error.message }
        if let error = error as? StorageError, case .storeUnavailable = error {
            let tries = attempts == 1 ? "its one attempt" : "each of its \(attempts) attempts"
            return "the object store could not be reached on \(tries); nothing was stored. Start the export again once the store is back"
        }
        return "the export could not be built"
    }

    /// The export with this id, or `nil`.
    private func find(_ id: UUID, on database: Database) async throws(StorageError) -> ExportRecord? {
        do {
            return try await ExportRepository.get(id: id, on: database)
        } catch {
            if case .notFound = error { return nil }
            throw error
        }
    }

    private func build(_ exportID: UUID, context: JobContext) async throws {
        let database = context.database
        guard let export = try await find(exportID, on: database) else {
            throw PermanentJobError("export \(exportID.uuidString.lowercased()) no longer exists")
        }
        // Already finished (by an earlier attempt, or marked failed): nothing to build.
        guard export.status == .queued || export.status == .running else { return }
        guard let project = try await ProjectRepository.find(id: export.projectID, on: database) else {
            throw PermanentJobError("the exported project no longer exists")
        }
        _ = try await ExportRepository.markRunning(id: exportID, on: database)
        var progress = ProgressThrottle(exportID: exportID, database: database)
        try await progress.report(0, force: true)
        let total = try await ImageRepository.countsByStatus(projectID: export.projectID, on: database).total

        let files = services.files
        let builder = try ExportArchiveBuilder(
            zipURL: files.scratch.newFileURL(prefix: "export-"), formats: export.formats, options: export.options, date: export.createdAt,
            makeTemporaryURL: { files.scratch.newFileURL(prefix: "export-") })
        do {
            var done = 0
            var page = try PageRequest(limit: Self.pageSize)
            while true {
                try Task.checkCancellation()
                let images = try await ImageRepository.list(projectID: export.projectID, status: nil, page: page, on: database)
                let latest = try await SegmentationRepository.latest(imageIDs: images.items.map(\.id), on: database)
                for image in images.items {
                    var polygons: [Polygon]?
                    if let segmentation = latest[image.id] {
                        do {
                            polygons = try JSONDecoder().decode([Polygon].self, from: Data(segmentation.polygons))
                        } catch {
                            throw PermanentJobError("the stored polygons of image \(image.id.uuidString.lowercased()) do not decode")
                        }
                    }
                    let item = ExportArchiveItem(
                        name: image.name, format: image.format.rawValue, width: image.width, height: image.height, originalURL: nil,
                        polygons: polygons)
                    guard export.options.includeImages, polygons != nil else {
                        try await CPUWork.pool.runIfActive { try builder.add(item) }
                        continue
                    }
                    // The original goes into the archive from a local file the store provides.
                    do {
                        try await files.withLocalFile(image.objectKey) { url in
                            var withOriginal = item
                            withOriginal.originalURL = url
                            let added = withOriginal
                            try await CPUWork.pool.runIfActive { try builder.add(added) }
                        }
                    } catch let error as StorageError {
                        guard case .notFound = error else { throw error }
                        throw PermanentJobError("the original of image \(image.id.uuidString.lowercased()) is missing from the file store")
                    }
                }
                done += images.items.count
                // The last 5 % are the files that cover every image and the store.
                try await progress.report(0.95 * Double(done) / Double(max(total, done, 1)))
                guard let cursor = images.nextCursor else { break }
                page = try PageRequest(limit: Self.pageSize, cursor: cursor)
            }
            try Task.checkCancellation()
            try await CPUWork.pool.runIfActive {
                try builder.finish(projectName: project.name, exportID: exportID)
            }
        } catch let error as SegCoreError {
            builder.discard()
            throw PermanentJobError("an image's polygons cannot be exported: \(error.description)")
        } catch {
            builder.discard()
            throw error
        }
        let zipURL = builder.zipURL
        let size = try FileManager.default.attributesOfItem(atPath: zipURL.path)[.size] as? NSNumber
        let bytes = size?.int64Value ?? 0
        // The builder's own temporary files go whether the archive could be stored or not.
        defer { builder.discard() }
        let key = try await files.putFile(movingFrom: zipURL)
        let expiresAt = Date().addingTimeInterval(Double(services.configuration.exportRetentionHours) * 3600)
        _ = try await context.complete { transaction in
            try await ExportRepository.markDone(id: exportID, objectKey: key, bytes: bytes, expiresAt: expiresAt, on: transaction)
        }
        database.logger.info("export built", metadata: ["export.id": "\(exportID)", "export.bytes": "\(bytes)", "images.count": "\(total)"])
    }
}

/// Writes an export's progress, at most every 2 % or every 250 ms, so a large export does not flood the database
/// and the events that follow its changes.
struct ProgressThrottle {
    let exportID: UUID
    let database: Database
    private var last = -1.0
    private var lastTime = ContinuousClock.now

    init(exportID: UUID, database: Database) {
        self.exportID = exportID
        self.database = database
    }

    mutating func report(_ value: Double, force: Bool = false) async throws {
        let value = min(max(value, 0), 1)
        let now = ContinuousClock.now
        guard force || (value > last && (value - last >= 0.02 || now - lastTime >= .milliseconds(250))) else { return }
        _ = try await ExportRepository.updateProgress(id: exportID, progress: value, on: database)
        last = value
        lastTime = now
    }
}

extension ExportJobHandler {
    /// The worker pool for `export` jobs: exports are heavy, so `workers` is small (one per process by default).
    static func pool(services: AppServices, wakeups: JobWakeups, workers: Int, logger: Logger) -> JobWorkerPool<ExportJobHandler> {
        JobWorkerPool(
            queue: services.queue, wakeups: wakeups, name: SegmentationJobHandler.workerName() + "/export", concurrency: workers,
            kinds: [.export], handler: ExportJobHandler(services: services), database: services.database(logger))
    }
}
