import Crypto
import Foundation
import NIOCore
import SegS3
import SegTestSupport
import Synchronization
import Testing

@testable import SegStorage

/// The `ObjectStore` contract, run on both stores: the local one and the S3 one against a real SeaweedFS with Signature
/// V4 checking (`scripts/dev/seaweedfs.sh`, named in `SEG_TEST_S3_DIR`).
@Suite(.timeLimit(.minutes(5))) struct ObjectStoreContractTests {
    enum Kind: String, CaseIterable, Sendable {
        case local, s3
    }

    /// A fresh, empty store of `kind`.
    static func store(_ kind: Kind) throws -> any ObjectStore {
        switch kind {
        case .local:
            return try LocalObjectStore(root: FileManager.default.temporaryDirectory.appendingPathComponent("seg-contract-\(UUID().uuidString)"))
        case .s3:
            // Small parts, so that a few MiB make a real multipart upload.
            var store = try TestS3Store.store()
            store.singlePutLimit = 5 << 20
            store.partSize = 5 << 20
            return store
        }
    }

    /// Deterministic bytes that differ from run to run (no test sees another's objects).
    static func bytes(_ count: Int, salt: UInt8 = UInt8.random(in: 0...255)) -> [UInt8] {
        var state = UInt32(salt) &+ 0x9E37_79B9
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { S3Signer.hex(SHA256.hash(data: bytes)) }

    @Test(arguments: Kind.allCases)
    func bytesRoundTripUnderTheirHashAndAreStoredOnce(_ kind: Kind) async throws {
        let store = try Self.store(kind)
        let bytes = Self.bytes(300_000)

        let key = try await store.put(bytes)
        let again = try await store.put(bytes)

        #expect(key.hex == Self.hex(bytes) && again == key)
        #expect(try await store.read(key) == bytes)
        let listed = try await store.list()
        #expect(listed.map(\.key) == [key] && listed.first?.bytes == 300_000)
        #expect(try await store.object(key)?.bytes == 300_000)
        let empty = try await store.put([])
        let emptyRead = try await store.read(empty)
        #expect(empty.hex == S3Signer.emptyPayloadHash && emptyRead == [])
    }

    @Test(arguments: Kind.allCases)
    func filesAreStoredWithoutLoadingThemSmallAndInParts(_ kind: Kind) async throws {
        let store = try Self.store(kind)
        // 12 MiB + 7 bytes: three parts of 5 MiB on S3 (the last short); one 1 MiB file in one request.
        for size in [1 << 20, (12 << 20) + 7] {
            let bytes = Self.bytes(size)
            let url = store.scratch.newFileURL(prefix: "contract-")
            try Data(bytes).write(to: url)

            let key = try await store.putFile(movingFrom: url)

            #expect(key.hex == Self.hex(bytes), "\(size)")
            #expect(!FileManager.default.fileExists(atPath: url.path), "the source file is removed")
            var received: [UInt8] = []
            var largest = 0
            try await store.read(key, chunkSize: 64 << 10) { chunk in
                largest = max(largest, chunk.readableBytes)
                received.append(contentsOf: chunk.readableBytesView)
            }
            #expect(received == bytes && largest <= 64 << 10, "\(size)")
            let copy = try await store.withLocalFile(key) { try Data(contentsOf: $0) }
            #expect(Array(copy) == bytes)
        }
    }

    @Test(arguments: Kind.allCases)
    func largeBytesInMemoryAreStoredInParts(_ kind: Kind) async throws {
        // setup: on S3, a client that counts its requests by operation
        var store = try Self.store(kind)
        let counts = RequestCounts()
        if var s3 = store as? S3ObjectStore {
            var client = s3.client
            client.observer = { operation, _, _ in
                if operation == "multipart" { counts.multipart.add(1, ordering: .relaxed) }
                if operation == "put" { counts.put.add(1, ordering: .relaxed) }
            }
            let counted = try S3ObjectStore(client: client, prefix: s3.prefix, scratchDirectory: s3.scratch.directory)
            s3 = counted
            s3.singlePutLimit = 5 << 20
            s3.partSize = 5 << 20
            store = s3
        }
        let bytes = Self.bytes((12 << 20) + 7)

        // MUT
        let key = try await store.put(bytes)

        // validate: the key is the hash of the whole; the bytes come back; on S3 it went as create, 3 parts, complete
        #expect(key.hex == Self.hex(bytes))
        #expect(try await store.read(key) == bytes)
        if kind == .s3 {
            #expect(counts.multipart.load(ordering: .relaxed) == 5 && counts.put.load(ordering: .relaxed) == 0)
        }
    }

    @Test(arguments: Kind.allCases)
    func absentObjectsAreReportedAndRemovalIsIdempotent(_ kind: Kind) async throws {
        let store = try Self.store(kind)
        let absent = try ObjectKey(Self.hex(Self.bytes(10)))

        #expect(try await store.object(absent) == nil)
        await #expect(throws: StorageError.notFound(entity: "object", id: absent.hex)) { try await store.read(absent) }
        await #expect(throws: StorageError.notFound(entity: "object", id: absent.hex)) { try await store.withLocalFile(absent) { _ in 0 } }
        let key = try await store.put(Self.bytes(1000))
        #expect(try await store.remove(key) == true)
        #expect(try await store.remove(key) == false)
        #expect(try await store.object(key) == nil)
        #expect(try await store.list().isEmpty)
    }

    @Test(arguments: Kind.allCases)
    func storingPresentContentAgainMakesItYoung(_ kind: Kind) async throws {
        let store = try Self.store(kind)
        let bytes = Self.bytes(5000)
        let key = try await store.put(bytes)
        let first = try #require(try await store.object(key)).modifiedAt
        try await Task.sleep(for: .milliseconds(1100))  // object stores keep seconds

        _ = try await store.put(bytes)

        let second = try #require(try await store.object(key)).modifiedAt
        #expect(second > first, "\(first) then \(second)")
    }

    @Test func aRangeOfAnObjectIsReadAlone() async throws {
        let store = try TestS3Store.store()
        let bytes = Self.bytes(10_000)
        let key = try await store.put(bytes)

        var received: [UInt8] = []
        let found = try await store.client.getObject(key: store.bucketKey(key), range: 1000...1999) { received += $0.readableBytesView }

        #expect(found && received == Array(bytes[1000...1999]))
    }

    @Test func aWrongKeyPairIsRefusedWithTheStoresReason() async throws {
        let store = try TestS3Store.store(credentials: S3Credentials(accessKeyID: "SEGHUBWRONGKEY", secretAccessKey: "not the secret"))

        await #expect {
            _ = try await store.put(Self.bytes(100))
        } throws: { error in
            guard case .fileSystem(let reason) = error as? StorageError else { return false }
            // A HEAD (is the object there?) comes first: its refusal has no body, only the status.
            return reason.contains("HTTP 403") && reason.contains("refused")
        }
    }

    @Test func anUnreachableStoreIsUnavailableAfterItsRetries() async throws {
        var configuration = try TestS3Store.configuration()
        configuration.endpoint = try #require(URL(string: "http://127.0.0.1:9"))  // discard: nothing listens
        configuration.attempts = 2
        let store = try S3ObjectStore(
            client: S3Client(configuration: configuration), prefix: "x",
            scratchDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("seg-s3-\(UUID().uuidString)"))

        await #expect {
            _ = try await store.put(Self.bytes(100))
        } throws: { error in
            guard case .storeUnavailable(let reason) = error as? StorageError else { return false }
            return reason.contains("failed 2 times")
        }
    }

    @Test func aStaleMultipartUploadIsAbortedAndNeverShowsAsAnObject() async throws {
        let store = try TestS3Store.store()
        let key = try ObjectKey(Self.hex(Self.bytes(64)))
        // A process killed mid-upload: started, one part sent, never completed.
        let upload = try await store.client.createMultipartUpload(key: store.bucketKey(key))
        _ = try await store.client.uploadPart(
            key: store.bucketKey(key), uploadID: upload, number: 1,
            body: .bytes(ByteBuffer(bytes: Self.bytes(1000, salt: 1)), sha256: Self.hex(Self.bytes(1000, salt: 1))))

        #expect(try await store.list().isEmpty)
        #expect(try await store.object(key) == nil)
        #expect(try await store.abortStaleUploads(olderThan: 3600) == 0)  // young: left alone
        #expect(try await store.abortStaleUploads(olderThan: -1) == 1)
        #expect(try await store.client.listMultipartUploads(prefix: store.prefix).isEmpty)
    }
}

/// Requests an S3 client sent, by operation (atomics: see JobQueueTests on ThreadSanitizer and Mutex).
private final class RequestCounts: Sendable {
    let multipart = Atomic<Int>(0)
    let put = Atomic<Int>(0)
}
