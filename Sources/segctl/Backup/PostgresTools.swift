import Foundation
import SegStorage

/// The PostgreSQL client programs (`pg_dump`, `pg_restore`) and how to point them at a database.
///
/// The programs come from the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout; the runtime image
/// installs the PostgreSQL 15 client), else from `PATH`. Connection settings go through libpq's environment
/// (`PGHOST`, `PGPASSWORD`, …), never the command line, so the password does not show in `ps`.
struct PostgresTools: Sendable {
    /// The absolute path of `program`, or a message saying it is missing.
    static func locate(_ program: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fileManager = FileManager.default
        var candidates: [String] = []
        if let versions = try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            let sorted = versions.compactMap { name -> (Int, String)? in Int(name).map { ($0, name) } }.sorted { $0.0 > $1.0 }
            candidates += sorted.map { "/usr/lib/postgresql/\($0.1)/bin/\(program)" }
        }
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            candidates.append("\(directory)/\(program)")
        }
        guard let found = candidates.first(where: { fileManager.isExecutableFile(atPath: $0) }) else {
            throw CLIError.failed("\(program) not found: install the PostgreSQL client (postgresql-client-15)")
        }
        return found
    }

    /// libpq environment variables for `configuration`: host, port, user, password and database always come from
    /// it; an operator's own `PGSSLMODE` (e.g. `verify-full` with `PGSSLROOTCERT`) is kept, else the URL's mode is used.
    static func environment(for configuration: DatabaseConfiguration, database: String? = nil) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        let operatorSSLMode = environment["PGSSLMODE"].flatMap { $0.isEmpty ? nil : $0 }
        for key in ["PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGPASSFILE", "PGDATABASE", "PGSERVICE", "PGOPTIONS"] {
            environment[key] = nil
        }
        switch configuration.endpoint {
        case .tcp(let host, let port):
            environment["PGHOST"] = host
            environment["PGPORT"] = String(port)
        case .unixSocket(let path):
            // libpq wants the directory and the port: `/run/postgresql/.s.PGSQL.5432`.
            let url = URL(fileURLWithPath: path)
            environment["PGHOST"] = url.deletingLastPathComponent().path
            if let port = url.lastPathComponent.split(separator: ".").last { environment["PGPORT"] = String(port) }
        }
        environment["PGUSER"] = configuration.username
        if let password = configuration.password { environment["PGPASSWORD"] = password }
        environment["PGDATABASE"] = database ?? configuration.database ?? configuration.username
        environment["PGSSLMODE"] =
            operatorSSLMode
            ?? {
                switch configuration.tls {
                case .disable: "disable"
                case .prefer: "prefer"
                case .require: "require"
                }
            }()
        environment["PGCONNECT_TIMEOUT"] = "10"
        environment["PGAPPNAME"] = "segctl"
        return environment
    }
}

/// Runs an external program and waits for it without blocking Swift's cooperative threads.
enum ExternalTool {
    struct Outcome: Sendable {
        var status: Int32
        var stderr: String
    }

    /// Runs `executable` with `arguments`; stdout goes to `stdoutPath` (or is discarded), stderr is captured.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String], stdoutPath: String? = nil
    ) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: executable)
                    process.arguments = arguments
                    process.environment = environment
                    process.standardInput = FileHandle.nullDevice
                    if let stdoutPath {
                        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil, attributes: [.posixPermissions: 0o600]),
                            let handle = FileHandle(forWritingAtPath: stdoutPath)
                        else {
                            throw CLIError.failed("\(stdoutPath): cannot be created")
                        }
                        process.standardOutput = handle
                    } else {
                        process.standardOutput = FileHandle.nullDevice
                    }
                    let errors = Pipe()
                    process.standardError = errors
                    try process.run()
                    let data = errors.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: Outcome(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self)))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// The last few lines of a tool's stderr, for an error message.
    static func tail(_ text: String) -> String {
        let lines = text.split(separator: "\n").suffix(5)
        return lines.isEmpty ? "(no message)" : lines.joined(separator: "\n")
    }
}
