import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One stored object as a listing or a lookup gives it.
public struct StoredObject: Sendable, Equatable {
    /// The object's key (the SHA-256 of its bytes).
    public var key: ObjectKey
    /// Its size in bytes.
    public var bytes: Int64
    /// When it was written, or last refreshed by a `put` of the same content.
    public var modifiedAt: Date

    /// An object as given.
    public init(key: ObjectKey, bytes: Int64, modifiedAt: Date) {
        self.key = key
        self.bytes = bytes
        self.modifiedAt = modifiedAt
    }
}

/// Where SegHub keeps the bytes of originals, renditions and export archives: content-addressed
/// objects, named by the SHA-256 of their bytes (`ObjectKey`), written once and never changed
/// (DESIGN.md section 4, "Files"). Nothing outside the store knows where or how an object lies.
///
/// `LocalObjectStore` keeps them under the data directory. A second store (S3-compatible) needs
/// what docs/decisions.md lists: uploads of large files in parts, reads as streams, listing with
/// sizes and ages for `segctl gc`, and a local scratch directory for files being made.
///
/// Every method throws `StorageError` (`.fileSystem` or `.unavailable` when the store fails,
/// `.notFound(entity: "object", …)` for an absent object where one is required).
public protocol ObjectStore: Sendable {
    /// A local directory for files that are being made before they are stored (uploads being
    /// received, export archives being built): `putFile(movingFrom:)` takes them from there
    /// cheaply. Files left by a killed writer are removed by `scratch.clean(olderThan:)`.
    var scratch: ScratchSpace { get }

    /// Stores `bytes` and returns their key; content already present is not written again (it is
    /// refreshed, so that a collector sparing young objects spares it too).
    func put(_ bytes: [UInt8]) async throws -> ObjectKey

    /// Stores the file at `url` (best made in `scratch`) without reading it into memory, and
    /// removes `url` either way.
    func putFile(movingFrom url: URL) async throws -> ObjectKey

    /// The whole object.
    func read(_ key: ObjectKey) async throws -> [UInt8]

    /// Reads the object in chunks of at most `chunkSize` bytes, handing each to `consumer` in
    /// order and waiting for it (a slow client slows the read; nothing piles up in memory).
    /// - Throws: `StorageError.notFound` when the object is absent, or what `consumer` throws.
    func read(_ key: ObjectKey, chunkSize: Int, into consumer: (ByteBuffer) async throws -> Void) async throws

    /// The object's size and age, or `nil` when it is absent.
    func object(_ key: ObjectKey) async throws -> StoredObject?

    /// Removes the object; call it only when no row refers to it (`removeUnreferenced`, `gc`).
    /// - Returns: Whether there was one to remove.
    @discardableResult
    func remove(_ key: ObjectKey) async throws -> Bool

    /// Every stored object, sorted by key.
    func list() async throws -> [StoredObject]

    /// Bytes still free for new objects, or `nil` when the store has no such limit to report.
    func freeBytes() async -> Int64?

    /// Runs `body` with a local file holding the object's bytes (the object's own file for a
    /// local store, a scratch copy for a remote one, removed afterwards). `body` must only read it.
    func withLocalFile<Result: Sendable>(_ key: ObjectKey, _ body: (URL) async throws -> Result) async throws -> Result

    /// Checks that the store can be used now (readiness): throws what is wrong (`.storeUnavailable`, `.fileSystem`).
    func check() async throws

    /// What the store is, for people: `file` or `s3`.
    var kind: String { get }
}

/// A local directory for files that are being made before they are stored or served.
public struct ScratchSpace: Sendable {
    /// The directory (created by the store that owns it).
    public let directory: URL

    /// Scratch space in `directory`, which must exist.
    public init(directory: URL) {
        self.directory = directory
    }

    /// A fresh path in the directory (nothing is created).
    public func newFileURL(prefix: String = "") -> URL {
        directory.appendingPathComponent(prefix + UUID().uuidString.lowercased(), isDirectory: false)
    }

    /// Removes regular files last modified more than `age` ago: what writers that were killed left
    /// behind. Pick an age longer than any upload or export takes, so a running writer keeps its file.
    /// - Returns: How many files were removed.
    /// - Throws: `StorageError.fileSystem` when the directory cannot be listed or a file cannot be removed.
    @discardableResult
    public func clean(olderThan age: Duration) throws -> Int {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let cutoff = Date().timeIntervalSince1970 - seconds
        let path = directory.path
        let names = try LocalObjectStore.entries(of: path, operation: "clean scratch files: list the directory")
        var removed = 0
        for name in names {
            let file = "\(path)/\(name)"
            var info = stat()
            // lstat: a link is never followed, and only regular files are removed.
            guard lstat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            guard modified <= cutoff else { continue }
            if unlink(file) == 0 {
                removed += 1
            } else if errno != ENOENT {
                throw LocalObjectStore.failure("clean scratch files: unlink a file")
            }
        }
        return removed
    }
}
