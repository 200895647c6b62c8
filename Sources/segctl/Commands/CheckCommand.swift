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
    /// `segctl check`: the container health check.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit 0 when the database is reachable and migrated and the data directory is writable, else 1 with the reason.",
            discussion: "Meant for Docker's HEALTHCHECK: it gives up after --timeout seconds (default 5) and exits 1.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var data: DataDirectoryOptions
        @Option(name: .customLong("timeout"), help: ArgumentHelp("Give up after this many seconds.", valueName: "s")) var timeout = 5
        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of text.") var json = false

        func validate() throws {
            _ = try data.resolved()
            guard (1...300).contains(timeout) else { throw ValidationError("--timeout must be 1…300 seconds") }
        }

        struct Report: Encodable {
            var ok: Bool
            var problems: [String]
            var schemaVersion: Int?
        }

        func run() async throws {
            let jsonOutput = json
            // A database that never answers (a dropped packet, a hung server) must not hang the health check:
            // the process exits on its own once the time is up.
            let limit = timeout
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(limit)) {
                let message = "database: no answer within \(limit) s (unreachable or overloaded)"
                if jsonOutput {
                    Terminal.output(#"{"ok":false,"problems":["\#(message)"]}"# + "\n")
                } else {
                    Terminal.warn("segctl check: \(message)")
                }
                Glibc.exit(1)
            }

            let (problems, schemaVersion) = await Self.problems(database: try database.configuration(), dataDirectory: try data.resolved())

            if jsonOutput {
                try Output.json(Report(ok: problems.isEmpty, problems: problems, schemaVersion: schemaVersion))
            } else if problems.isEmpty {
                Terminal.output("ok: database reachable and migrated (schema \(schemaVersion ?? 0)), data directory writable\n")
            } else {
                for problem in problems { Terminal.warn("segctl check: \(problem)") }
            }
            if !problems.isEmpty { throw ExitCode(1) }
        }

        /// What is wrong with the database at `configuration` and the data directory (nothing when both are fit to
        /// serve), and the database's schema version when it could be read.
        static func problems(database configuration: DatabaseConfiguration, dataDirectory: String) async -> (problems: [String], schemaVersion: Int?)
        {
            var problems = checkWritable(dataDirectory)
            var logger = Logger(label: "segctl")
            logger.logLevel = .critical
            var schemaVersion: Int?
            do {
                let status = try await PostgresClient.withRunning(configuration, logger: logger) { client in
                    try await Migrator(on: Database(client: client, logger: logger)).status()
                }
                schemaVersion = status.applied.map(\.version).max()
                for entry in status.applied where entry.state != .current {
                    problems.append(
                        "migration \(entry.version) \(entry.name) is \(entry.state == .changed ? "changed since applied" : "unknown to this build")")
                }
                if !status.pending.isEmpty {
                    problems.append("database not migrated: \(status.pending.count) migration(s) pending (run segctl migrate)")
                }
            } catch {
                problems.append("database: \(StorageError(mapping: error))")
            }
            return (problems, schemaVersion)
        }

        /// Creates, syncs and removes a file in the data directory.
        static func checkWritable(_ directory: String) -> [String] {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                return ["data directory \(directory): no such directory"]
            }
            let probe = "\(directory)/.segctl-check-\(UUID().uuidString.lowercased())"
            let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                return ["data directory \(directory): not writable (\(String(cString: strerror(errno))))"]
            }
            defer { unlink(probe) }
            let written = write(descriptor, "ok", 2)
            let synced = fsync(descriptor)
            close(descriptor)
            guard written == 2, synced == 0 else { return ["data directory \(directory): writing failed (\(String(cString: strerror(errno))))"] }
            return []
        }
    }
}
