import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SegStorage

/// `--data-dir`, falling back to `SEG_DATA_DIR`.
struct DataDirectoryOptions: ParsableArguments {
    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp("The file store's data directory (default: $SEG_DATA_DIR).", valueName: "dir")
    )
    var dataDirectory: String?

    /// The directory as an absolute path, or a usage error.
    func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let value = dataDirectory.flatMap { $0.isEmpty ? nil : $0 } ?? environment["SEG_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        guard let value else { throw ValidationError("no data directory: pass --data-dir or set SEG_DATA_DIR") }
        return URL(fileURLWithPath: value).standardizedFileURL.path
    }
}

/// `--dest`, falling back to `SEG_BACKUP_DIR`: where backup folders live.
struct BackupDirectoryOptions: ParsableArguments {
    @Option(
        name: .customLong("dest"),
        help: ArgumentHelp("The directory holding the backup folders (default: $SEG_BACKUP_DIR).", valueName: "dir")
    )
    var destination: String?

    /// The directory as an absolute path, or `nil` when neither is given.
    func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let value = destination.flatMap { $0.isEmpty ? nil : $0 } ?? environment["SEG_BACKUP_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        return value.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
    }

    /// The directory, or a usage error.
    func required() throws -> String {
        guard let directory = resolved() else { throw ValidationError("no backup directory: pass --dest or set SEG_BACKUP_DIR") }
        return directory
    }

    /// The folder of the backup `name` (a name in the directory, or a path); a bad name is
    /// reported and exits 64.
    func folder(named name: String) throws -> String {
        do {
            return try BackupLocation.resolve(name, in: resolved())
        } catch {
            Terminal.warn("segctl: \(error)")
            throw ExitCode(64)
        }
    }
}

extension DatabaseOptions {
    /// Runs `body` with the database (a running client's pool, logging warnings to stderr); `CLIError` becomes its message and exit 1, a usage problem exit 64, any
    /// other error a storage message (never SQL or values) and exit 1.
    func withDatabase<Result: Sendable>(_ body: (Database) async throws -> Result) async throws -> Result {
        var logger = Logger(label: "segctl") { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = .warning
        let configuration = try configuration()
        // The pool warns when the first lease comes before `run()` has started (always, in a short command): noise.
        var clientLogger = logger
        clientLogger.logLevel = .error
        do {
            return try await PostgresClient.withRunning(configuration, logger: clientLogger) { client in
                try await body(Database(client: client, logger: logger))
            }
        } catch let error as ExitCode {
            throw error
        } catch let error as CLIError {
            Terminal.warn("segctl: \(error)")
            throw ExitCode(1)
        } catch let error as ValidationErrorMessage {
            Terminal.warn("segctl: \(error)")
            throw ExitCode(64)
        } catch {
            Terminal.warn("segctl: \(StorageError(mapping: error))")
            throw ExitCode(1)
        }
    }
}

/// Records what segctl changed in `audit_log` (actor `nil`: the command line, details say so).
enum Audit {
    static func record(
        _ action: String, targetType: String?, targetID: UUID?, details: [String: Any] = [:], on database: Database
    ) async throws {
        var object = details
        object["via"] = "segctl"
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        _ = try await AuditLogRepository.record(
            actorID: nil, action: action, targetType: targetType, targetID: targetID, details: Array(data), on: database)
    }
}

/// Plain-text tables and JSON for command output.
enum Output {
    /// A left-aligned table with a header row, two spaces between columns.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ") + "\n"
        }
        return line(header) + rows.map(line).joined()
    }

    /// Prints `value` as one line of JSON with sorted keys.
    static func json<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        Terminal.output(Array(try encoder.encode(value)) + Array("\n".utf8))
    }

    /// An ISO 8601 time, or `-`.
    static func time(_ date: Date?) -> String {
        guard let date else { return "-" }
        return ISO8601DateFormatter().string(from: date)
    }

    /// Bytes as B, KiB, MiB or GiB with one decimal.
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}

extension UUID: @retroactive ExpressibleByArgument {
    /// A UUID in its usual text form, any letter case.
    public init?(argument: String) {
        self.init(uuidString: argument)
    }
}
