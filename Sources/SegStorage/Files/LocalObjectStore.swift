import Crypto
import Foundation
import NIOCore
import NIOPosix
import _NIOFileSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `ObjectStore` on a local file system: content-addressed objects under a data directory
/// (DESIGN.md section 4, "Files").
///
/// An object's bytes live at `objects/ab/cdef…`, named by their SHA-256 (`ObjectKey`). `put` writes to
/// `tmp/<uuid>` (created exclusively, mode 0600), fsyncs it, renames it into place and fsyncs the directories,
/// so a failure half-way (disk full, killed process) leaves at most a stray temporary file, never a partial
/// object. Identical content is stored once; objects are never rewritten. Temporary files left by a killed
/// writer are removed by `scratch.clean(olderThan:)`; objects no row refers to are listed by
/// `orphans(references:)` and removed with `remove(_:)`. The scratch space is `tmp/`, on the same
/// file system as the objects, so storing a file made there is a rename.
public struct LocalObjectStore: ObjectStore {
    /// The data directory (`SEG_DATA_DIR`); nothing outside the store builds paths into it.
    let root: URL

    private var objectsPath: String { root.appendingPathComponent("objects", isDirectory: true).path }
    private var temporaryPath: String { root.appendingPathComponent("tmp", isDirectory: true).path }

    /// Opens the store at `root`, creating `root`, `objects/` and `tmp/` (mode 0700) when they are missing.
    /// - Parameter root: The data directory.
    /// - Throws: `StorageError.fileSystem` when a directory cannot be created.
    public init(root: URL) throws {
        self.root = root
        try Self.makeDirectory(root.path, operation: "create the data directory")
        try Self.makeDirectory(objectsPath, operation: "create objects/")
        try Self.makeDirectory(temporaryPath, operation: "create tmp/")
    }

    // MARK: - Objects

    /// Stores `bytes` and returns their key; storing content that is already present writes nothing new.
    ///
    /// The object is visible only once it is complete and durable.
    /// - Parameter bytes: The content.
    /// - Returns: The SHA-256 key of `bytes`.
    /// - Throws: `StorageError.fileSystem` when writing, syncing or renaming fails; the temporary file is removed then.
    @discardableResult
    public func put(_ bytes: [UInt8]) async throws -> ObjectKey {
        try await NIOThreadPool.singleton.runIfActive { try putBlocking(bytes) }
    }

    /// `put` on the calling thread (it writes and fsyncs: call it where blocking is allowed).
    @discardableResult
    public func putBlocking(_ bytes: [UInt8]) throws -> ObjectKey {
        let key = try ObjectKey(digest: SHA256.hash(data: bytes))
        if exists(key) {
            touch(key)
            return key
        }

        let temporary = "\(temporaryPath)/\(UUID().uuidString.lowercased())"
        do {
            try Self.writeDurably(bytes, to: temporary)
            if try !install(temporary, as: key, operation: "put") { unlink(temporary) }
            return key
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// A fresh path under `tmp/` (nothing is created) for a file that `putFile(movingFrom:)` will store: on the
    /// same file system as the objects, so storing it is a rename.
    func temporaryFileURL() -> URL {
        URL(fileURLWithPath: "\(temporaryPath)/\(UUID().uuidString.lowercased())", isDirectory: false)
    }

    /// Checks that `objects/` and `tmp/` are writable directories.
    public func check() async throws {
        for path in [objectsPath, temporaryPath] where access(path, W_OK | X_OK) != 0 {
            throw Self.failure("check \(path == objectsPath ? "objects/" : "tmp/")")
        }
    }

    public var kind: String { "file" }

    /// `tmp/` under the data directory.
    public var scratch: ScratchSpace { ScratchSpace(directory: URL(fileURLWithPath: temporaryPath, isDirectory: true)) }

    /// Stores the file at `url` (best made in `scratch`) as an object without reading it into memory, and
    /// removes `url`: the file is hashed in chunks, fsynced and renamed into place.
    /// - Returns: The SHA-256 key of the file's content.
    /// - Throws: `StorageError.fileSystem` when reading, syncing or renaming fails; `url` is removed either way.
    @discardableResult
    public func putFile(movingFrom url: URL) async throws -> ObjectKey {
        try await NIOThreadPool.singleton.runIfActive { try putFileBlocking(movingFrom: url) }
    }

    /// `putFile(movingFrom:)` on the calling thread.
    @discardableResult
    public func putFileBlocking(movingFrom url: URL) throws -> ObjectKey {
        let source = url.path
        defer { unlink(source) }
        let descriptor = open(source, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("putFile: open the file") }
        let key: ObjectKey
        do {
            defer { close(descriptor) }
            key = try Self.hashFile(descriptor).key
            guard fsync(descriptor) == 0 else { throw Self.failure("putFile: fsync the file") }
        }
        if exists(key) {
            touch(key)
            return key
        }
        // rename(2) works only within one file system: copy into tmp/ first when the file lives elsewhere.
        var staged = source
        if !source.hasPrefix(temporaryPath + "/") {
            staged = temporaryFileURL().path
            try Self.writeDurably(try Self.readAll(source), to: staged)
        }
        defer { if staged != source { unlink(staged) } }
        try install(staged, as: key, operation: "putFile")
        return key
    }

    /// Renames the durable file at `path` into place as the object `key`, creating and fsyncing its
    /// fan-out directory first and fsyncing it after the rename.
    /// - Returns: `false` when another writer stored the same content meanwhile (the object is
    ///   refreshed and `path` is left where it is).
    @discardableResult
    private func install(_ path: String, as key: ObjectKey, operation: String) throws -> Bool {
        let directory = "\(objectsPath)/\(key.prefix)"
        if try Self.makeDirectory(directory, operation: "\(operation): create the fan-out directory") {
            try Self.syncDirectory(directory, operation: "\(operation): fsync the fan-out directory")
            try Self.syncDirectory(objectsPath, operation: "\(operation): fsync objects/")
        }
        if exists(key) {
            touch(key)
            return false
        }
        guard rename(path, "\(directory)/\(key.remainder)") == 0 else {
            throw Self.failure("\(operation): rename the file into objects/")
        }
        try Self.syncDirectory(directory, operation: "\(operation): fsync the fan-out directory after the rename")
        return true
    }

    private static func readAll(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("putFile: read the file") }
        return Array(data)
    }

    /// The bytes of the object `key`.
    /// - Throws: `StorageError.notFound(entity: "object", …)` when it is absent, `StorageError.fileSystem` when reading fails.
    public func read(_ key: ObjectKey) async throws -> [UInt8] {
        try await NIOThreadPool.singleton.runIfActive { try readBlocking(key) }
    }

    /// `read(_:)` on the calling thread.
    public func readBlocking(_ key: ObjectKey) throws -> [UInt8] {
        let path = self.path(for: key)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { throw StorageError.notFound(entity: "object", id: key.hex) }
            throw Self.failure("read: open the object")
        }
        defer { close(descriptor) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.failure("read: read the object")
            }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }

