import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOPosix
import SegS3

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `ObjectStore` on an S3-compatible object store (AWS S3, Ceph RGW, MinIO, SeaweedFS; docs/scaling.md): the same
/// content-addressed objects as `LocalObjectStore`, at `PREFIX/objects/ab/cdef…` in one bucket, so any number of
/// segserver processes on any number of machines share them.
///
/// An object is written by one request (`putFile` of a file up to `singlePutLimit`) or as a multipart upload in parts
/// of `partSize` (aborted when a part fails, so nothing half-written is ever visible); its SHA-256, which is its key, is
/// signed with it, so the store refuses bytes that changed on the way. Content already present is not uploaded again:
/// it is copied onto itself, which refreshes its age for `segctl gc`. Reads stream. The scratch space is a local
/// directory of this process's own.
///
/// Every method throws `StorageError`: `.storeUnavailable` when the store cannot be reached or keeps failing,
/// `.fileSystem` when it refuses a request or a local file fails, `.notFound(entity: "object", …)` for an absent object
/// where one is required.
public struct S3ObjectStore: ObjectStore {
    /// The client of the bucket.
    public let client: S3Client
    /// Prepended to every key (`""`, or a path ending in `/`).
    public let prefix: String
    /// A local directory for files being made.
    public let scratch: ScratchSpace
    /// Files up to this size are stored by one PUT.
    public var singlePutLimit: Int64 = 16 << 20
    /// The size of each part of a multipart upload (the last may be smaller; S3 wants 5 MiB at least).
    public var partSize: Int64 = 16 << 20

    /// A store in `client`'s bucket under `prefix` (`""` or e.g. `seghub`; a trailing `/` is added), with its scratch
    /// space in `scratchDirectory` (created, mode 0700, when missing).
    /// - Throws: `StorageError.fileSystem` when the scratch directory cannot be made.
    public init(client: S3Client, prefix: String, scratchDirectory: URL) throws {
        self.client = client
        let trimmed = prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.prefix = trimmed.isEmpty ? "" : trimmed + "/"
        if mkdir(scratchDirectory.path, 0o700) != 0 && errno != EEXIST {
            throw LocalObjectStore.failure("create the scratch directory")
        }
        self.scratch = ScratchSpace(directory: scratchDirectory)
    }

    /// The object's key in the bucket: `PREFIX/objects/ab/cdef…`.
    public func bucketKey(_ key: ObjectKey) -> String { prefix + key.relativePath }

    // MARK: - Writing

    @discardableResult
    public func put(_ bytes: [UInt8]) async throws -> ObjectKey {
        let size = Int64(bytes.count)
        let buffer = ByteBuffer(bytes: bytes)
        guard size > singlePutLimit else {
            let key = try ObjectKey(digest: SHA256.hash(data: bytes))
            if try await refreshIfPresent(key) { return key }
            try await mapped { try await client.putObject(key: bucketKey(key), body: .bytes(buffer, sha256: key.hex)) }
            return key
        }
        // Large: hashed (whole and by part) off the cooperative pool, then stored in parts.
        let partSize = partSize
        let plan = try await NIOThreadPool.singleton.runIfActive { () throws -> (key: ObjectKey, partDigests: [String]) in
            var whole = SHA256()
            var digests: [String] = []
            var start = 0
            while start < bytes.count {
                let part = bytes[start..<min(bytes.count, start + Int(partSize))]
                whole.update(data: part)
                digests.append(S3Signer.hex(SHA256.hash(data: part)))
                start += part.count
            }
            return (try ObjectKey(digest: whole.finalize()), digests)
        }
        if try await refreshIfPresent(plan.key) { return plan.key }
        try await putInParts(bucketKey(plan.key), size: size, partDigests: plan.partDigests) { range in
            .bytes(buffer.getSlice(at: Int(range.lowerBound), length: range.count) ?? ByteBuffer())
        }
        return plan.key
    }

    @discardableResult
    public func putFile(movingFrom url: URL) async throws -> ObjectKey {
        defer { unlink(url.path) }
        let plan = try await NIOThreadPool.singleton.runIfActive { try Self.hash(url.path, partSize: partSize) }
        if try await refreshIfPresent(plan.key) { return plan.key }
        let target = bucketKey(plan.key)
        let path = url.path
        if plan.size <= singlePutLimit {
            let body = S3Client.Body(length: plan.size, sha256: plan.key.hex) {
                .stream(FileChunks(path: path, range: 0..<plan.size), length: .known(plan.size))
            }
            try await mapped { try await client.putObject(key: target, body: body) }
            return plan.key
        }
        try await putInParts(target, size: plan.size, partDigests: plan.partDigests) { range in
            .stream(FileChunks(path: path, range: range), length: .known(Int64(range.count)))
        }
        return plan.key
    }

