import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SegCtl.Backup {
    /// `segctl backup schedule`: the scheduled backups of an installation, for a container (docker-compose.db.yml's
    /// `backup` service) or a systemd timer (deploy/systemd, with `--once`).
    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every day at --at (UTC): backup create --verify, then prune by the retention policy, and a drill weekly.",
            discussion: """
                Each round runs `backup create --verify`, then `backup prune --keep-daily D --keep-weekly W \\
                --keep-monthly M` (default 7, 4, 6), then on --drill-weekday (default 7, Sunday; `daily` or `never`) \\
                `backup drill`, each as if run alone with the same --database-url, --data-dir and --dest, each step's \\
                outcome on standard error. A step that fails is reported and the round goes on (a failed backup is not \\
                pruned against: prune keeps the newest verified backup). With --once the round runs now, once, and the exit \\
                status is 1 if any step failed: what a systemd timer's service runs. Without it, rounds run forever at \\
                --at; /metrics and the alerts SegHubBackupTooOld and SegHubBackupDrillTooOld watch them.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var data: DataDirectoryOptions
        @OptionGroup var backups: BackupDirectoryOptions
        @Option(name: .customLong("at"), help: ArgumentHelp("When each day's round starts, HH:MM in UTC.", valueName: "hh:mm"))
        var at = "02:30"
        @Option(name: .customLong("keep-daily"), help: ArgumentHelp("Prune: dailies kept.", valueName: "n")) var keepDaily = 7
        @Option(name: .customLong("keep-weekly"), help: ArgumentHelp("Prune: weeklies kept.", valueName: "n")) var keepWeekly = 4
        @Option(name: .customLong("keep-monthly"), help: ArgumentHelp("Prune: monthlies kept.", valueName: "n")) var keepMonthly = 6
        @Option(
            name: .customLong("drill-weekday"),
            help: ArgumentHelp("The day of the drill: 1 (Monday) … 7 (Sunday), daily or never.", valueName: "day"))
        var drillWeekday = "7"
        @Option(name: .customLong("scratch-dir"), help: ArgumentHelp("The drill's scratch folder's parent.", valueName: "dir"))
        var scratchDirectory: String?
        @Flag(name: .customLong("once"), help: "Run one round now and exit (1 if a step failed).") var once = false

        func validate() throws {
            _ = try backups.required()
            guard Self.minutes(of: at) != nil else { throw ValidationError("--at must be HH:MM (UTC), e.g. 02:30") }
            guard ["daily", "never"].contains(drillWeekday) || (Int(drillWeekday).map { (1...7).contains($0) } ?? false) else {
                throw ValidationError("--drill-weekday must be 1 (Monday) … 7 (Sunday), daily or never")
            }
            for (name, value) in [("--keep-daily", keepDaily), ("--keep-weekly", keepWeekly), ("--keep-monthly", keepMonthly)] where value < 1 {
                throw ValidationError("\(name) must be at least 1")
            }
        }

        func run() async throws {
            if once {
                if try await round(at: Date()) == false { throw ExitCode(1) }
                return
            }
            Terminal.warn("segctl backup schedule: rounds every day at \(at) UTC (drill: \(drillWeekday))")
            while true {
                let next = Self.next(at: Self.minutes(of: at) ?? 150, after: Date())
                Terminal.warn("segctl backup schedule: next round at \(ISO8601DateFormatter().string(from: next))")
                try await Task.sleep(for: .seconds(max(1, next.timeIntervalSinceNow)))
                _ = try await round(at: next)
            }
        }

        /// One round; `false` when a step failed.
        func round(at date: Date) async throws -> Bool {
            // The same options as given to schedule (or, when not given, the same environment variables).
            var common: [String] = []
            if let url = database.databaseURL { common += ["--database-url", url] }
            if let destination = backups.destination { common += ["--dest", destination] }
            let dataOptions = data.dataDirectory.map { ["--data-dir", $0] } ?? []
            var succeeded = await step("backup create --verify") {
                let command = try Create.parse(["--verify"] + common + dataOptions)
                try await command.run()
            }
            let pruneOptions = ["--keep-daily", "\(keepDaily)", "--keep-weekly", "\(keepWeekly)", "--keep-monthly", "\(keepMonthly)"]
            succeeded =
                await step("backup prune " + pruneOptions.joined(separator: " ")) {
                    let command = try Prune.parse(pruneOptions + common)
                    try await command.run()
                } && succeeded
            if Self.drills(on: date, weekday: drillWeekday) {
                succeeded =
                    await step("backup drill") {
                        let command = try Drill.parse(common + (scratchDirectory.map { ["--scratch-dir", $0] } ?? []))
                        try await command.run()
                    } && succeeded
            }
            return succeeded
        }

        /// Runs one step, saying how it went; `false` when it failed.
        func step(_ name: String, _ body: () async throws -> Void) async -> Bool {
            let started = Date()
            do {
                try await body()
                Terminal.warn("segctl backup schedule: \(name): ok (" + String(format: "%.1f s)", Date().timeIntervalSince(started)))
                return true
            } catch let exit as ExitCode where exit == .success {
                Terminal.warn("segctl backup schedule: \(name): ok")
                return true
            } catch {
                Terminal.warn("segctl backup schedule: \(name): FAILED (\(error is ExitCode ? "see above" : "\(error)"))")
                return false
            }
        }

        /// `HH:MM` as minutes after midnight.
        static func minutes(of text: String) -> Int? {
            let parts = text.split(separator: ":")
            guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
                (0..<24).contains(hours), (0..<60).contains(minutes)
            else { return nil }
            return hours * 60 + minutes
        }

        /// The first time after `date` that is `minutes` after a UTC midnight.
        static func next(at minutes: Int, after date: Date) -> Date {
            let day = (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
            let today = Date(timeIntervalSince1970: day + Double(minutes) * 60)
            return today > date ? today : today.addingTimeInterval(86_400)
        }

        /// Whether the round of `date` drills: every day, never, or on ISO weekday 1 (Monday) … 7 (Sunday), in UTC.
        static func drills(on date: Date, weekday: String) -> Bool {
            switch weekday {
            case "daily": return true
            case "never": return false
            default:
                // 1 January 1970 was a Thursday (ISO 4).
                let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
                let iso = ((days % 7) + 7 + 3) % 7 + 1
                return Int(weekday) == iso
            }
        }
    }
}