    /// Marks an existing object as just written: `segctl gc` spares young objects, and a new
    /// upload of old content is young again until its row is inserted.
    private func touch(_ key: ObjectKey) {
        _ = utimes(path(for: key), nil)
    }

    /// Whether the object `key` is stored.
    public func exists(_ key: ObjectKey) -> Bool {
        var info = stat()
        return stat(path(for: key), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// The file URL of the object `key` (whether or not it exists), `root/objects/ab/cdef…`.
    func url(for key: ObjectKey) -> URL {
        root.appendingPathComponent("objects", isDirectory: true)
            .appendingPathComponent(key.prefix, isDirectory: true)
            .appendingPathComponent(key.remainder, isDirectory: false)
    }

    /// Removes the object `key`. Call it only when no row refers to the object (`orphans(references:)`).
    /// - Returns: Whether an object was removed (`false` when it was already absent).
    /// - Throws: `StorageError.fileSystem` when the file cannot be removed.
    @discardableResult
    public func remove(_ key: ObjectKey) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { try removeBlocking(key) }
    }

    /// `remove(_:)` on the calling thread.
    @discardableResult
    public func removeBlocking(_ key: ObjectKey) throws -> Bool {
        guard unlink(path(for: key)) == 0 else {
            if errno == ENOENT { return false }
            throw Self.failure("remove: unlink the object")
        }
        try Self.syncDirectory("\(objectsPath)/\(key.prefix)", operation: "remove: fsync the fan-out directory")
        return true
    }

    /// Every stored object's key, sorted; files under `objects/` that are not objects are ignored.
    /// - Throws: `StorageError.fileSystem` when `objects/` cannot be listed.
    public func allKeys() throws -> [ObjectKey] {
        try namedKeys().filter { exists($0) }
    }

    /// The keys that the names under `objects/` spell, sorted, whether or not each is a regular file.
    private func namedKeys() throws -> [ObjectKey] {
        var keys: [ObjectKey] = []
        for prefix in try Self.entries(of: objectsPath, operation: "allKeys: list objects/") {
            guard prefix.utf8.count == 2, ObjectKey.isValid(prefix + String(repeating: "0", count: 62)) else { continue }
            for name in try Self.entries(of: "\(objectsPath)/\(prefix)", operation: "allKeys: list a fan-out directory") {
                if let key = try? ObjectKey(prefix + name) { keys.append(key) }
            }
        }
        return keys.sorted()
    }

    // MARK: - The rest of ObjectStore

    /// Reads the object's file in chunks (NIO's file system, off the event loops).
    public func read(_ key: ObjectKey, chunkSize: Int, into consumer: (ByteBuffer) async throws -> Void) async throws {
        do {
            try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path(for: key))) { handle in
                for try await chunk in handle.readChunks(chunkLength: .bytes(Int64(max(chunkSize, 4096)))) {
                    try await consumer(chunk)
                }
            }
        } catch let error as FileSystemError where error.code == .notFound {
            throw StorageError.notFound(entity: "object", id: key.hex)
        } catch let error as FileSystemError {
            throw StorageError.fileSystem("read: \(error.code)")
        }
    }

    /// The object's size and modification time, or `nil` when it is absent.
    public func object(_ key: ObjectKey) -> StoredObject? {
        var info = stat()
        guard stat(path(for: key), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return StoredObject(key: key, bytes: Int64(info.st_size), modifiedAt: Self.date(info.st_mtim))
    }

    /// Every object with its size and modification time, sorted by key.
    public func list() async throws -> [StoredObject] {
        // One stat per object: `object` already tells a regular file from anything else.
        try await NIOThreadPool.singleton.runIfActive { try namedKeys().compactMap { object($0) } }
    }

    /// Free bytes for an unprivileged writer on the data directory's file system.
    public func freeBytes() -> Int64? {
        var info = statvfs()
        guard statvfs(root.path, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Runs `body` with the object's own file, which must exist.
    public func withLocalFile<Result: Sendable>(_ key: ObjectKey, _ body: (URL) async throws -> Result) async throws -> Result {
        guard exists(key) else { throw StorageError.notFound(entity: "object", id: key.hex) }
        return try await body(url(for: key))
    }

    // MARK: - POSIX helpers

    private static func date(_ time: timespec) -> Date {
        Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)
    }

    private func path(for key: ObjectKey) -> String { "\(objectsPath)/\(key.prefix)/\(key.remainder)" }

    /// Creates `path` with mode 0700; returns whether it was created (`false` when it already was a directory).
    @discardableResult
    private static func makeDirectory(_ path: String, operation: String) throws -> Bool {
        if mkdir(path, 0o700) == 0 { return true }
        let code = errno
        var info = stat()
        if code == EEXIST, stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return false }
        throw failure(operation, errno: code)
    }

    /// Creates `path` exclusively (mode 0600), writes all of `bytes` and fsyncs it.
    private static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("put: create a temporary file") }
        var closed = false
        defer { if !closed { close(descriptor) } }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw failure("put: write the temporary file")
                }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else { throw failure("put: fsync the temporary file") }
        closed = true
        guard close(descriptor) == 0 else { throw failure("put: close the temporary file") }
    }

    /// Fsyncs a directory so that entries created, renamed or removed in it are durable.
    private static func syncDirectory(_ path: String, operation: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(operation) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure(operation) }
    }

    /// The names in a directory, without `.` and `..`.
    static func entries(of path: String, operation: String) throws -> [String] {
        guard let directory = opendir(path) else { throw failure(operation) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A `StorageError.fileSystem` naming the operation and the current (or given) errno, never a path's contents.
    /// Reads the open file to its end in chunks: its SHA-256 (the object key), its size, and with `partSize` the SHA-256
    /// of each part of that size in hex (what an S3 multipart upload signs), all in one pass.
    static func hashFile(_ descriptor: Int32, partSize: Int64? = nil) throws -> (key: ObjectKey, size: Int64, partDigests: [String]) {
        var whole = SHA256()
        var part = SHA256()
        var inPart: Int64 = 0
        var size: Int64 = 0
        var digests: [String] = []
        let limit = partSize ?? .max
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let wanted = Int(Swift.min(Int64(chunk.count), limit - inPart))
            let count = chunk.withUnsafeMutableBytes { buffer in Glibc.read(descriptor, buffer.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("putFile: read the file")
            }
            if count == 0 { break }
            chunk.withUnsafeBytes { bytes in
                let slice = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                whole.update(bufferPointer: slice)
                if partSize != nil { part.update(bufferPointer: slice) }
            }
            size += Int64(count)
            inPart += Int64(count)
            if inPart == limit {
                digests.append(ObjectKey.hex(part.finalize()))
                part = SHA256()
                inPart = 0
            }
        }
        if partSize != nil, inPart > 0 || digests.isEmpty { digests.append(ObjectKey.hex(part.finalize())) }
        return (try ObjectKey(digest: whole.finalize()), size, digests)
    }

    static func failure(_ operation: String, errno code: Int32 = errno) -> StorageError {
        .fileSystem("\(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}
