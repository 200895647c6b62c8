import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams files through SHA-256 (never a whole file in memory) and writes them durably.
enum FileDigest {
    static let chunk = 1 << 20

    /// The SHA-256 (lowercase hex) and size of the file at `path`.
    static func sha256(of path: String) throws -> (hex: String, bytes: Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError.failed("\(path): cannot be read") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while let data = try handle.read(upToCount: chunk), !data.isEmpty {
            hasher.update(data: data)
            total += Int64(data.count)
        }
        return (hex(hasher.finalize()), total)
    }

    /// Copies `source` to `destination` (created exclusively, mode 0600), fsyncs it, and returns the SHA-256 and
    /// size of what was copied.
    static func copy(from source: String, to destination: String) throws -> (hex: String, bytes: Int64) {
        guard let input = FileHandle(forReadingAtPath: source) else { throw CLIError.failed("\(source): cannot be read") }
        defer { try? input.close() }
        let descriptor = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CLIError.failed("\(destination): cannot be created (\(String(cString: strerror(errno))))") }
        let output = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var hasher = SHA256()
        var total: Int64 = 0
        while let data = try input.read(upToCount: chunk), !data.isEmpty {
            hasher.update(data: data)
            try output.write(contentsOf: data)
            total += Int64(data.count)
        }
        guard fsync(descriptor) == 0 else { throw CLIError.failed("\(destination): fsync failed (\(String(cString: strerror(errno))))") }
        try output.close()
        return (hex(hasher.finalize()), total)
    }

    /// Writes `data` to a new file (mode 0600) and fsyncs it.
    static func write(_ data: Data, to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CLIError.failed("\(path): cannot be created (\(String(cString: strerror(errno))))") }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: data)
        guard fsync(descriptor) == 0 else { throw CLIError.failed("\(path): fsync failed") }
        try handle.close()
    }

    /// fsyncs a file or directory by path (a rename is durable once its directory is synced).
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CLIError.failed("\(path): cannot be opened to sync") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw CLIError.failed("\(path): fsync failed") }
    }

    /// Creates a directory (mode 0700) with its parents.
    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CLIError.failed("\(path): cannot create the directory")
        }
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
