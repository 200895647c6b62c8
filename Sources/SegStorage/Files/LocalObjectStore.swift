import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Content-addressed objects under a data directory (DESIGN.md section 4, "Files").
///
/// An object's bytes live at `objects/ab/cdef…`, named by their SHA-256 (`ObjectKey`). `put` writes to
/// `tmp/<uuid>` (created exclusively, mode 0600), fsyncs it, renames it into place and fsyncs the directories,
/// so a failure half-way (disk full, killed process) leaves at most a stray temporary file, never a partial
/// object. Identical content is stored once; objects are never rewritten. Temporary files left by a killed
/// writer are removed by `cleanTemporaryFiles(olderThan:)`; objects no row refers to are listed by
/// `orphanedKeys(referencedBy:logger:)` and removed with `remove(_:)`.
public struct FileStore: Sendable {
    /// The data directory (`SEG_DATA_DIR`).
    public let root: URL

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
    public func put(_ bytes: [UInt8]) throws -> ObjectKey {
        let key = try ObjectKey(digest: SHA256.hash(data: bytes))
        if exists(key) {
            touch(key)
            return key
        }

        let temporary = "\(temporaryPath)/\(UUID().uuidString.lowercased())"
        do {
            try Self.writeDurably(bytes, to: temporary)
            let directory = "\(objectsPath)/\(key.prefix)"
            if try Self.makeDirectory(directory, operation: "put: create the fan-out directory") {
                try Self.syncDirectory(directory, operation: "put: fsync the fan-out directory")
                try Self.syncDirectory(objectsPath, operation: "put: fsync objects/")
            }
            if exists(key) {
                // Another writer stored the same content meanwhile.
                unlink(temporary)
                touch(key)
                return key
            }
            guard rename(temporary, "\(directory)/\(key.remainder)") == 0 else {
                throw Self.failure("put: rename the temporary file into objects/")
            }
            try Self.syncDirectory(directory, operation: "put: fsync the fan-out directory after the rename")
            return key
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// A fresh path under `tmp/` (nothing is created) for a file that `putFile(movingFrom:)` will store: on the
    /// same file system as the objects, so storing it is a rename. A file left there by a killed writer is removed
    /// by `cleanTemporaryFiles(olderThan:)`.
    public func temporaryFileURL() -> URL {
        URL(fileURLWithPath: "\(temporaryPath)/\(UUID().uuidString.lowercased())", isDirectory: false)
    }

    /// Stores the file at `url` (best made by `temporaryFileURL()`) as an object without reading it into memory, and
    /// removes `url`: the file is hashed in chunks, fsynced and renamed into place.
    /// - Returns: The SHA-256 key of the file's content.
    /// - Throws: `StorageError.fileSystem` when reading, syncing or renaming fails; `url` is removed either way.
    @discardableResult
    public func putFile(movingFrom url: URL) throws -> ObjectKey {
        let source = url.path
        defer { unlink(source) }
        let descriptor = open(source, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.failure("putFile: open the file") }
        var hasher = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        do {
            defer { close(descriptor) }
            while true {
                let count = chunk.withUnsafeMutableBytes { buffer in Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw Self.failure("putFile: read the file")
                }
                if count == 0 { break }
                chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
            guard fsync(descriptor) == 0 else { throw Self.failure("putFile: fsync the file") }
        }
        let key = try ObjectKey(digest: hasher.finalize())
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
        let directory = "\(objectsPath)/\(key.prefix)"
        if try Self.makeDirectory(directory, operation: "putFile: create the fan-out directory") {
            try Self.syncDirectory(directory, operation: "putFile: fsync the fan-out directory")
            try Self.syncDirectory(objectsPath, operation: "putFile: fsync objects/")
        }
        if exists(key) {
            touch(key)
            return key
        }
        guard rename(staged, "\(directory)/\(key.remainder)") == 0 else {
            throw Self.failure("putFile: rename the file into objects/")
        }
        try Self.syncDirectory(directory, operation: "putFile: fsync the fan-out directory after the rename")
        return key
    }

    private static func readAll(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("putFile: read the file") }
        return Array(data)
    }

    /// The bytes of the object `key`.
    /// - Throws: `StorageError.notFound(entity: "object", …)` when it is absent, `StorageError.fileSystem` when reading fails.
    public func read(_ key: ObjectKey) throws -> [UInt8] {
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
    public func url(for key: ObjectKey) -> URL {
        root.appendingPathComponent("objects", isDirectory: true)
            .appendingPathComponent(key.prefix, isDirectory: true)
            .appendingPathComponent(key.remainder, isDirectory: false)
    }

    /// Removes the object `key`. Call it only when no row refers to the object (`orphanedKeys`).
    /// - Returns: Whether an object was removed (`false` when it was already absent).
    /// - Throws: `StorageError.fileSystem` when the file cannot be removed.
    @discardableResult
    public func remove(_ key: ObjectKey) throws -> Bool {
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
        var keys: [ObjectKey] = []
        for prefix in try Self.entries(of: objectsPath, operation: "allKeys: list objects/") {
            guard prefix.utf8.count == 2, ObjectKey.isValid(prefix + String(repeating: "0", count: 62)) else { continue }
            for name in try Self.entries(of: "\(objectsPath)/\(prefix)", operation: "allKeys: list a fan-out directory") {
                guard let key = try? ObjectKey(prefix + name), exists(key) else { continue }
                keys.append(key)
            }
        }
        return keys.sorted()
    }

    /// Removes temporary files last modified more than `age` ago: what writers that were killed left behind.
    ///
    /// Pick an age longer than any upload takes, so a running `put` keeps its file.
    /// - Parameter age: The minimum age of a removed file.
    /// - Returns: How many files were removed.
    /// - Throws: `StorageError.fileSystem` when `tmp/` cannot be listed or a file cannot be removed.
    @discardableResult
    public func cleanTemporaryFiles(olderThan age: Duration) throws -> Int {
        let seconds = Double(age.components.seconds) + Double(age.components.attoseconds) / 1e18
        let cutoff = Date().timeIntervalSince1970 - seconds
        var removed = 0
        for name in try Self.entries(of: temporaryPath, operation: "cleanTemporaryFiles: list tmp/") {
            let path = "\(temporaryPath)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
            guard modified <= cutoff else { continue }
            if unlink(path) == 0 {
                removed += 1
            } else if errno != ENOENT {
                throw Self.failure("cleanTemporaryFiles: unlink a temporary file")
            }
        }
        return removed
    }

    // MARK: - POSIX helpers

    /// When the object was last written or refreshed; `nil` when it is absent.
    func modificationDate(_ key: ObjectKey) -> Date? {
        var info = stat()
        guard stat(path(for: key), &info) == 0 else { return nil }
        return Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
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
    private static func entries(of path: String, operation: String) throws -> [String] {
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
    private static func failure(_ operation: String, errno code: Int32 = errno) -> StorageError {
        .fileSystem("\(operation) failed: \(String(cString: strerror(code))) (errno \(code))")
    }
}
