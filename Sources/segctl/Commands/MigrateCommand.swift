import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import SegStorage

/// `--database-url`, falling back to `SEG_DATABASE_URL`: shared by the commands that need PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: ArgumentHelp("postgres://user:password@host:5432/database?sslmode=disable (default: $SEG_DATABASE_URL).", valueName: "url")
    )
    var databaseURL: String?

    /// The parsed configuration; `validate()` has already checked it.
    func configuration(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseConfiguration {
        do {
            if let databaseURL {
                return try DatabaseConfiguration(url: databaseURL)
            }
            return try DatabaseConfiguration.fromEnvironment("SEG_DATABASE_URL", environment: environment)
        } catch {
            if databaseURL == nil, environment["SEG_DATABASE_URL", default: ""].isEmpty {
                throw ValidationError("no database: pass --database-url or set SEG_DATABASE_URL")
            }
            throw ValidationError("\(error)")
        }
    }

    func validate() throws {
        _ = try configuration()
    }
}

extension SegCtl {
    /// `segctl migrate [status]`: applies or lists the database migrations.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the database migrations, or list them with `migrate status`.",
            discussion: """
                Migrations are numbered SQL files shipped with segctl, each applied in its own transaction under \
                a PostgreSQL advisory lock and recorded in schema_migrations with its SHA-256; running two at once \
                is safe. A migration changed after it was applied stops the run (exit 1) before anything is applied.
                """,
            subcommands: [Apply.self, Status.self],
            defaultSubcommand: Apply.self
        )
    }
}

extension SegCtl.Migrate {
    /// `segctl migrate [apply]`: applies every pending migration.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply every pending migration (the default).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let applied = try await database.withDatabase { postgres in
                try await Migrator(on: postgres).migrate()
            }
            for migration in applied {
                Terminal.output("applied \(MigrationName.format(migration.version, migration.name))\n")
            }
            Terminal.output(applied.isEmpty ? "up to date\n" : "\(applied.count) migration(s) applied\n")
        }
    }

    /// `segctl migrate status`: lists applied and pending migrations.
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List applied and pending migrations; exit 1 if an applied one changed or is unknown."
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let status = try await database.withDatabase { postgres in
                try await Migrator(on: postgres).status()
            }
            let formatter = ISO8601DateFormatter()
            var out = ""
            for entry in status.applied {
                let note =
                    switch entry.state {
                    case .current: ""
                    case .changed: " CHANGED since applied"
                    case .unknown: " UNKNOWN to this segctl"
                    }
                out += "applied  \(MigrationName.format(entry.version, entry.name))  \(formatter.string(from: entry.appliedAt))\(note)\n"
            }
            for migration in status.pending {
                out += "pending  \(MigrationName.format(migration.version, migration.name))\n"
            }
            Terminal.output(out)
            if status.applied.contains(where: { $0.state != .current }) {
                throw ExitCode(1)
            }
        }
    }
}

private enum MigrationName {
    static func format(_ version: Int, _ name: String) -> String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name
    }
}
