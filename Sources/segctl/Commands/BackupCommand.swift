import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SegCtl {
    /// `segctl backup create|list|verify|restore|prune|drill`: consistent backups of the database and the file objects.
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create, list, verify, restore, prune and drill backups (database dump + file objects + manifest).",
            discussion: """
                A backup is a folder DEST/seghub-YYYYMMDDTHHMMSSZ holding database.dump (pg_dump --format=custom), \
                objects/ab/cdef… (every file object the dump refers to), manifest.json (versions, row counts, \
                SHA-256 of every file) and manifest.json.sha256. It is written in a hidden DEST/.tmp-* folder and \
                renamed when complete. DEST is --dest or SEG_BACKUP_DIR. See docs/administration.md.
                """,
            subcommands: [Create.self, List.self, Verify.self, Restore.self, Prune.self, Drill.self, Schedule.self]
        )
    }
}

extension SegCtl.Backup {
    /// `segctl backup create`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a new backup folder while segserver keeps running, and record it in the backups table.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var backups: BackupDirectoryOptions
        @Flag(
            name: .customLong("verify"),
            help: "Verify the new backup at once (as `backup verify` does) and exit 1 if it fails.")
        var verify = false
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws {
            _ = try data.resolved()
            _ = try backups.required()
        }

        struct Report: Encodable {
            var name: String
            var path: String
            var bytes: Int64
            var objects: Int
            var schemaVersion: Int
            var tables: [String: Int64]
            var seconds: Double
            /// With `--verify`: the verdict and its problems.
            var verified: Bool?
            var problems: [String]?
        }

