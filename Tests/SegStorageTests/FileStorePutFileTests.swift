import Foundation
import SegStorage
import Testing

/// `FileStore.putFile(movingFrom:)`: storing a file (an export archive) without reading it into memory.
@Suite struct FileStorePutFileTests {
    @Test func aFileIsStoredUnderItsDigestAndItsSourceRemoved() throws {
        try FileStoreTests.withStore { store, _ in
            // setup: a file larger than the 64 KiB read chunk, in tmp/
            let bytes: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
            let source = store.scratch.newFileURL()
            try Data(bytes).write(to: source)

            // MUT
            let key = try store.putFileBlocking(movingFrom: source)

            // validate: the same key as storing the bytes (SHA-256), the content, and no source left
            #expect(key == (try store.putBlocking(bytes)))
            #expect(try store.readBlocking(key) == bytes)
            #expect(!FileManager.default.fileExists(atPath: source.path))
            #expect(try store.allKeys() == [key])
        }
    }

    @Test func theDigestOfAKnownInputIsRight() throws {
        try FileStoreTests.withStore { store, _ in
            let source = store.scratch.newFileURL()
            try Data("abc".utf8).write(to: source)
            #expect(try store.putFileBlocking(movingFrom: source).hex == FileStoreTests.abcDigest)
        }
    }

    @Test func aFileOutsideTheStoreIsCopiedIn() throws {
        try FileStoreTests.withStore { store, root in
            let outside = root.deletingLastPathComponent().appendingPathComponent("outside.bin")
            try Data("from elsewhere".utf8).write(to: outside)

            let key = try store.putFileBlocking(movingFrom: outside)

            #expect(try store.readBlocking(key) == Array("from elsewhere".utf8))
            #expect(!FileManager.default.fileExists(atPath: outside.path))
        }
    }

    @Test func storingKnownContentAgainAddsNothing() throws {
        try FileStoreTests.withStore { store, _ in
            let first = try store.putBlocking(Array("twice".utf8))
            let source = store.scratch.newFileURL()
            try Data("twice".utf8).write(to: source)

            #expect(try store.putFileBlocking(movingFrom: source) == first)
            #expect(try store.allKeys() == [first])
            #expect(!FileManager.default.fileExists(atPath: source.path))
        }
    }

    @Test func aMissingFileIsAnError() throws {
        try FileStoreTests.withStore { store, _ in
            #expect(throws: StorageError.self) { try store.putFileBlocking(movingFrom: store.scratch.newFileURL()) }
        }
    }
}
