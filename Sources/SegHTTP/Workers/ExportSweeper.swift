import Foundation
import Logging
import SegStorage

/// The retention sweep of export archives, run by segserver's worker and all roles.
///
/// Each pass moves done exports past their expiry (`SEG_EXPORT_RETENTION_HOURS` after they were built) to `expired`,
/// removes the archives no row refers to any more, marks `failed` the exports whose job ended without its worker
/// saying so (the worker died on the last attempt), and removes temporary files older than a day (what killed
/// workers and uploads left in the file store's `tmp/`). Several processes may sweep at once: expiring skips rows another
/// sweeper holds, and an archive is removed only when no row refers to it.
struct ExportSweeper: Sendable {
    let services: AppServices
    /// Time between passes.
    let interval: Duration
    /// Archives modified this recently are kept even when unreferenced (a build may be storing the same content).
    let sparingYoungerThan: Duration
    let logger: Logger

    /// What one pass did.
    struct Pass: Sendable, Equatable {
        /// Exports moved to `expired`.
        var expired: [UUID] = []
        /// Archive objects removed from the file store.
        var removed: [ObjectKey] = []
        /// Exports marked `failed` because their job had ended.
        var failed: [UUID] = []
        /// Temporary files older than a day removed from the file store's `tmp/` (half-built archives of dead workers).
        var temporaryFiles = 0
    }

    init(services: AppServices, interval: Duration = .seconds(60), sparingYoungerThan: Duration = .seconds(600), logger: Logger) {
        self.services = services
        self.interval = interval
        self.sparingYoungerThan = sparingYoungerThan
        self.logger = logger
    }

    /// Runs passes every `interval` until the task is cancelled.
    func run() async {
        while !Task.isCancelled {
            do {
                _ = try await sweep(asOf: Date())
            } catch {
                logger.warning("export sweep failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// One pass, judging expiry as of `date`.
    func sweep(asOf date: Date) async throws -> Pass {
        var pass = Pass()
        let database = services.database(logger)
        while true {
            let expired = try await ExportRepository.markExpired(asOf: date, limit: 500, on: database)
            pass.expired += expired.map(\.id)
            let removed = try await services.files.removeUnreferenced(
                expired.map(\.objectKey), references: ObjectReferences(on: database),
                youngerThan: sparingYoungerThan)
            pass.removed += removed
            if expired.count < 500 { break }
        }
        pass.failed = try await ExportRepository.failAbandoned(on: database)
        // A worker killed mid-export leaves its half-built archive in tmp/; no upload or export takes a day.
        pass.temporaryFiles = try services.files.scratch.clean(olderThan: .seconds(86_400))
        if !pass.expired.isEmpty || !pass.failed.isEmpty {
            logger.info(
                "export sweep",
                metadata: [
                    "exports.expired": "\(pass.expired.count)", "objects.removed": "\(pass.removed.count)",
                    "exports.failed": "\(pass.failed.count)",
                ])
        }
        return pass
    }
}
