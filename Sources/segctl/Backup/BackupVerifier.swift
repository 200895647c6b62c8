import Foundation
import Logging
import PostgresNIO
import SegStorage

/// Checks a backup folder end to end: every checksum (the manifest's own included), a restore of the dump into a
/// scratch database (`pg_restore --exit-on-error --single-transaction`), the restored row counts against the
/// manifest, and every object the restored rows refer to against the folder. The scratch database is dropped
/// whatever happens.
struct BackupVerifier {
    var configuration: DatabaseConfiguration
    var logger: Logger

    struct Report {
        var manifest: BackupManifest?
        var problems: [String]
        var restoredRows: Int64
        var passed: Bool { problems.isEmpty && manifest != nil }
    }

    func verify(folder: String, on database: Database) async throws -> Report {
        let manifest: BackupManifest
        do {
            manifest = try BackupLocation.readManifest(in: folder)
        } catch {
            return Report(manifest: nil, problems: ["\(error)"], restoredRows: 0)
        }
        let progress = ProgressBar(total: manifest.objects.count, label: "checksums")
        var problems = BackupLocation.checkFiles(of: manifest, in: folder, progress: progress)
        if problems.contains(where: { $0.hasPrefix(manifest.database.file) }) {
            return Report(manifest: manifest, problems: problems, restoredRows: 0)
        }

        let pgRestore = try PostgresTools.locate("pg_restore")
        let scratch = "seghub_verify_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        try await ScratchDatabase.create(scratch, pristine: true, on: database)
        var restoredRows: Int64 = 0
        do {
            let outcome = try await ExternalTool.run(
                pgRestore,
                ["--exit-on-error", "--single-transaction", "--no-owner", "--no-acl", "--dbname=\(scratch)", "\(folder)/\(manifest.database.file)"],
                environment: PostgresTools.environment(for: configuration, database: scratch))
            if outcome.status != 0 {
                problems.append(
                    "pg_restore into a scratch database failed (\(scratch), exit \(outcome.status)):\n\(ExternalTool.tail(outcome.stderr))")
            } else {
                // The scratch client's own warnings (a lease requested while it starts) are noise here.
                var quiet = logger
                quiet.logLevel = .error
                let restored = try await PostgresClient.withRunning(configuration.with(database: scratch), logger: quiet) { scratchClient in
                    try await DatabaseSnapshot.read(on: Database(client: scratchClient, logger: logger))
                }
                restoredRows = restored.rowCounts.values.reduce(0, +)
                problems += Self.compare(manifest: manifest, restored: restored)
            }
        } catch {
            problems.append("restore check: \(StorageError(mapping: error))")
        }
        do {
            try await ScratchDatabase.drop(scratch, on: database)
        } catch {
            problems.append("the scratch database \(scratch) could not be dropped: \(StorageError(mapping: error))")
        }
        return Report(manifest: manifest, problems: problems, restoredRows: restoredRows)
    }

    /// Row counts, schema version and object references of the restored database against the manifest.
    static func compare(manifest: BackupManifest, restored: DatabaseSnapshot) -> [String] {
        var problems: [String] = []
        for table in Set(manifest.tables.keys).union(restored.rowCounts.keys).sorted() {
            let expected = manifest.tables[table]
            let found = restored.rowCounts[table]
            if expected != found {
                problems.append(
                    "table \(table): \(found.map { "\($0) rows" } ?? "missing") after restore, manifest says \(expected.map { "\($0)" } ?? "no such table")"
                )
            }
        }
        if restored.schemaVersion != manifest.schemaVersion {
            problems.append("schema version \(restored.schemaVersion) after restore, manifest says \(manifest.schemaVersion)")
        }
        let inBackup = Set(manifest.objects.map(\.key))
        for key in restored.objectKeys where !inBackup.contains(key) {
            problems.append("object \(key) is referred to by the restored database but not in the backup")
        }
        return problems
    }
}
