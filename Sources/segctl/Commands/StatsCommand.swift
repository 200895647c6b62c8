import ArgumentParser
import Foundation
import PostgresNIO
import SegStorage

extension SegCtl {
    /// `segctl stats`: users, projects, images by status, jobs and storage used.
    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print users, projects, images by status, jobs and storage used.",
            discussion: "With --data-dir (or SEG_DATA_DIR) the bytes of the file store on disk are counted too.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var data: DataDirectoryOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        struct Report: Encodable {
            var users: Int
            var admins: Int
            var disabledUsers: Int
            var projects: Int
            var images: ImageStatusCounts
            var imageBytes: Int64
            var segmentations: Int
            var jobs: QueueStats
            var lastBackupAt: Date?
            /// Objects and their bytes in the data directory, when it was given.
            var storedObjects: Int?
            var storedBytes: Int64?
        }

        func run() async throws {
            let dataDirectory = try? data.resolved()
            var report = try await database.withDatabase { postgres in
                let totals = try await InstallationTotals.read(on: postgres)
                let jobs = try await JobQueue().stats(on: postgres)
                let lastBackup = try await BackupRepository.latestFinishedAt(on: postgres)
                return Report(
                    users: totals.users, admins: totals.admins, disabledUsers: totals.disabledUsers, projects: totals.projects,
                    images: totals.images, imageBytes: totals.imageBytes, segmentations: totals.segmentations, jobs: jobs,
                    lastBackupAt: lastBackup)
            }
            if let dataDirectory, let store = try? ConfiguredStore.open(dataDirectory: dataDirectory), let objects = try? await store.list() {
                report.storedObjects = objects.count
                report.storedBytes = objects.reduce(0) { $0 + $1.bytes }
            }
            if json { return try Output.json(report) }
            let images = report.images
            var text = """
                users:         \(report.users) (\(report.admins) admin, \(report.disabledUsers) disabled)
                projects:      \(report.projects)
                images:        \(images.total) (new \(images.new), queued \(images.queued), processing \(images.processing), \
                segmented \(images.segmented), failed \(images.failed)), \(Output.size(report.imageBytes)) uploaded
                segmentations: \(report.segmentations) versions
                jobs:          \(report.jobs.queued) queued, \(report.jobs.running) running, \(report.jobs.failed) failed
                last backup:   \(Output.time(report.lastBackupAt))

                """
            if let objects = report.storedObjects, let bytes = report.storedBytes {
                text += "file store:    \(objects) objects, \(Output.size(bytes))\n"
            }
            Terminal.output(text)
        }
    }
}