    /// Stores `size` bytes at `target` as a multipart upload of parts of `partSize`, `part` making the body of each
    /// byte range (anew for a retry) and `partDigests` giving their SHA-256s. The object appears whole when the upload
    /// completes; when a part fails, the upload is aborted (what a killed process leaves, gc aborts).
    private func putInParts(
        _ target: String, size: Int64, partDigests: [String], part: @escaping @Sendable (Range<Int64>) -> HTTPClientRequest.Body
    ) async throws {
        let upload = try await mapped { try await client.createMultipartUpload(key: target) }
        do {
            var parts: [(number: Int, etag: String)] = []
            for (index, digest) in partDigests.enumerated() {
                let start = Int64(index) * partSize
                let range = start..<min(size, start + partSize)
                let body = S3Client.Body(length: Int64(range.count), sha256: digest) { part(range) }
                let etag = try await mapped { try await client.uploadPart(key: target, uploadID: upload, number: index + 1, body: body) }
                parts.append((index + 1, etag))
            }
            try await mapped { try await client.completeMultipartUpload(key: target, uploadID: upload, parts: parts) }
        } catch {
            // Nothing half-written stays: the parts are dropped (gc aborts what a killed process left).
            try? await client.abortMultipartUpload(key: target, uploadID: upload)
            throw error
        }
    }

    /// When the object is there already, refreshes its age (a copy onto itself) and says so.
    private func refreshIfPresent(_ key: ObjectKey) async throws -> Bool {
        guard try await object(key) != nil else { return false }
        do {
            try await client.touchObject(key: bucketKey(key))
        } catch {
            // Present is what matters; an old age only makes gc consider it sooner, and gc checks references.
        }
        return true
    }

