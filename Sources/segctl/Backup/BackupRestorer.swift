import Foundation
import Logging
import PostgresNIO
import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Restores a backup folder: objects into the data directory, then the database in one transaction.
///
/// Every checksum is checked first. A target database that holds any table is refused unless `force`; with
/// `force`, a `pg_dump` of the target is written first, and the old schema is dropped in the same transaction
/// (`psql --single-transaction`) that loads the backup, so a failed restore leaves the target as it was.
/// Objects are content-addressed and never overwritten: existing ones are kept, missing ones are copied in through
/// the data directory's `tmp/` and renamed into place.
struct BackupRestorer {
    var configuration: DatabaseConfiguration
    var dataDirectory: String
    var preRestoreDirectory: String
    var force: Bool
    var logger: Logger
    /// Where the objects go; `nil`: the configured store (`SEG_OBJECT_STORE`) of `dataDirectory`.
    var store: (any ObjectStore)? = nil

    struct Result {
        var manifest: BackupManifest
        var objectsCopied: Int
        var preRestoreDump: String?
    }

    func restore(folder: String, on database: Database) async throws -> Result {
        let manifest = try BackupLocation.readManifest(in: folder)
        let problems = BackupLocation.checkFiles(of: manifest, in: folder, progress: ProgressBar(total: manifest.objects.count, label: "checksums"))
        guard problems.isEmpty else {
            throw CLIError.failed("the backup is damaged; nothing was restored:\n  " + problems.joined(separator: "\n  "))
        }
        let pgRestore = try PostgresTools.locate("pg_restore")
        let psql = try PostgresTools.locate("psql")
        let environment = PostgresTools.environment(for: configuration)

        let tableCount = try await DatabaseSnapshot.tableCount(on: database)
        if tableCount > 0 && !force {
            throw CLIError.failed(
                "the target database is not empty (\(tableCount) tables); nothing was restored. "
                    + "Pass --force to replace it (a pg_dump of it is written first)")
        }

        // Into whichever store is configured (SEG_OBJECT_STORE), whichever the backup was made from.
        let store = try self.store ?? ConfiguredStore.open(dataDirectory: dataDirectory)
        let script = store.scratch.newFileURL(prefix: "restore-").path + ".sql"
        defer { try? FileManager.default.removeItem(atPath: script) }

        // 1. The restore script, before anything changes (pg_restore reads the whole archive here).
        let scriptOutcome = try await ExternalTool.run(
            pgRestore, ["--no-owner", "--no-acl", "--file=\(script)", "\(folder)/\(manifest.database.file)"], environment: environment)
        guard scriptOutcome.status == 0 else {
            throw CLIError.failed("pg_restore cannot read the dump (exit \(scriptOutcome.status)):\n\(ExternalTool.tail(scriptOutcome.stderr))")
        }

        // 2. The pre-restore dump of a non-empty target.
        var preRestoreDump: String?
        if tableCount > 0 {
            try FileDigest.makeDirectory(preRestoreDirectory)
            let path = "\(preRestoreDirectory)/pre-restore-\(BackupLocation.name(for: Date()).dropFirst("seghub-".count)).dump"
            let pgDump = try PostgresTools.locate("pg_dump")
            let outcome = try await ExternalTool.run(pgDump, ["--format=custom", "--file=\(path)"], environment: environment)
            guard outcome.status == 0 else {
                try? FileManager.default.removeItem(atPath: path)
                throw CLIError.failed(
                    "the pre-restore dump failed; nothing was restored (exit \(outcome.status)):\n\(ExternalTool.tail(outcome.stderr))")
            }
            _ = chmod(path, 0o600)
            preRestoreDump = path
        }

        // 3. Objects: content-addressed, so copying one that exists is never needed and never harmful.
        let progress = ProgressBar(total: manifest.objects.count, label: "objects")
        var copied = 0
        for object in manifest.objects {
            defer { progress.advance(failed: false) }
            let key = try ObjectKey(object.key)
            if try await store.object(key) != nil { continue }
            let temporary = store.scratch.newFileURL(prefix: "restore-")
            do {
                let digest = try FileDigest.copy(from: "\(folder)/\(BackupLocation.objectPath(object.key))", to: temporary.path)
                guard digest.hex == object.key else { throw CLIError.failed("object \(object.key): changed while it was copied") }
                // Hashed again, fsynced and renamed into place by the store (which removes the copy).
                let stored = try await store.putFile(movingFrom: temporary)
                guard stored == key else { throw CLIError.failed("object \(object.key): changed while it was stored") }
                copied += 1
            } catch {
                unlink(temporary.path)
                throw error
            }
        }

        // 4. The database, in one transaction with the removal of the old schema.
        var arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"]
        arguments += RestorePreamble.statements(replacingExistingSchema: tableCount > 0).flatMap { ["-c", $0] }
        arguments += ["-f", script]
        let outcome = try await ExternalTool.run(psql, arguments, environment: environment)
        guard outcome.status == 0 else {
            throw CLIError.failed(
                "the database restore failed and was rolled back (exit \(outcome.status)); objects copied: \(copied)\n\(ExternalTool.tail(outcome.stderr))"
            )
        }
        return Result(manifest: manifest, objectsCopied: copied, preRestoreDump: preRestoreDump)
    }
}
