import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SegStorage

extension SegCtl.Backup {
    /// `segctl backup drill [NAME]`: a rehearsed restore, recorded for `/metrics`.
    struct Drill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rehearse a restore: the newest backup into a scratch database and folder, checked against its manifest.",
            discussion: """
                The backup (NAME, or the newest complete one in DEST) is restored, as `backup restore` would, into a new \
                database seghub_drill_… on the same server (the role needs CREATEDB) and a scratch folder (--scratch-dir, \
                default the system's temporary directory), every object's SHA-256 checked on the way. Then every table's \
                row count and every object's presence and size are compared with the manifest, the migrations are applied as after a real restore, and `segctl \
                check`'s checks run on the result. The scratch database and folder are removed either way. The outcome \
                is recorded in backup_drills: /metrics exports when the last successful drill finished \
                (seghub_last_backup_drill_timestamp_seconds) and SegHubBackupDrillTooOld fires when that is more than a \
                week ago. Exit 1 when any check fails. Safe while segserver runs: the live database and store are only read \
                (and the drill's row written).
                """)

        @Argument(help: "A backup folder name in DEST, or a path to one (default: the newest complete backup).") var name: String?
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var backups: BackupDirectoryOptions
        @Option(
            name: .customLong("scratch-dir"),
            help: ArgumentHelp("Where the scratch folder is made (default: the system's temporary directory).", valueName: "dir"))
        var scratchDirectory: String?
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        struct Report: Encodable {
            var backup: String
            var succeeded: Bool
            var problems: [String]
            var tables: Int
            var rows: Int64
            var objects: Int
            var objectBytes: Int64
            var seconds: Double
        }

        func run() async throws {
            let folder: String
            if let name {
                folder = try backups.folder(named: name)
            } else {
                let directory = try backups.required()
                guard let newest = BackupLocation.complete(in: directory).last else {
                    throw CLIError.failed("no complete backup in \(directory) to drill")
                }
                folder = "\(directory)/\(newest)"
            }
            let live = try database.configuration()
            let scratchName = "seghub_drill_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
            let scratchDatabase = live.with(database: scratchName)
            let root = URL(fileURLWithPath: scratchDirectory ?? FileManager.default.temporaryDirectory.path, isDirectory: true)
                .appendingPathComponent("seghub-drill-\(UUID().uuidString.lowercased())", isDirectory: true)
            let started = Date()

            let drill = try await database.withDatabase { postgres in
                var rehearsal = Rehearsal()
                do {
                    let manifest = try BackupLocation.readManifest(in: folder)
                    rehearsal.backupName = manifest.name
                    do {
                        try await ScratchDatabase.create(scratchName, pristine: true, on: postgres)
                    } catch {
                        throw CLIError.failed(
                            "the scratch database \(scratchName) cannot be created (\(error)): the drill needs a role with CREATEDB "
                                + "(ALTER ROLE … CREATEDB)")
                    }
                    do {
                        try await rehearsal.run(folder: folder, manifest: manifest, database: scratchDatabase, root: root, logger: postgres.logger)
                    } catch {
                        rehearsal.problems.append(Self.describe(error))
                    }
                    do {
                        try await ScratchDatabase.drop(scratchName, on: postgres)
                    } catch {
                        rehearsal.problems.append("the scratch database \(scratchName) could not be dropped: \(error)")
                    }
                } catch {
                    rehearsal.problems.append(Self.describe(error))
                }
                try? FileManager.default.removeItem(at: root)
                let drill = BackupDrill(
                    backupName: rehearsal.backupName ?? URL(fileURLWithPath: folder).lastPathComponent,
                    location: URL(fileURLWithPath: folder).deletingLastPathComponent().path, startedAt: started, finishedAt: Date(),
                    succeeded: rehearsal.problems.isEmpty, problems: rehearsal.problems, tables: rehearsal.tables, rows: rehearsal.rows,
                    objects: rehearsal.objects, objectBytes: rehearsal.objectBytes)
                if BackupLocation.isBackupName(drill.backupName) {
                    try await BackupRepository.recordDrill(drill, on: postgres)
                    try await Audit.record(
                        "backup.drill", targetType: "backup", targetID: nil,
                        details: ["name": drill.backupName, "succeeded": drill.succeeded, "problems": drill.problems], on: postgres)
                }
                return drill
            }

            let seconds = drill.finishedAt.timeIntervalSince(drill.startedAt)
            if json {
                try Output.json(
                    Report(
                        backup: drill.backupName, succeeded: drill.succeeded, problems: drill.problems, tables: drill.tables, rows: drill.rows,
                        objects: drill.objects, objectBytes: drill.objectBytes, seconds: seconds))
            } else if drill.succeeded {
                Terminal.output(
                    "drill of \(drill.backupName) succeeded: restored into a scratch database and folder; \(drill.tables) tables "
                        + "(\(drill.rows) rows) and \(drill.objects) objects (\(drill.objectBytes) bytes) match the manifest; "
                        + "migrated and checked; " + String(format: "%.1f s\n", seconds))
            } else {
                for problem in drill.problems { Terminal.warn("segctl backup drill: \(problem)") }
                Terminal.warn("drill of \(drill.backupName) FAILED (\(drill.problems.count) problem(s)); recorded in backup_drills")
            }
            if !drill.succeeded { throw ExitCode(1) }
        }

        static func describe(_ error: any Error) -> String {
            if error is CLIError || error is StorageError { return "\(error)" }
            return "\(StorageError(mapping: error))"
        }
    }

    /// One drill's restore and checks, and what they counted.
    struct Rehearsal {
        var backupName: String?
        var problems: [String] = []
        var tables = 0
        var rows: Int64 = 0
        var objects = 0
        var objectBytes: Int64 = 0

        /// Restores `folder` into the empty `database` and a store at `root`, then compares and checks.
        mutating func run(folder: String, manifest: BackupManifest, database: DatabaseConfiguration, root: URL, logger: Logger) async throws {
            try FileDigest.makeDirectory(root.path)
            let store = try LocalObjectStore(root: root)
            var quiet = logger
            quiet.logLevel = .error
            let counted = try await PostgresClient.withRunning(database, logger: quiet) {
                client -> (problems: [String], snapshot: DatabaseSnapshot) in
                let scratch = Database(client: client, logger: logger)
                let restorer = BackupRestorer(
                    configuration: database, dataDirectory: root.path, preRestoreDirectory: root.path, force: false, logger: logger, store: store)
                _ = try await restorer.restore(folder: folder, on: scratch)
                // Rows, schema version and references as the manifest has them, before the migrations (which may add to
                // a backup of an older schema); then, as after a real restore, the migrations this segctl knows.
                let snapshot = try await DatabaseSnapshot.read(on: scratch)
                _ = try await Migrator(on: scratch).migrate()
                return (BackupVerifier.compare(manifest: manifest, restored: snapshot), snapshot)
            }
            tables = counted.snapshot.rowCounts.count
            rows = counted.snapshot.rowCounts.values.reduce(0, +)
            problems += counted.problems
            // The restore checked every object's SHA-256 against the manifest and its key as it copied it in (and the
            // store hashed it again as it stored it): here each must be in the store with its size.
            for object in manifest.objects {
                guard let stored = try await store.object(ObjectKey(object.key)), stored.bytes == object.bytes else {
                    problems.append("object \(object.key): missing from the restored store, or not \(object.bytes) bytes")
                    continue
                }
                objects += 1
                objectBytes += stored.bytes
            }
            // `segctl check` on the restored installation.
            let checked = await SegCtl.Check.problems(database: database, dataDirectory: root.path)
            problems += checked.problems.map { "segctl check: \($0)" }
        }
    }
}