    /// The file's size, its SHA-256 (the key) and the SHA-256 of each part of `partSize`, in one read.
    static func hash(_ path: String, partSize: Int64) throws -> (key: ObjectKey, size: Int64, partDigests: [String]) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LocalObjectStore.failure("putFile: open the file") }
        defer { close(descriptor) }
        return try LocalObjectStore.hashFile(descriptor, partSize: partSize)
    }

    // MARK: - Reading

    public func read(_ key: ObjectKey) async throws -> [UInt8] {
        let bytes = try await reading(key) { try await client.getObject(key: bucketKey(key)) }
        guard let bytes else { throw StorageError.notFound(entity: "object", id: key.hex) }
        return bytes
    }

    public func read(_ key: ObjectKey, chunkSize: Int, into consumer: (ByteBuffer) async throws -> Void) async throws {
        let found = try await reading(key) {
            try await client.getObject(key: bucketKey(key)) { chunk in
                var chunk = chunk
                while chunk.readableBytes > chunkSize, let piece = chunk.readSlice(length: chunkSize) {
                    try await consumer(piece)
                }
                if chunk.readableBytes > 0 { try await consumer(chunk) }
            }
        }
        guard found else { throw StorageError.notFound(entity: "object", id: key.hex) }
    }

    /// Runs a read of `key`, turning S3's errors and a connection that broke mid-answer into `StorageError`s.
    private func reading<Value>(_ key: ObjectKey, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as S3Error {
            throw Self.storageError(error)
        } catch let error as HTTPClientError {
            throw StorageError.storeUnavailable("reading \(key.hex): \(error)")
        }
    }

    public func object(_ key: ObjectKey) async throws -> StoredObject? {
        try await mapped {
            try await client.headObject(key: bucketKey(key)).map { StoredObject(key: key, bytes: $0.size, modifiedAt: $0.lastModified) }
        }
    }

    @discardableResult
    public func remove(_ key: ObjectKey) async throws -> Bool {
        guard try await object(key) != nil else { return false }
        try await mapped { try await client.deleteObject(key: bucketKey(key)) }
        return true
    }

    public func list() async throws -> [StoredObject] {
        var objects: [StoredObject] = []
        var token: String?
        let base = prefix + "objects/"
        repeat {
            let page = try await mapped { try await client.listObjects(prefix: base, continuationToken: token) }
            for item in page.objects {
                // objects/ab/cdef…: anything else under the prefix is not ours to report.
                let parts = item.key.dropFirst(base.count).split(separator: "/")
                guard parts.count == 2, let key = try? ObjectKey(String(parts[0]) + String(parts[1])), key.prefix == parts[0] else { continue }
                objects.append(StoredObject(key: key, bytes: item.size, modifiedAt: item.lastModified))
            }
            token = page.next
        } while token != nil
        return objects.sorted { $0.key < $1.key }
    }

    /// Checks that the bucket answers to the key pair (a one-key listing).
    public func check() async throws {
        try await mapped { try await client.checkBucket() }
    }

    public var kind: String { "s3" }

    /// An object store reports no free space.
    public func freeBytes() async -> Int64? { nil }

    public func withLocalFile<Result: Sendable>(_ key: ObjectKey, _ body: (URL) async throws -> Result) async throws -> Result {
        let url = scratch.newFileURL(prefix: "read-")
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LocalObjectStore.failure("withLocalFile: create a scratch file") }
        defer { unlink(url.path) }
        do {
            defer { close(descriptor) }
            try await read(key, chunkSize: 1 << 20) { chunk in
                try chunk.withUnsafeReadableBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let written = Glibc.write(descriptor, bytes.baseAddress?.advanced(by: offset), bytes.count - offset)
                        if written < 0 {
                            if errno == EINTR { continue }
                            throw LocalObjectStore.failure("withLocalFile: write the scratch file")
                        }
                        offset += written
                    }
                }
            }
        }
        return try await body(url)
    }

    /// Multipart uploads under the prefix started more than `age` ago and never completed (a process killed while it
    /// uploaded), aborted: their parts take space and no object shows them.
    /// - Returns: How many were aborted.
    @discardableResult
    public func abortStaleUploads(olderThan age: TimeInterval) async throws -> Int {
        let uploads = try await mapped { try await client.listMultipartUploads(prefix: prefix + "objects/") }
        var aborted = 0
        for upload in uploads where upload.initiated < Date().addingTimeInterval(-age) {
            try await mapped { try await client.abortMultipartUpload(key: upload.key, uploadID: upload.uploadID) }
            aborted += 1
        }
        return aborted
    }

    // MARK: - Errors

    /// Runs `body`, turning S3's errors into `StorageError`s.
    private func mapped<Value>(_ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch let error as S3Error {
            throw Self.storageError(error)
        }
    }

    static func storageError(_ error: S3Error) -> StorageError {
        switch error {
        case .unavailable(let reason): .storeUnavailable(reason)
        case .rejected, .invalidResponse: .fileSystem(error.description)
        }
    }
}

/// A byte range of a local file as an async sequence of chunks (1 MiB), read on NIO's thread pool: a request body that
/// a retry can make again. The file is opened on the first read and closed at the end.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let range: Range<Int64>

    func makeAsyncIterator() -> Iterator { Iterator(path: path, range: range) }

    final class Iterator: AsyncIteratorProtocol {
        let path: String
        var offset: Int64
        let end: Int64
        var descriptor: Int32 = -1

        init(path: String, range: Range<Int64>) {
            self.path = path
            self.offset = range.lowerBound
            self.end = range.upperBound
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
        }

        func next() async throws -> ByteBuffer? {
            guard offset < end else {
                if descriptor >= 0 {
                    close(descriptor)
                    descriptor = -1
                }
                return nil
            }
            if descriptor < 0 {
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw LocalObjectStore.failure("read a file to upload: open") }
            }
            let count = Int(Swift.min(Int64(1 << 20), end - offset))
            let (fd, at) = (descriptor, offset)
            let chunk = try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
                // Read straight into the buffer that is sent: no copy.
                var buffer = ByteBufferAllocator().buffer(capacity: count)
                while buffer.readableBytes < count {
                    let filled = buffer.readableBytes
                    // An interrupted read writes nothing and is tried again.
                    _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - filled) { space -> Int in
                        let read = pread(fd, space.baseAddress, count - filled, off_t(at) + off_t(filled))
                        if read < 0 {
                            if errno == EINTR { return 0 }
                            throw LocalObjectStore.failure("read a file to upload")
                        }
                        if read == 0 { throw StorageError.fileSystem("read a file to upload: it ended early") }
                        return read
                    }
                }
                return buffer
            }
            offset += Int64(count)
            return chunk
        }
    }
}
