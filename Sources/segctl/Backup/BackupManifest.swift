import Crypto
import Foundation

/// `manifest.json` of a backup folder: what it holds and the SHA-256 of every file, itself checked by
/// `manifest.json.sha256` (in `sha256sum` format, so `sha256sum -c manifest.json.sha256` works too).
struct BackupManifest: Codable, Equatable {
    /// The manifest's format, `seghub-backup/1`.
    var format: String
    /// The backup's folder name, `seghub-YYYYMMDDTHHMMSSZ`.
    var name: String
    /// The segctl that wrote it.
    var seghubVersion: String
    /// The highest migration applied to the dumped database.
    var schemaVersion: Int
    /// When the snapshot was taken (ISO 8601, UTC).
    var createdAt: String
    /// The `pg_dump --format=custom` file.
    var database: FileEntry
    /// Rows per table in the snapshot.
    var tables: [String: Int64]
    /// Every file object the snapshot refers to, under `objects/ab/cdef…`, sorted by key.
    var objects: [ObjectEntry]

    struct FileEntry: Codable, Equatable {
        var file: String
        var bytes: Int64
        var sha256: String
    }

    struct ObjectEntry: Codable, Equatable {
        var key: String
        var bytes: Int64
        var sha256: String
    }

    static let currentFormat = "seghub-backup/1"
    static let fileName = "manifest.json"
    static let checksumFileName = "manifest.json.sha256"
    static let dumpFileName = "database.dump"

    /// The bytes written to `manifest.json`: sorted keys, pretty-printed.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    /// The total size of the files the manifest lists.
    var contentBytes: Int64 { database.bytes + objects.reduce(0) { $0 + $1.bytes } }
}

/// Where backups live and how they are named.
enum BackupLocation {
    /// The folder-name pattern `seghub-YYYYMMDDTHHMMSSZ`.
    static func isBackupName(_ name: String) -> Bool {
        name.wholeMatch(of: /seghub-[0-9]{8}T[0-9]{6}Z/) != nil
    }

    /// `seghub-` plus the UTC time.
    static func name(for date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "seghub-" + formatter.string(from: date)
    }

    /// The time in a backup's name.
    static func date(ofName name: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: String(name.dropFirst("seghub-".count)))
    }

    /// The complete backups in `directory`, oldest first: folders named like a backup that hold a manifest and its
    /// checksum. Hidden `.tmp-*` folders of unfinished backups never count.
    static func complete(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { name in
            guard isBackupName(name) else { return false }
            let folder = "\(directory)/\(name)"
            return FileManager.default.fileExists(atPath: "\(folder)/\(BackupManifest.fileName)")
                && FileManager.default.fileExists(atPath: "\(folder)/\(BackupManifest.checksumFileName)")
        }.sorted()
    }

    /// The folder NAME refers to: a path when it contains a slash, else a folder in `directory`.
    static func resolve(_ name: String, in directory: String?) throws -> String {
        if name.contains("/") {
            return URL(fileURLWithPath: name).standardizedFileURL.path
        }
        guard let directory else {
            throw ValidationErrorMessage("no backup directory: pass --dest or set SEG_BACKUP_DIR, or give a path to the backup folder")
        }
        return "\(directory)/\(name)"
    }

    /// Reads and checks the manifest of `folder` against `manifest.json.sha256`.
    static func readManifest(in folder: String) throws -> BackupManifest {
        let manifestPath = "\(folder)/\(BackupManifest.fileName)"
        let checksumPath = "\(folder)/\(BackupManifest.checksumFileName)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError.failed("\(folder): no such backup folder")
        }
        guard let manifestData = FileManager.default.contents(atPath: manifestPath) else {
            throw CLIError.failed("\(folder): no manifest.json (an unfinished or damaged backup)")
        }
        guard let checksumData = FileManager.default.contents(atPath: checksumPath),
            let expected = String(decoding: checksumData, as: UTF8.self).split(separator: " ").first.map(String.init),
            expected.count == 64
        else {
            throw CLIError.failed("\(folder): no valid manifest.json.sha256")
        }
        let actual = FileDigest.hex(Crypto.SHA256.hash(data: manifestData))
        guard actual == expected else {
            throw CLIError.failed("manifest.json: SHA-256 mismatch (expected \(expected), found \(actual))")
        }
        do {
            let manifest = try JSONDecoder().decode(BackupManifest.self, from: manifestData)
            guard manifest.format == BackupManifest.currentFormat else {
                throw CLIError.failed("manifest.json: unknown format \(manifest.format)")
            }
            return manifest
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.failed("manifest.json: cannot be read (\(error))")
        }
    }

    /// Checks the SHA-256 of the dump and of every object against the manifest.
    /// - Returns: One message per mismatch or missing file (empty when all match).
    static func checkFiles(of manifest: BackupManifest, in folder: String, progress: ProgressBar? = nil) -> [String] {
        var problems: [String] = []
        do {
            let dump = try FileDigest.sha256(of: "\(folder)/\(manifest.database.file)")
            if dump.hex != manifest.database.sha256 || dump.bytes != manifest.database.bytes {
                problems.append("\(manifest.database.file): SHA-256 mismatch")
            }
        } catch {
            problems.append("\(manifest.database.file): missing or unreadable")
        }
        for object in manifest.objects {
            defer { progress?.advance(failed: false) }
            guard object.key.wholeMatch(of: /[0-9a-f]{64}/) != nil else {
                problems.append("manifest.json: invalid object key")
                continue
            }
            let path = "\(folder)/\(objectPath(object.key))"
            guard let digest = try? FileDigest.sha256(of: path) else {
                problems.append("object \(object.key): missing")
                continue
            }
            if digest.hex != object.sha256 || digest.hex != object.key || digest.bytes != object.bytes {
                problems.append("object \(object.key): SHA-256 mismatch")
            }
        }
        return problems
    }

    /// `objects/ab/cdef…` for a key.
    static func objectPath(_ key: String) -> String {
        "objects/\(key.prefix(2))/\(key.dropFirst(2))"
    }
}

/// A bad-usage message (exit 64) raised outside `validate()`.
struct ValidationErrorMessage: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