        func run() async throws {
            let destination = try backups.required()
            let dataDirectory = try data.resolved()
            let configuration = try database.configuration()
            let started = Date()
            let result = try await database.withDatabase { postgres in
                let writer = BackupWriter(
                    configuration: configuration, dataDirectory: dataDirectory, destination: destination, logger: postgres.logger)
                let result = try await writer.write(on: postgres)
                do {
                    let record = try await BackupRepository.record(
                        NewBackup(
                            name: result.name, location: destination, bytes: result.bytes, objectCount: result.manifest.objects.count,
                            schemaVersion: result.manifest.schemaVersion, startedAt: result.startedAt, finishedAt: result.finishedAt), on: postgres)
                    try await Audit.record(
                        "backup.create", targetType: "backup", targetID: record.id,
                        details: ["name": result.name, "bytes": Int(result.bytes), "objects": result.manifest.objects.count],
                        on: postgres)
                } catch {
                    throw CLIError.failed(
                        "the backup \(result.folder) is complete but could not be recorded in the backups table: \(StorageError(mapping: error))")
                }
                guard verify else { return (result, nil as BackupVerifier.Report?) }
                let report = try await BackupVerifier(configuration: configuration, logger: postgres.logger).verify(
                    folder: result.folder, on: postgres)
                try await BackupRepository.setVerified(name: result.name, verified: report.passed, on: postgres)
                try await Audit.record(
                    "backup.verify", targetType: "backup", targetID: nil,
                    details: ["name": result.name, "passed": report.passed, "problems": report.problems.count], on: postgres)
                return (result, report)
            }
            let (written, verification) = result
            let seconds = Date().timeIntervalSince(started)
            if json {
                try Output.json(
                    Report(
                        name: written.name, path: written.folder, bytes: written.bytes, objects: written.manifest.objects.count,
                        schemaVersion: written.manifest.schemaVersion, tables: written.manifest.tables, seconds: seconds,
                        verified: verification?.passed, problems: verification?.problems))
            } else {
                let rows = written.manifest.tables.values.reduce(0, +)
                Terminal.output(
                    "\(written.folder)\n\(Output.size(written.bytes)), \(rows) rows in \(written.manifest.tables.count) tables, "
                        + "\(written.manifest.objects.count) objects, schema \(written.manifest.schemaVersion), "
                        + String(format: "%.1f s\n", seconds))
                if let verification {
                    Terminal.output(
                        verification.passed
                            ? "verified: every checksum, row count and object matches\n"
                            : "VERIFICATION FAILED:\n" + verification.problems.map { "  \($0)\n" }.joined())
                }
            }
            if verification?.passed == false { throw ExitCode(1) }
        }
    }

    /// `segctl backup list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the complete backups in DEST, oldest first (unfinished .tmp-* folders are never listed).",
            discussion: "With a database (--database-url or SEG_DATABASE_URL) the verdict of each backup's last verification is shown.")

        @Option(
            name: .customLong("database-url"),
            help: ArgumentHelp("Where to read verification verdicts (default: $SEG_DATABASE_URL; optional).", valueName: "url"))
        var databaseURL: String?
        @OptionGroup var backups: BackupDirectoryOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of a table.") var json = false

        func validate() throws { _ = try backups.required() }

        struct Entry: Encodable {
            var name: String
            var path: String
            var createdAt: String?
            var bytes: Int64?
            var objects: Int?
            var schemaVersion: Int?
            /// `true`/`false`: the last verification's verdict; absent when never verified or unknown.
            var verified: Bool?
            var verifiedAt: Date?
        }

        func run() async throws {
            let directory = try backups.required()
            var verdicts: [String: BackupRecord] = [:]
            let url = databaseURL ?? ProcessInfo.processInfo.environment["SEG_DATABASE_URL"] ?? ""
            if !url.isEmpty {
                do {
                    let configuration = try DatabaseConfiguration(url: url)
                    var logger = Logger(label: "segctl")
                    logger.logLevel = .critical
                    let records = try await PostgresClient.withRunning(configuration, logger: logger) { client in
                        try await BackupRepository.list(on: Database(client: client, logger: logger))
                    }
                    for record in records where verdicts[record.name] == nil { verdicts[record.name] = record }
                } catch {
                    Terminal.warn("segctl: verification verdicts unavailable: \(StorageError(mapping: error))")
                }
            }
            let entries = BackupLocation.complete(in: directory).map { name -> Entry in
                let folder = "\(directory)/\(name)"
                let manifest = try? BackupLocation.readManifest(in: folder)
                let record = verdicts[name]
                return Entry(
                    name: name, path: folder, createdAt: manifest?.createdAt,
                    bytes: manifest.map { $0.contentBytes }, objects: manifest?.objects.count, schemaVersion: manifest?.schemaVersion,
                    verified: record?.verified, verifiedAt: record?.verifiedAt)
            }
            if json {
                try Output.json(entries)
                return
            }
            let rows = entries.map { entry in
                [
                    entry.name, entry.bytes.map(Output.size) ?? "damaged manifest", entry.objects.map(String.init) ?? "-",
                    entry.schemaVersion.map(String.init) ?? "-",
                    entry.verified.map { $0 ? "ok \(Output.time(entry.verifiedAt))" : "FAILED \(Output.time(entry.verifiedAt))" } ?? "never",
                ]
            }
            Terminal.output(Output.table(["NAME", "SIZE", "OBJECTS", "SCHEMA", "VERIFIED"], rows))
            Terminal.warn("\(entries.count) backup(s) in \(directory)")
        }
    }

    /// `segctl backup verify NAME`.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every checksum, restore into a scratch database, compare row counts and objects; exit 1 on any problem.")

        @Argument(help: "A backup folder name in DEST, or a path to a backup folder.") var name: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var backups: BackupDirectoryOptions
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        struct Report: Encodable {
            var name: String
            var path: String
            var passed: Bool
            var problems: [String]
            var tables: Int
            var rows: Int64
            var objects: Int
        }

        func run() async throws {
            let folder = try backups.folder(named: name)
            let configuration = try database.configuration()
            let report = try await database.withDatabase { postgres in
                let report = try await BackupVerifier(configuration: configuration, logger: postgres.logger).verify(folder: folder, on: postgres)
                let folderName = URL(fileURLWithPath: folder).lastPathComponent
                do {
                    try await BackupRepository.setVerified(name: folderName, verified: report.passed, on: postgres)
                    try await Audit.record(
                        "backup.verify", targetType: "backup", targetID: nil,
                        details: ["name": folderName, "passed": report.passed, "problems": report.problems.count], on: postgres)
                } catch {
                    Terminal.warn("segctl: the verdict could not be recorded: \(StorageError(mapping: error))")
                }
                return report
            }
            let folderName = URL(fileURLWithPath: folder).lastPathComponent
            if json {
                try Output.json(
                    Report(
                        name: folderName, path: folder, passed: report.passed, problems: report.problems,
                        tables: report.manifest?.tables.count ?? 0, rows: report.restoredRows, objects: report.manifest?.objects.count ?? 0))
            } else if report.passed {
                let manifest = report.manifest
                Terminal.output(
                    "OK \(folderName): every checksum matches; restored \(report.restoredRows) rows in \(manifest?.tables.count ?? 0) tables "
                        + "as the manifest says; \(manifest?.objects.count ?? 0) objects present with the right SHA-256\n")
            } else {
                Terminal.output("FAILED \(folderName):\n" + report.problems.map { "  \($0)\n" }.joined())
            }
            if !report.passed { throw ExitCode(1) }
        }
    }

    /// `segctl backup restore NAME`.
    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup's objects into the data directory and its dump into the database.",
            discussion: """
                Stop segserver first. A target database with any table is refused unless --force; with --force a \
                pg_dump of it is written to DEST/pre-restore-*.dump first, and the old schema is replaced in the same \
                transaction that loads the backup. Every checksum is checked before anything changes.
                """)

        @Argument(help: "A backup folder name in DEST, or a path to a backup folder.") var name: String
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var backups: BackupDirectoryOptions
        @Flag(name: .customLong("force"), help: "Replace a non-empty database (after dumping it).") var force = false
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws { _ = try data.resolved() }

        struct Report: Encodable {
            var name: String
            var objectsCopied: Int
            var objects: Int
            var preRestoreDump: String?
            var seconds: Double
        }

        func run() async throws {
            let folder = try backups.folder(named: name)
            let preRestoreDirectory = backups.resolved() ?? URL(fileURLWithPath: folder).deletingLastPathComponent().path
            let configuration = try database.configuration()
            let dataDirectory = try data.resolved()
            let started = Date()
            let result = try await database.withDatabase { postgres in
                let restorer = BackupRestorer(
                    configuration: configuration, dataDirectory: dataDirectory, preRestoreDirectory: preRestoreDirectory, force: force,
                    logger: postgres.logger)
                let result = try await restorer.restore(folder: folder, on: postgres)
                do {
                    try await Audit.record(
                        "backup.restore", targetType: "backup", targetID: nil,
                        details: ["name": result.manifest.name, "objectsCopied": result.objectsCopied, "forced": result.preRestoreDump != nil],
                        on: postgres)
                } catch {
                    Terminal.warn("segctl: the restore could not be recorded in audit_log: \(StorageError(mapping: error))")
                }
                return result
            }
            let seconds = Date().timeIntervalSince(started)
            if json {
                try Output.json(
                    Report(
                        name: result.manifest.name, objectsCopied: result.objectsCopied, objects: result.manifest.objects.count,
                        preRestoreDump: result.preRestoreDump, seconds: seconds))
            } else {
                if let dump = result.preRestoreDump { Terminal.warn("the previous database was saved to \(dump)") }
                Terminal.output(
                    "restored \(result.manifest.name): \(result.manifest.tables.values.reduce(0, +)) rows, "
                        + "\(result.manifest.objects.count) objects (\(result.objectsCopied) copied), schema \(result.manifest.schemaVersion), "
                        + String(format: "%.1f s\n", seconds))
            }
        }
    }

    /// `segctl backup prune [--keep N] [--keep-days D] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]`.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove old backups by a retention policy; the newest verified one is always kept.",
            discussion: """
                A backup is kept when any rule keeps it: --keep N (the newest N), --keep-days D (younger than D days), \
                --keep-daily N (the newest of each of the last N days that have a backup), --keep-weekly N (the newest \
                of each of the last N ISO weeks with one), --keep-monthly N (likewise per month); days, weeks and \
                months in UTC. The scheduled backups use --keep-daily 7 --keep-weekly 4 --keep-monthly 6 \
                (deploy/systemd, docker-compose.production.yml). Hidden .tmp-* folders left by backups that died \
                more than a day ago are removed too.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var backups: BackupDirectoryOptions
        @Option(name: .customLong("keep"), help: ArgumentHelp("Keep the newest N backups.", valueName: "n")) var keep: Int?
        @Option(name: .customLong("keep-days"), help: ArgumentHelp("Keep backups younger than D days.", valueName: "d")) var keepDays: Int?
        @Option(name: .customLong("keep-daily"), help: ArgumentHelp("Keep the newest backup of each of the last N days.", valueName: "n"))
        var keepDaily: Int?
        @Option(name: .customLong("keep-weekly"), help: ArgumentHelp("Keep the newest backup of each of the last N weeks.", valueName: "n"))
        var keepWeekly: Int?
        @Option(name: .customLong("keep-monthly"), help: ArgumentHelp("Keep the newest backup of each of the last N months.", valueName: "n"))
        var keepMonthly: Int?
        @Flag(name: .customLong("dry-run"), help: "Only list what would be removed.") var dryRun = false
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws {
            _ = try backups.required()
            guard policy.hasRule else {
                throw ValidationError("give at least one of --keep, --keep-days, --keep-daily, --keep-weekly, --keep-monthly")
            }
            if let keep, keep < 1 { throw ValidationError("--keep must be at least 1") }
            if let keepDays, keepDays < 0 { throw ValidationError("--keep-days must be 0 or more") }
            for (name, value) in [("--keep-daily", keepDaily), ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly)] {
                if let value, value < 1 { throw ValidationError("\(name) must be at least 1") }
            }
        }

        struct Report: Encodable {
            var removed: [String]
            var kept: [String]
            /// Hidden `.tmp-*` folders of backups that died more than a day ago.
            var staleTemporary: [String]
            var dryRun: Bool
        }

        /// `.tmp-*` folders in `directory` last modified more than a day ago (a killed backup's leftovers; a running
        /// backup touches its folder every 256 objects it copies).
        static func staleTemporaryFolders(in directory: String, now: Date) -> [String] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return names.filter { name in
                guard name.hasPrefix(".tmp-"),
                    let modified = try? FileManager.default.attributesOfItem(atPath: "\(directory)/\(name)")[.modificationDate] as? Date
                else { return false }
                return now.timeIntervalSince(modified) > 86_400
            }.sorted()
        }

        func run() async throws {
            let directory = try backups.required()
            let names = BackupLocation.complete(in: directory)
            let stale = Self.staleTemporaryFolders(in: directory, now: Date())
            let (removed, kept) = try await database.withDatabase { postgres in
                let verifiedNames = Set(try await BackupRepository.list(on: postgres).filter { $0.verified == true }.map(\.name))
                let plan = Self.plan(names: names, verified: verifiedNames, policy: policy, now: Date())
                guard !dryRun else { return plan }
                for name in stale { try? FileManager.default.removeItem(atPath: "\(directory)/\(name)") }
                var removed: [String] = []
                for name in plan.remove {
                    // Renamed out of the backup pattern first, so a half-removed folder never looks complete.
                    let doomed = "\(directory)/.tmp-removing-\(name)"
                    guard rename("\(directory)/\(name)", doomed) == 0 else {
                        throw CLIError.failed("\(directory)/\(name): cannot be removed")
                    }
                    try? FileManager.default.removeItem(atPath: doomed)
                    try await BackupRepository.delete(name: name, location: directory, on: postgres)
                    removed.append(name)
                }
                if !removed.isEmpty || !stale.isEmpty {
                    try await Audit.record(
                        "backup.prune", targetType: "backup", targetID: nil, details: ["removed": removed, "staleTemporary": stale], on: postgres)
                }
                return (remove: removed, keep: plan.keep)
            }
            if json {
                try Output.json(Report(removed: removed, kept: kept, staleTemporary: stale, dryRun: dryRun))
            } else {
                Terminal.output((removed + stale).map { "\(dryRun ? "would remove" : "removed") \($0)\n" }.joined())
                Terminal.warn("\(removed.count) backup(s) \(dryRun ? "would be " : "")removed, \(kept.count) kept")
            }
        }

        /// The retention rules given.
        var policy: RetentionPolicy {
            RetentionPolicy(newest: keep, days: keepDays, daily: keepDaily, weekly: keepWeekly, monthly: keepMonthly)
        }

        /// Which backups go: those no rule of `policy` keeps and that are not the newest verified one. `names` sort by
        /// time (the name holds it).
        static func plan(names: [String], verified: Set<String>, policy: RetentionPolicy, now: Date) -> (remove: [String], keep: [String]) {
            let newestFirst = names.sorted(by: >)
            var keepSet = Set<String>()
            if let keep = policy.newest { keepSet.formUnion(newestFirst.prefix(keep)) }
            if let keepDays = policy.days {
                let cutoff = now.addingTimeInterval(-Double(keepDays) * 86_400)
                keepSet.formUnion(newestFirst.filter { (BackupLocation.date(ofName: $0) ?? .distantPast) >= cutoff })
            }
            var calendar = Calendar(identifier: .iso8601)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            let periods: [(count: Int?, period: (Date) -> String)] = [
                (
                    policy.daily,
                    { date in
                        let parts = calendar.dateComponents([.year, .month, .day], from: date)
                        return "\(parts.year ?? 0)-\(parts.month ?? 0)-\(parts.day ?? 0)"
                    }
                ),
                (
                    policy.weekly,
                    { date in
                        let parts = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
                        return "\(parts.yearForWeekOfYear ?? 0)-W\(parts.weekOfYear ?? 0)"
                    }
                ),
                (
                    policy.monthly,
                    { date in
                        let parts = calendar.dateComponents([.year, .month], from: date)
                        return "\(parts.year ?? 0)-\(parts.month ?? 0)"
                    }
                ),
            ]
            for (count, period) in periods {
                guard let count else { continue }
                // The newest backup of each period, newest periods first, until `count` periods are covered.
                var seen = Set<String>()
                for name in newestFirst {
                    guard let date = BackupLocation.date(ofName: name) else { continue }
                    guard seen.count < count || seen.contains(period(date)) else { break }
                    if seen.insert(period(date)).inserted { keepSet.insert(name) }
                }
            }
            if let newestVerified = newestFirst.first(where: verified.contains) { keepSet.insert(newestVerified) }
            let remove = names.filter { !keepSet.contains($0) }
            return (remove, names.filter(keepSet.contains))
        }
    }
}

/// Which backups `segctl backup prune` keeps: any backup a rule names (a `nil` rule names none).
struct RetentionPolicy: Equatable {
    /// The newest N.
    var newest: Int?
    /// Those younger than N days.
    var days: Int?
    /// The newest of each of the last N days (UTC) that have a backup.
    var daily: Int?
    /// The newest of each of the last N ISO weeks that have one.
    var weekly: Int?
    /// The newest of each of the last N months that have one.
    var monthly: Int?

    /// Whether any rule is given.
    var hasRule: Bool { [newest, days, daily, weekly, monthly].contains { $0 != nil } }
}
