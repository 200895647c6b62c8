import Foundation
import PostgresNIO
import SegTestSupport
import Testing

@testable import SegStorage

#if canImport(Glibc)
import Glibc
#endif

/// `segctl backup` against real PostgreSQL databases, pg_dump/pg_restore and file stores in temporary directories.
@Suite(.timeLimit(.minutes(10))) struct BackupCommandTests {
    /// Writes continue while the backup runs; the backup is then restored into an empty database and an empty data
    /// directory, and every row and file is compared with the source.
    @Test func backupWhileWritingThenRestoreGivesEveryRowAndFile() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { client, url in
            // setup: 30 images, then a writer that keeps adding images while the backup runs
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 30)
            let stop = StopFlag()
            let writer = Task {
                var written = 0
                while await !stop.isSet {
                    _ = try await AdminFixtures.addImage(client: client, store: store, project: seeded.project.id, index: 1000 + written, tag: "w")
                    written += 1
                }
                return written
            }

            // MUT
            let created = try await AdminFixtures.run(
                ["backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json"])
            await stop.set()
            let written = try await writer.value

            // validate: the report and the folder
            #expect(created.status == 0, "stderr: \(created.stderr)")
            let report = try #require(try AdminFixtures.json(created) as? [String: Any])
            let name = try #require(report["name"] as? String)
            #expect(name.wholeMatch(of: /seghub-[0-9]{8}T[0-9]{6}Z/) != nil)
            let tables = try #require(report["tables"] as? [String: Int])
            let backedUpImages = try #require(tables["images"])
            // Whatever the writer managed meanwhile (not asserted: that would depend on timing), the snapshot holds
            // the 30 images made before and at most all of them.
            #expect(backedUpImages >= 30 && backedUpImages <= 30 + written)
            #expect(tables["users"] == 2 && tables["projects"] == 1 && tables["project_members"] == 2)
            #expect(report["objects"] as? Int == 2 * backedUpImages)
            let names = try FileManager.default.contentsOfDirectory(atPath: dest)
            #expect(names == [name], "exactly one new folder and no temporary one: \(names)")
            let checksum = try String(contentsOfFile: "\(dest)/\(name)/manifest.json.sha256", encoding: .utf8)
            let manifestHash = try AdminFixtures.sha256(URL(fileURLWithPath: "\(dest)/\(name)/manifest.json"))
            #expect(checksum == "\(manifestHash)  manifest.json\n")
            let recorded = try await BackupRepository.list(on: Database(client: client, logger: AdminFixtures.logger))
            #expect(recorded.map(\.name) == [name] && recorded.first?.location == dest && recorded.first?.verified == nil)
            // RELIABILITY D4: the folder 0700, its files 0600
            func mode(_ path: String) throws -> Int? {
                (try FileManager.default.attributesOfItem(atPath: "\(dest)/\(name)\(path)")[.posixPermissions] as? NSNumber)?.intValue
            }
            #expect(try mode("") == 0o700)
            for file in ["/database.dump", "/manifest.json", "/manifest.json.sha256"] { #expect(try mode(file) == 0o600, "\(file)") }

            // validate: verify passes and records its verdict
            let verified = try await AdminFixtures.run(["backup", "verify", name, "--database-url", url, "--dest", dest])
            #expect(verified.status == 0, "stdout: \(verified.stdoutText) stderr: \(verified.stderr)")
            #expect(verified.stdoutText.hasPrefix("OK \(name)"))
            #expect(try await BackupRepository.list(on: Database(client: client, logger: AdminFixtures.logger)).first?.verified == true)

            let source = try await AdminFixtures.rows(client)
            try await withTestDatabaseURL(migrated: false) { target, targetURL in
                // MUT: restore into an empty database and an empty data directory
                let restoredData = root.appendingPathComponent("restored-data")
                let restored = try await AdminFixtures.run(
                    ["backup", "restore", name, "--database-url", targetURL, "--data-dir", restoredData.path, "--dest", dest])
                #expect(restored.status == 0, "stderr: \(restored.stderr)")

                // validate: every restored row is a source row; tables nobody wrote to are equal
                let copy = try await AdminFixtures.rows(target)
                #expect(Set(copy.keys) == Set(source.keys))
                for (table, rows) in copy {
                    let sourceRows = Set(source[table] ?? [])
                    let restoredRows = table == "audit_log" ? rows.filter { !$0.contains(#""backup.restore""#) } : rows
                    #expect(Set(restoredRows).isSubset(of: sourceRows), "table \(table)")
                    if ["users", "projects", "project_members", "schema_migrations"].contains(table) {
                        #expect(restoredRows == source[table] ?? [], "table \(table)")
                    }
                }
                #expect(copy["images"]?.count == backedUpImages)
                // every segmentation written before the backup came along (the writer's images get theirs in a
                // second transaction, so a snapshot may hold such an image without its segmentation)
                func ids(_ rows: [String]?, _ field: String) -> [String] {
                    (rows ?? []).compactMap { row in
                        (try? JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])?[field] as? String
                    }
                }
                let seededImages = Set(seeded.images.map { $0.id.uuidString.lowercased() })
                let restoredSegmented = Set(ids(copy["segmentations"], "image_id"))
                let seededSegmented = ids(source["segmentations"], "image_id").filter(seededImages.contains)
                #expect(seededSegmented.count == 15)
                #expect(Set(seededSegmented).isSubset(of: restoredSegmented))
                #expect(seededImages.isSubset(of: Set(ids(copy["images"], "id"))))
                #expect(copy["backups"] == [], "the backup's own row is written after its snapshot")

                // validate: every file the restored rows refer to is there with its hash, byte for byte the source's
                let keys = try await AdminFixtures.referencedKeys(target)
                #expect(keys.count == 2 * backedUpImages)
                let restoredStore = try LocalObjectStore(root: restoredData)
                for key in keys {
                    let objectKey = try ObjectKey(key)
                    #expect(try AdminFixtures.sha256(restoredStore.url(for: objectKey)) == key)
                    #expect(try restoredStore.readBlocking(objectKey) == store.readBlocking(objectKey))
                }
            }
        }
    }

    @Test func restoreRefusesANonEmptyDatabaseAndForceReplacesItAfterDumpingIt() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { client, url in
            // setup: a backup, then changes after it
            _ = try await AdminFixtures.seed(client: client, store: store, images: 4)
            let created = try await AdminFixtures.run([
                "backup", "create", "--verify", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json",
            ])
            try #require(created.status == 0, "stderr: \(created.stderr)")
            let createdReport = try #require(try AdminFixtures.json(created) as? [String: Any])
            let name = try #require(createdReport["name"] as? String)
            #expect(createdReport["verified"] as? Bool == true && createdReport["problems"] as? [String] == [])
            #expect(try await BackupRepository.list(on: Database(client: client, logger: AdminFixtures.logger)).first?.verified == true)
            let atBackup = try await AdminFixtures.rows(client)
            _ = try await UserRepository.create(
                NewUser(email: "later@example.org", passwordHash: "$2b$04$z"), on: Database(client: client, logger: AdminFixtures.logger))
            try await client.query("DELETE FROM segmentations")
            let changed = try await AdminFixtures.rows(client)

            // MUT: without --force
            let refused = try await AdminFixtures.run([
                "backup", "restore", name, "--database-url", url, "--data-dir", store.root.path, "--dest", dest,
            ])

            // validate: refused, nothing changed, no pre-restore dump
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("not empty"), "stderr: \(refused.stderr)")
            #expect(try await AdminFixtures.rows(client) == changed)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dest).filter { $0.hasPrefix("pre-restore-") }.isEmpty)

            // MUT: with --force
            let forced = try await AdminFixtures.run(
                ["backup", "restore", name, "--force", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json"])

            // validate: the database is the backup's again (plus the audit entries written since), and the old one was dumped
            #expect(forced.status == 0, "stderr: \(forced.stderr)")
            let now = try await AdminFixtures.rows(client)
            for (table, rows) in atBackup where table != "audit_log" && table != "backups" {
                #expect(now[table] == rows, "table \(table)")
            }
            #expect(now["users"]?.contains { $0.contains("later@example.org") } == false)
            let report = try #require(try AdminFixtures.json(forced) as? [String: Any])
            let dump = try #require(report["preRestoreDump"] as? String)
            #expect(dump.hasPrefix(dest + "/pre-restore-") && FileManager.default.fileExists(atPath: dump))
            let attributes = try FileManager.default.attributesOfItem(atPath: dump)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            #expect(BackupCommandTests.isBackupListEmpty(dest) == false)
        }
    }

    /// A forced restore that fails half-way (the dump creates a schema the target already has) is rolled back whole:
    /// the target keeps every row it had, although its old schema was dropped in the same transaction.
    @Test func failedForcedRestoreLeavesTheTargetAsItWas() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { source, sourceURL in
            // setup: a backup whose dump creates schema `reporting`
            _ = try await AdminFixtures.seed(client: source, store: store, images: 2, tag: "s")
            try await source.query("CREATE SCHEMA reporting")
            try await source.query("CREATE TABLE reporting.daily (day date PRIMARY KEY)")
            let created = try await AdminFixtures.run([
                "backup", "create", "--database-url", sourceURL, "--data-dir", store.root.path, "--dest", dest, "--json",
            ])
            try #require(created.status == 0, "stderr: \(created.stderr)")
            let name = try #require((try AdminFixtures.json(created) as? [String: Any])?["name"] as? String)

            try await withTestDatabaseURL { target, targetURL in
                // a target with data of its own and a schema `reporting` that the restore does not drop
                _ = try await AdminFixtures.seed(client: target, store: store, images: 3, tag: "t")
                try await target.query("CREATE SCHEMA reporting")
                let before = try await AdminFixtures.rows(target)

                // MUT
                let failed = try await AdminFixtures.run([
                    "backup", "restore", name, "--force", "--database-url", targetURL, "--data-dir", store.root.path, "--dest", dest,
                ])

                // validate: exit 1 naming the rollback, every row as before, the pre-restore dump kept
                #expect(failed.status == 1)
                #expect(failed.stderr.contains("rolled back"), "stderr: \(failed.stderr)")
                #expect(try await AdminFixtures.rows(target) == before)
                let dumps = try FileManager.default.contentsOfDirectory(atPath: dest).filter { $0.hasPrefix("pre-restore-") }
                #expect(dumps.count == 1)
            }
        }
    }

    @Test func verifyCatchesACorruptedObjectADamagedDumpAndAnEditedManifest() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { client, url in
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 3)
            let created = try await AdminFixtures.run([
                "backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json",
            ])
            try #require(created.status == 0, "stderr: \(created.stderr)")
            let name = try #require((try AdminFixtures.json(created) as? [String: Any])?["name"] as? String)
            let folder = URL(fileURLWithPath: dest).appendingPathComponent(name)
            let verify = ["backup", "verify", name, "--database-url", url, "--dest", dest]

            // a changed byte in one object
            let key = seeded.images[1].objectKey.hex
            let object = folder.appendingPathComponent("objects/\(key.prefix(2))/\(key.dropFirst(2))")
            try AdminFixtures.flipByte(in: object, at: 10)
            let badObject = try await AdminFixtures.run(verify)
            #expect(badObject.status == 1)
            #expect(badObject.stdoutText.contains("object \(key): SHA-256 mismatch"), "stdout: \(badObject.stdoutText)")
            #expect(try await BackupRepository.list(on: Database(client: client, logger: AdminFixtures.logger)).first?.verified == false)
            try AdminFixtures.flipByte(in: object, at: 10)

            // a missing object
            let moved = folder.appendingPathComponent("moved-away")
            try FileManager.default.moveItem(at: object, to: moved)
            let missing = try await AdminFixtures.run(verify)
            #expect(missing.status == 1 && missing.stdoutText.contains("object \(key): missing"), "stdout: \(missing.stdoutText)")
            try FileManager.default.moveItem(at: moved, to: object)

            // a changed byte in the dump
            let dump = folder.appendingPathComponent("database.dump")
            try AdminFixtures.flipByte(in: dump, at: 2000)
            let badDump = try await AdminFixtures.run(verify)
            #expect(badDump.status == 1 && badDump.stdoutText.contains("database.dump: SHA-256 mismatch"), "stdout: \(badDump.stdoutText)")
            try AdminFixtures.flipByte(in: dump, at: 2000)

            // a changed byte in the manifest
            let manifestURL = folder.appendingPathComponent("manifest.json")
            let original = try Data(contentsOf: manifestURL)
            let edited = String(decoding: original, as: UTF8.self).replacingOccurrences(of: #""users" : 2"#, with: #""users" : 3"#)
            #expect(edited != String(decoding: original, as: UTF8.self))
            try Data(edited.utf8).write(to: manifestURL)
            let badManifest = try await AdminFixtures.run(verify)
            #expect(
                badManifest.status == 1 && badManifest.stdoutText.contains("manifest.json: SHA-256 mismatch"), "stdout: \(badManifest.stdoutText)")

            // the same edit with a matching manifest.json.sha256: the row counts of the restored dump catch it
            try Data("\(try AdminFixtures.sha256(manifestURL))  manifest.json\n".utf8).write(
                to: folder.appendingPathComponent("manifest.json.sha256"))
            let badCount = try await AdminFixtures.run(verify)
            #expect(badCount.status == 1)
            #expect(badCount.stdoutText.contains("table users: 2 rows after restore, manifest says 3"), "stdout: \(badCount.stdoutText)")

            // a dump cut short with matching checksums everywhere: pg_restore into the scratch database fails
            try original.write(to: manifestURL)
            let dumpData = try Data(contentsOf: dump)
            try dumpData.prefix(dumpData.count / 2).write(to: dump)
            var manifest = try #require(try JSONSerialization.jsonObject(with: original) as? [String: Any])
            var database = try #require(manifest["database"] as? [String: Any])
            database["sha256"] = try AdminFixtures.sha256(dump)
            database["bytes"] = dumpData.count / 2
            manifest["database"] = database
            try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]).write(to: manifestURL)
            try Data("\(try AdminFixtures.sha256(manifestURL))  manifest.json\n".utf8).write(
                to: folder.appendingPathComponent("manifest.json.sha256"))
            let truncated = try await AdminFixtures.run(verify)
            #expect(
                truncated.status == 1 && truncated.stdoutText.contains("pg_restore into a scratch database failed"), "stdout: \(truncated.stdoutText)"
            )

            // the scratch database it named is not left behind (other tests verify their backups on the same server at
            // the same time, so only this run's own scratch database is looked for)
            let named = truncated.stdoutText.firstMatch(of: /seghub_verify_[0-9a-f]{16}/).map { String($0.output) }
            let scratchName = try #require(named, "stdout: \(truncated.stdoutText)")
            var scratch = -1
            for try await count in try await client.query("SELECT count(*)::int8 FROM pg_database WHERE datname = \(scratchName)").decode(
                Int64.self)
            {
                scratch = Int(count)
            }
            #expect(scratch == 0)
        }
    }

    /// A backup that fails half-way (an object the database refers to is gone) leaves nothing that looks complete.
    @Test func failedBackupLeavesNothingComplete() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { client, url in
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 6)
            _ = try store.removeBlocking(seeded.images[5].objectKey)

            let failed = try await AdminFixtures.run(["backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest])

            #expect(failed.status == 1)
            #expect(failed.stderr.contains("object \(seeded.images[5].objectKey.hex)"), "stderr: \(failed.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dest) == [])
            #expect(try await BackupRepository.list(on: Database(client: client, logger: AdminFixtures.logger)) == [])
            #expect(Self.isBackupListEmpty(dest))
        }
    }

    /// A backup killed with SIGKILL half-way leaves only its hidden temporary folder, which is never listed; had it
    /// finished before the signal, what is listed must verify.
    @Test func killedBackupIsNotListedAsComplete() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups")
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)

        try await withTestDatabaseURL { client, url in
            _ = try await AdminFixtures.seed(client: client, store: store, images: 300)
            let process = Process()
            process.executableURL = try SegCtlRunner.binary
            process.arguments = ["backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest.path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill it as soon as its temporary folder holds some objects.
            var sawTemporary = false
            while process.isRunning {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dest.path)) ?? []
                if let temporary = names.first(where: { $0.hasPrefix(".tmp-") }),
                    FileManager.default.fileExists(atPath: dest.appendingPathComponent("\(temporary)/objects").path)
                {
                    kill(process.processIdentifier, SIGKILL)
                    sawTemporary = true
                    break
                }
                try await Task.sleep(for: .milliseconds(2))
            }
            process.waitUntilExit()

            let listed = try await AdminFixtures.run(["backup", "list", "--dest", dest.path, "--json"])
            #expect(listed.status == 0)
            let entries = try #require(try AdminFixtures.json(listed) as? [[String: Any]])
            if process.terminationReason == .uncaughtSignal {
                #expect(sawTemporary)
                #expect(entries.isEmpty, "a killed backup is listed: \(entries)")
                #expect(try FileManager.default.contentsOfDirectory(atPath: dest.path).allSatisfy { $0.hasPrefix(".tmp-") })
            } else {
                // It finished first: whatever is listed must be whole.
                for entry in entries {
                    let name = try #require(entry["name"] as? String)
                    let verified = try await AdminFixtures.run(["backup", "verify", name, "--database-url", url, "--dest", dest.path])
                    #expect(verified.status == 0, "\(verified.stdoutText)")
                }
            }
        }
    }

    @Test func aDrillRestoresTheNewestBackupIntoScratchChecksItAndRecordsTheOutcome() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path
        let scratch = root.appendingPathComponent("scratch").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

        try await withTestDatabaseURL { client, url in
            // setup: an installation with three images and its backup
            _ = try await AdminFixtures.seed(client: client, store: store, images: 3)
            let created = try await AdminFixtures.run([
                "backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json",
            ])
            try #require(created.status == 0, "stderr: \(created.stderr)")
            let name = try #require((try AdminFixtures.json(created) as? [String: Any])?["name"] as? String)
            let manifest = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dest)/\(name)/manifest.json"))) as? [String: Any])
            let manifestTables = try #require(manifest["tables"] as? [String: Int])
            let manifestObjects = try #require(manifest["objects"] as? [[String: Any]])

            // MUT
            let drilled = try await AdminFixtures.run(["backup", "drill", "--database-url", url, "--dest", dest, "--scratch-dir", scratch, "--json"])

            // validate: every table and object of the manifest was compared; nothing of the drill is left; its row says so
            #expect(drilled.status == 0, "stderr: \(drilled.stderr)")
            let report = try #require(try AdminFixtures.json(drilled) as? [String: Any])
            #expect(report["backup"] as? String == name && report["succeeded"] as? Bool == true && report["problems"] as? [String] == [])
            #expect(report["tables"] as? Int == manifestTables.count && report["rows"] as? Int == manifestTables.values.reduce(0, +))
            #expect(report["objects"] as? Int == manifestObjects.count && manifestObjects.count >= 6, "three originals and their thumbnails")
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == [])
            #expect(try await Self.count(client, "SELECT count(*)::int8 FROM pg_database WHERE datname LIKE 'seghub_drill_%'") == 0)
            #expect(try await Self.count(client, "SELECT count(*)::int8 FROM backup_drills WHERE succeeded AND backup_name = '\(name)'") == 1)
            let last = try await BackupRepository.latestSuccessfulDrillAt(on: Database(client: client, logger: AdminFixtures.logger))
            #expect(abs(try #require(last).timeIntervalSinceNow) < 120)

            // MUT: one object of the backup damaged
            let object = try #require(manifestObjects.first?["key"] as? String)
            let path = "\(dest)/\(name)/objects/\(object.prefix(2))/\(object.dropFirst(2))"
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[0] ^= 0xFF
            try bytes.write(to: URL(fileURLWithPath: path))
            let failed = try await AdminFixtures.run(["backup", "drill", name, "--database-url", url, "--dest", dest, "--scratch-dir", scratch])

            // validate: exit 1 with the reason; recorded as failed; the last success is still the first drill's
            #expect(failed.status == 1)
            #expect(failed.stderr.contains(object) && failed.stderr.contains("FAILED"), "stderr: \(failed.stderr)")
            #expect(try await Self.count(client, "SELECT count(*)::int8 FROM backup_drills WHERE NOT succeeded AND cardinality(problems) > 0") == 1)
            #expect(try await BackupRepository.latestSuccessfulDrillAt(on: Database(client: client, logger: AdminFixtures.logger)) == last)
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch) == [])
            #expect(try await Self.count(client, "SELECT count(*)::int8 FROM pg_database WHERE datname LIKE 'seghub_drill_%'") == 0)
        }
    }

    static func count(_ client: PostgresClient, _ sql: String) async throws -> Int64 {
        var found: Int64 = -1
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql)).decode(Int64.self) { found = value }
        return found
    }

    @Test func pruneKeepsSevenDailiesFourWeekliesAndSixMonthlies() async throws {
        // setup: a backup at 02:00 UTC every day of 2026 up to Saturday 5 December (folders with a manifest, as the
        // pruning reads them)
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dest = root.appendingPathComponent("backups").path
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var day = try #require(calendar.date(from: DateComponents(year: 2026, month: 1, day: 1, hour: 2)))
        let last = try #require(calendar.date(from: DateComponents(year: 2026, month: 12, day: 5, hour: 2)))
        var all: [String] = []
        while day <= last {
            let parts = calendar.dateComponents([.year, .month, .day], from: day)
            let name = String(format: "seghub-%04d%02d%02dT020000Z", parts.year!, parts.month!, parts.day!)
            let folder = "\(dest)/\(name)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for file in ["manifest.json", "manifest.json.sha256"] {
                try #require(FileManager.default.createFile(atPath: "\(folder)/\(file)", contents: Data()))
            }
            all.append(name)
            day = day.addingTimeInterval(86_400)
        }

        try await withTestDatabaseURL { _, url in
            // MUT
            let planned = try await AdminFixtures.run([
                "backup", "prune", "--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "6", "--dry-run", "--json",
                "--database-url", url, "--dest", dest,
            ])

            // validate, worked out on a calendar: the days 29 November – 5 December; the newest of ISO weeks 49
            // (30 Nov – 6 Dec: the 5th), 48 (the 29th), 47 (22 Nov) and 46 (15 Nov); the newest of December (the
            // 5th), November (the 30th), October, September, August and July (their last days)
            try #require(planned.status == 0, "stderr: \(planned.stderr)")
            let report = try #require(try AdminFixtures.json(planned) as? [String: Any])
            let kept = (report["kept"] as? [String] ?? []).map { $0.dropFirst("seghub-".count).prefix(8) }.sorted()
            #expect(
                kept == [
                    "20260731", "20260831", "20260930", "20261031", "20261115", "20261122", "20261129", "20261130", "20261201", "20261202",
                    "20261203", "20261204", "20261205",
                ])
            #expect((report["removed"] as? [String])?.count == all.count - 13)
            #expect(FileManager.default.fileExists(atPath: "\(dest)/\(all[0])"), "a dry run removes nothing")
            let none = try await AdminFixtures.run(["backup", "prune", "--dry-run", "--database-url", url, "--dest", dest])
            #expect(none.status == 64 && none.stderr.contains("--keep-daily"))
        }
    }

    @Test func pruneKeepsTheNewestAndTheNewestVerified() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root.appendingPathComponent("data"))
        let dest = root.appendingPathComponent("backups").path

        try await withTestDatabaseURL { client, url in
            _ = try await AdminFixtures.seed(client: client, store: store, images: 2)
            var names: [String] = []
            for _ in 0..<3 {
                let created = try await AdminFixtures.run([
                    "backup", "create", "--database-url", url, "--data-dir", store.root.path, "--dest", dest, "--json",
                ])
                try #require(created.status == 0, "stderr: \(created.stderr)")
                names.append(try #require((try AdminFixtures.json(created) as? [String: Any])?["name"] as? String))
            }
            #expect(names == names.sorted() && Set(names).count == 3)
            let verified = try await AdminFixtures.run(["backup", "verify", names[0], "--database-url", url, "--dest", dest])
            try #require(verified.status == 0, "\(verified.stdoutText)")

            // a killed backup's leftover from two days ago, and one of a backup that may still run
            let stale = URL(fileURLWithPath: dest).appendingPathComponent(".tmp-seghub-20200101T000000Z-dead")
            let fresh = URL(fileURLWithPath: dest).appendingPathComponent(".tmp-seghub-20990101T000000Z-live")
            for folder in [stale, fresh] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-2 * 86_400)], ofItemAtPath: stale.path)

            // MUT: a dry run, then the real thing
            let dry = try await AdminFixtures.run(["backup", "prune", "--keep", "1", "--dry-run", "--database-url", url, "--dest", dest, "--json"])
            #expect(dry.status == 0)
            let dryReport = try AdminFixtures.json(dry) as? [String: Any]
            #expect(dryReport?["removed"] as? [String] == [names[1]])
            #expect(BackupLocationNames.complete(dest) == names)
            let pruned = try await AdminFixtures.run(["backup", "prune", "--keep", "1", "--database-url", url, "--dest", dest, "--json"])

            // validate: the middle one goes; the newest (kept by --keep) and the oldest (the newest verified) stay
            #expect(pruned.status == 0, "stderr: \(pruned.stderr)")
            let prunedReport = try AdminFixtures.json(pruned) as? [String: Any]
            #expect(prunedReport?["removed"] as? [String] == [names[1]])
            #expect(BackupLocationNames.complete(dest) == [names[0], names[2]])
            #expect(prunedReport?["staleTemporary"] as? [String] == [stale.lastPathComponent])
            #expect(try FileManager.default.contentsOfDirectory(atPath: dest).sorted() == [fresh.lastPathComponent, names[0], names[2]])
            let recorded = try await BackupRepository.list(on: Database(client: client, logger: AdminFixtures.logger)).map(\.name)
            #expect(recorded == [names[2], names[0]])

            // --keep-days 1 keeps everything made today
            let byAge = try await AdminFixtures.run(["backup", "prune", "--keep-days", "1", "--database-url", url, "--dest", dest, "--json"])
            let byAgeReport = try AdminFixtures.json(byAge) as? [String: Any]
            #expect(byAgeReport?["removed"] as? [String] == [])

            // bad usage
            let noPolicy = try await AdminFixtures.run(["backup", "prune", "--database-url", url, "--dest", dest])
            #expect(noPolicy.status == 64 && noPolicy.stderr.contains("--keep"))
            var actions: [String] = []
            for try await action in try await client.query("SELECT action FROM audit_log WHERE action LIKE 'backup.%' ORDER BY id").decode(
                String.self)
            {
                actions.append(action)
            }
            #expect(actions == ["backup.create", "backup.create", "backup.create", "backup.verify", "backup.prune"])
        }
    }

    @Test func badUsageAndMissingBackupsAreReported() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try await withTestDatabaseURL { _, url in
            let noDest = try await AdminFixtures.run(["backup", "create", "--database-url", url, "--data-dir", root.path])
            #expect(noDest.status == 64 && noDest.stderr.contains("SEG_BACKUP_DIR"))
            let noSuch = try await AdminFixtures.run(["backup", "verify", "seghub-20260101T000000Z", "--database-url", url, "--dest", root.path])
            #expect(noSuch.status == 1 && noSuch.stdoutText.contains("no such backup folder"), "\(noSuch.stdoutText)")
            let restoreMissing = try await AdminFixtures.run(
                ["backup", "restore", "seghub-20260101T000000Z", "--database-url", url, "--data-dir", root.path, "--dest", root.path])
            #expect(restoreMissing.status == 1 && restoreMissing.stderr.contains("no such backup folder"))
        }
    }

    static func isBackupListEmpty(_ dest: String) -> Bool {
        BackupLocationNames.complete(dest).isEmpty
    }
}

/// The complete backup folders as `segctl backup list --json` reports them.
enum BackupLocationNames {
    static func complete(_ dest: String) -> [String] {
        guard let output = try? SegCtlRunner.run(["backup", "list", "--dest", dest, "--json"]), output.status == 0,
            let entries = try? JSONSerialization.jsonObject(with: output.stdout) as? [[String: Any]]
        else { return ["<list failed>"] }
        return entries.compactMap { $0["name"] as? String }
    }
}

/// Tells the writer of the concurrent-backup test to stop between two images.
actor StopFlag {
    private(set) var isSet = false
    func set() { isSet = true }
}
