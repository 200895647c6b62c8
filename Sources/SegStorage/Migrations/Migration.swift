import Crypto
import Foundation

/// One numbered SQL migration, loaded from `Migrations/SQL/NNNN_name.sql` in the module's bundle.
public struct Migration: Sendable, Equatable {
    /// The number from the file name; migrations run in ascending order.
    public let version: Int
    /// The file name without the number and the extension (`create_users`).
    public let name: String
    /// The file's SQL: one or more statements separated by semicolons.
    public let sql: String
    /// SHA-256 of the file's UTF-8 bytes, lowercase hex; recorded when applied.
    public let checksum: String

    /// Creates a migration from its parts and computes its checksum.
    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Every migration shipped with SegStorage, in order.
    /// - Throws: `StorageError.invalidMigration` if a file is misnamed, unreadable or a version repeats.
    public static func bundled() throws(StorageError) -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "SQL", withExtension: nil) else {
            throw .invalidMigration("the SQL migrations are missing from the SegStorage bundle")
        }
        let files: [URL]
        do {
            files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        } catch {
            throw .invalidMigration("cannot list the SQL migrations")
        }
        var migrations: [Migration] = []
        for file in files where file.pathExtension == "sql" {
            guard let sql = try? String(contentsOf: file, encoding: .utf8) else {
                throw .invalidMigration("cannot read \(file.lastPathComponent) as UTF-8")
            }
            migrations.append(try Migration(fileName: file.lastPathComponent, sql: sql))
        }
        return try ordered(migrations)
    }

    /// Parses `0001_create_users.sql` into version 1, name `create_users`.
    /// - Throws: `StorageError.invalidMigration` when the name does not have that shape.
    public init(fileName: String, sql: String) throws(StorageError) {
        let stem = fileName.hasSuffix(".sql") ? String(fileName.dropLast(4)) : fileName
        let parts = stem.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, parts[0].count == 4, parts[0].allSatisfy(\.isASCII), let version = Int(parts[0]), version > 0,
            !parts[1].isEmpty
        else {
            throw .invalidMigration("\(fileName) is not named NNNN_name.sql")
        }
        self.init(version: version, name: String(parts[1]), sql: sql)
    }

    /// Sorts migrations by version.
    /// - Throws: `StorageError.invalidMigration` when two share a version.
    public static func ordered(_ migrations: [Migration]) throws(StorageError) -> [Migration] {
        let sorted = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.version == next.version {
            throw .invalidMigration("version \(next.version) is used by both \(previous.name) and \(next.name)")
        }
        return sorted
    }
}
