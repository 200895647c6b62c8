import Logging
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct MigratorTests {
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    @Test func appliesEveryMigrationOnAnEmptyDatabaseAndIsIdempotent() async throws {
        try await withTestDatabase(migrated: false) { client in
            // setup
            let migrator = try Migrator(on: Database(client: client, logger: logger))
            let bundled = try Migration.bundled()
            #expect(try await migrator.status().pending == bundled)

            // MUT
            let first = try await migrator.migrate()
            let second = try await migrator.migrate()

            // validate
            #expect(first == bundled)
            #expect(second.isEmpty)
            let status = try await migrator.status()
            #expect(status.isUpToDate)
            #expect(status.pending.isEmpty)
            #expect(status.applied.map(\.version) == bundled.map(\.version))
            #expect(status.applied.allSatisfy { $0.state == .current })
            let tables = try await client.query(
                "SELECT count(*)::int8 FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(\(Self.fixedTables))"
            ).collect().first?.decode(Int.self)
            #expect(tables == Self.fixedTables.count)
        }
    }

    static let fixedTables = [
        "users", "refresh_tokens", "projects", "project_members", "share_links", "images", "segmentations", "jobs", "exports",
        "audit_log", "backups", "schema_migrations",
    ]

    @Test func changedChecksumStopsTheRun() async throws {
        try await withTestDatabase { client in
            // setup
            try await client.query("UPDATE schema_migrations SET checksum = 'x' WHERE version = 2")
            let migrator = try Migrator(on: Database(client: client, logger: logger))

            // MUT + validate
            let name = try #require(try Migration.bundled().first { $0.version == 2 }?.name)
            await #expect(throws: StorageError.migrationChecksumMismatch(version: 2, name: name)) {
                try await migrator.migrate()
            }
            let status = try await migrator.status()
            #expect(!status.isUpToDate)
            #expect(status.applied.first { $0.version == 2 }?.state == .changed)
        }
    }

    @Test func unknownAppliedMigrationStopsTheRun() async throws {
        try await withTestDatabase { client in
            try await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'from_the_future', 'x')")
            let migrator = try Migrator(on: Database(client: client, logger: logger))
            await #expect(throws: StorageError.unknownMigration(version: 9999, name: "from_the_future")) {
                try await migrator.migrate()
            }
        }
    }

    @Test func concurrentMigratorsBothSucceedAndRecordEachMigrationOnce() async throws {
        try await withTestDatabase(migrated: false) { client in
            // MUT: each migrator leases its own connection from the pool
            let logger = self.logger
            async let first = Migrator(on: Database(client: client, logger: logger)).migrate()
            async let second = Migrator(on: Database(client: client, logger: logger)).migrate()
            let (a, b) = try await (first, second)

            // validate: one applied everything, the other nothing
            let bundled = try Migration.bundled()
            #expect(a.count + b.count == bundled.count)
            #expect(a.isEmpty || b.isEmpty)
            let rows = try await client.query("SELECT version::int8, count(*)::int8 FROM schema_migrations GROUP BY version ORDER BY version")
            var versions: [Int] = []
            for try await (version, count) in rows.decode((Int, Int).self) {
                #expect(count == 1)
                versions.append(version)
            }
            #expect(versions == bundled.map(\.version))
        }
    }

    @Test func failingMigrationRollsBackAndIsNotRecorded() async throws {
        try await withTestDatabase(migrated: false) { client in
            let migrations = [
                Migration(version: 1, name: "good", sql: "CREATE TABLE good (id int);"),
                Migration(version: 2, name: "bad", sql: "CREATE TABLE half (id int); SELECT * FROM missing_table;"),
            ]
            let migrator = try Migrator(on: Database(client: client, logger: logger), migrations: migrations)
            await #expect(throws: StorageError.migrationFailed(version: 2, name: "bad", sqlState: "42P01")) {
                try await migrator.migrate()
            }
            let status = try await migrator.status()
            #expect(status.applied.map(\.version) == [1])
            #expect(status.pending.map(\.version) == [2])
            let half = try await client.query("SELECT to_regclass('half') IS NULL").collect().first?.decode(Bool.self)
            #expect(half == true)
        }
    }
}
