import Crypto
import Foundation
import Logging
import PostgresNIO
import SegCore
import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes one backup folder: `pg_dump --format=custom`, the file objects the dump refers to, and the manifest.
///
/// Consistency while segserver runs: a REPEATABLE READ transaction exports its snapshot (`pg_export_snapshot()`),
/// reads the row counts and the object keys, and stays open while `pg_dump --snapshot` dumps exactly that
/// snapshot. Objects are content-addressed and never rewritten, so copying them afterwards gives the bytes the
/// snapshot's rows refer to. Everything is written under `DEST/.tmp-<name>-<random>` and renamed to
/// `DEST/<name>` only when complete and synced; a failure removes the temporary folder.
struct BackupWriter {
    var configuration: DatabaseConfiguration
    var dataDirectory: String
    var destination: String
    var logger: Logger

    struct Result {
        var name: String
        var folder: String
        var manifest: BackupManifest
        var bytes: Int64
        var startedAt: Date
        var finishedAt: Date
    }

    func write(on database: Database) async throws -> Result {
        let pgDump = try PostgresTools.locate("pg_dump")
        try FileDigest.makeDirectory(destination)
        let startedAt = try await freeName()
        let name = BackupLocation.name(for: startedAt)
        let temporary = "\(destination)/.tmp-\(name)-\(UUID().uuidString.prefix(8).lowercased())"
        try FileDigest.makeDirectory(temporary)
        do {
            let result = try await fill(temporary, name: name, startedAt: startedAt, pgDump: pgDump, on: database)
            let folder = "\(destination)/\(name)"
            guard !FileManager.default.fileExists(atPath: folder), rename(temporary, folder) == 0 else {
                throw CLIError.failed("\(folder): cannot rename the finished backup into place (does it exist already?)")
            }
            try FileDigest.sync(destination)
            return Result(name: name, folder: folder, manifest: result.manifest, bytes: result.bytes, startedAt: startedAt, finishedAt: Date())
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    /// The start time, moved to the next second while a backup of that name exists (two backups in one second).
    private func freeName() async throws -> Date {
        for _ in 0..<5 {
            let now = Date()
            if !FileManager.default.fileExists(atPath: "\(destination)/\(BackupLocation.name(for: now))") { return now }
            try await Task.sleep(for: .milliseconds(1000 - Int(now.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) * 1000) + 5))
        }
        throw CLIError.failed("\(destination): a backup with the current time's name already exists")
    }

    private func fill(
        _ folder: String, name: String, startedAt: Date, pgDump: String, on database: Database
    ) async throws -> (manifest: BackupManifest, bytes: Int64) {
        let dumpPath = "\(folder)/\(BackupManifest.dumpFileName)"
        let environment = PostgresTools.environment(for: configuration)
        // The snapshot's transaction stays open until pg_dump has dumped it.
        let (snapshot, _) = try await DatabaseSnapshot.exported(on: database) { snapshotID, _ in
            let outcome = try await ExternalTool.run(
                pgDump, ["--format=custom", "--snapshot=\(snapshotID)", "--file=\(dumpPath)"], environment: environment)
            guard outcome.status == 0 else {
                throw CLIError.failed("pg_dump failed (exit \(outcome.status)):\n\(ExternalTool.tail(outcome.stderr))")
            }
        }
        guard chmod(dumpPath, 0o600) == 0 else { throw CLIError.failed("\(dumpPath): cannot set mode 0600") }
        try FileDigest.sync(dumpPath)
        let dump = try FileDigest.sha256(of: dumpPath)

        let progress = ProgressBar(total: snapshot.objectKeys.count, label: "objects")
        var objects: [BackupManifest.ObjectEntry] = []
        var directories = Set<String>()
        // The store segserver uses (SEG_OBJECT_STORE): the data directory's objects or the S3 bucket.
        let store = try ConfiguredStore.open(dataDirectory: dataDirectory)
        let source = store.kind == "file" ? dataDirectory : "the \(store.kind) object store"
        for key in snapshot.objectKeys {
            let relative = BackupLocation.objectPath(key)
            let directory = "\(folder)/\(relative)".split(separator: "/").dropLast().joined(separator: "/")
            let absoluteDirectory = "/" + directory
            if directories.insert(absoluteDirectory).inserted { try FileDigest.makeDirectory(absoluteDirectory) }
            let copied: (hex: String, bytes: Int64)
            do {
                copied = try await store.withLocalFile(try ObjectKey(key)) { source in
                    try FileDigest.copy(from: source.path, to: "\(folder)/\(relative)")
                }
            } catch StorageError.notFound {
                throw CLIError.failed(
                    "object \(key) is referred to by the database but missing from \(source) "
                        + "(removed while the backup ran, or lost); the backup was not written")
            }
            guard copied.hex == key else {
                throw CLIError.failed("object \(key) in \(source) does not match its key (SHA-256 \(copied.hex)); the backup was not written")
            }
            objects.append(.init(key: key, bytes: copied.bytes, sha256: copied.hex))
            progress.advance(failed: false)
            // A live backup keeps its folder's time fresh, so `prune` never takes it for a dead one's leftover.
            if objects.count % 256 == 0 { utimes(folder, nil) }
        }
        for directory in directories { try FileDigest.sync(directory) }
        if !objects.isEmpty { try FileDigest.sync("\(folder)/objects") }

        let formatter = ISO8601DateFormatter()
        let manifest = BackupManifest(
            format: BackupManifest.currentFormat, name: name, seghubVersion: SegHubRelease.version, schemaVersion: snapshot.schemaVersion,
            createdAt: formatter.string(from: startedAt),
            database: .init(file: BackupManifest.dumpFileName, bytes: dump.bytes, sha256: dump.hex),
            tables: snapshot.rowCounts, objects: objects)
        let manifestData = try manifest.encoded()
        try FileDigest.write(manifestData, to: "\(folder)/\(BackupManifest.fileName)")
        let manifestHash = FileDigest.hex(Crypto.SHA256.hash(data: manifestData))
        let checksumLine = Data("\(manifestHash)  \(BackupManifest.fileName)\n".utf8)
        try FileDigest.write(checksumLine, to: "\(folder)/\(BackupManifest.checksumFileName)")
        try FileDigest.sync(folder)
        return (manifest, manifest.contentBytes + Int64(manifestData.count + checksumLine.count))
    }
}
