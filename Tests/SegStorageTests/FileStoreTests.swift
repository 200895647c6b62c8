import Foundation
import PostgresNIO
import SegTestSupport
import Testing

@testable import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The content-addressed file store: layout, durability rules, key validation and orphan listing.
@Suite(.timeLimit(.minutes(5))) struct FileStoreTests {
    /// sha256("abc") from FIPS 180-2, appendix B.1.
    static let abcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

    @Test func roundTrip() throws {
        try Self.withStore { store, _ in
            let bytes: [UInt8] = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let key = try store.putBlocking(bytes)
            #expect(store.exists(key))
            #expect(try store.readBlocking(key) == bytes)
            #expect(try store.allKeys() == [key])
        }
    }

    @Test func emptyContentRoundTrips() throws {
        try Self.withStore { store, _ in
            let key = try store.putBlocking([])
            #expect(key.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            #expect(try store.readBlocking(key) == [])
        }
    }

    @Test func identicalContentIsStoredOnce() throws {
        try Self.withStore { store, root in
            let first = try store.putBlocking(Array("same bytes".utf8))
            let second = try store.putBlocking(Array("same bytes".utf8))
            #expect(first == second)
            #expect(try store.allKeys() == [first])
            let fanOut = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("objects/\(first.prefix)").path)
            #expect(fanOut == [first.remainder])
            #expect(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("tmp").path).isEmpty)
        }
    }

    @Test func storingOldContentAgainMakesItYoung() throws {
        // setup: an object last written two hours ago (gc spares only young orphans)
        try Self.withStore { store, _ in
            let key = try store.putBlocking(Array("old upload".utf8))
            let old = Date().addingTimeInterval(-7200)
            try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: store.url(for: key).path)

            // MUT: a new upload of the same bytes
            _ = try store.putBlocking(Array("old upload".utf8))

            // validate: its age restarts, so gc cannot remove it before the new row is inserted
            let attributes = try FileManager.default.attributesOfItem(atPath: store.url(for: key).path)
            let modified = try #require(attributes[.modificationDate] as? Date)
            #expect(Date().timeIntervalSince(modified) < 600)
        }
    }

    @Test func keyPathIsTheSHA256OfTheContent() throws {
        try Self.withStore { store, root in
            let key = try store.putBlocking(Array("abc".utf8))
            #expect(key.hex == Self.abcDigest)
            let expected = root.appendingPathComponent("objects/ba/7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            #expect(store.url(for: key).standardizedFileURL.path == expected.standardizedFileURL.path)
            #expect(key.relativePath == "objects/ba/7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            #expect(try Data(contentsOf: expected) == Data("abc".utf8))
        }
    }

    @Test(arguments: [
        "../etc/passwd",
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        String(abcDigest.dropLast()),
        abcDigest + "0",
        "",
        "ba/7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "../7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "g" + String(abcDigest.dropFirst()),
    ])
    func invalidKeysAreRejected(text: String) {
        #expect(throws: StorageError.invalidObjectKey) { try ObjectKey(text) }
    }

    @Test func validKeyIsAccepted() throws {
        #expect(try ObjectKey(Self.abcDigest).hex == Self.abcDigest)
    }

    @Test func filesAreOwnerOnly() throws {
        try Self.withStore { store, root in
            let key = try store.putBlocking(Array("private".utf8))
            #expect(try Self.mode(store.url(for: key)) == 0o600)
            for directory in ["objects", "tmp", "objects/\(key.prefix)"] {
                #expect(try Self.mode(root.appendingPathComponent(directory)) == 0o700, "\(directory)")
            }
        }
    }

    @Test func readingAMissingObjectIsNotFound() throws {
        try Self.withStore { store, _ in
            let key = try ObjectKey(Self.abcDigest)
            #expect(!store.exists(key))
            #expect(throws: StorageError.notFound(entity: "object", id: Self.abcDigest)) { try store.readBlocking(key) }
        }
    }

    @Test func removeDeletesTheObject() throws {
        try Self.withStore { store, _ in
            let kept = try store.putBlocking(Array("kept".utf8))
            let removed = try store.putBlocking(Array("removed".utf8))
            #expect(try store.removeBlocking(removed))
            #expect(!store.exists(removed))
            #expect(try store.removeBlocking(removed) == false)
            #expect(try store.allKeys() == [kept])
        }
    }

    @Test func leftoverTemporaryFileIsNeverAnObjectAndIsCleanedUp() throws {
        try Self.withStore { store, root in
            // setup: a writer killed after writing part of "abc" to its temporary file
            let leftover = root.appendingPathComponent("tmp/\(UUID().uuidString.lowercased())")
            try Data("ab".utf8).write(to: leftover)
            let key = try ObjectKey(Self.abcDigest)

            // validate: the partial content is not visible as an object
            #expect(!store.exists(key))
            #expect(try store.allKeys().isEmpty)
            #expect(try store.scratch.clean(olderThan: .seconds(3600)) == 0)
            #expect(FileManager.default.fileExists(atPath: leftover.path))

            // MUT
            let removed = try store.scratch.clean(olderThan: .zero)

            // validate
            #expect(removed == 1)
            #expect(!FileManager.default.fileExists(atPath: leftover.path))
            #expect(try store.putBlocking(Array("abc".utf8)) == key)
            #expect(try store.readBlocking(key) == Array("abc".utf8))
        }
    }

    @Test func strayFilesUnderObjectsAreNotKeys() throws {
        try Self.withStore { store, root in
            let key = try store.putBlocking(Array("abc".utf8))
            try Data("x".utf8).write(to: root.appendingPathComponent("objects/ba/not-a-key"))
            try FileManager.default.createDirectory(at: root.appendingPathComponent("objects/zz"), withIntermediateDirectories: false)
            try Data("x".utf8).write(to: root.appendingPathComponent("objects/zz/" + String(repeating: "0", count: 62)))
            #expect(try store.allKeys() == [key])
        }
    }

    @Test func reopeningAStoreKeepsItsObjects() throws {
        try Self.withStore { store, root in
            let key = try store.putBlocking(Array("persisted".utf8))
            let reopened = try LocalObjectStore(root: root)
            #expect(try reopened.readBlocking(key) == Array("persisted".utf8))
        }
    }

    @Test func fileSystemErrorNamesTheOperation() throws {
        try Self.withStore { store, root in
            // A file where the fan-out directory should be makes `put` fail before anything is renamed.
            try Data("secret-content".utf8).write(to: root.appendingPathComponent("objects/ba"))
            do {
                try store.putBlocking(Array("abc".utf8))
                Issue.record("put succeeded")
            } catch let error as StorageError {
                guard case .fileSystem(let message) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(message.contains("put"))
                #expect(!message.contains("secret-content"))
                #expect(!message.contains("abc"))
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("tmp").path).isEmpty)
        }
    }

    @Test func orphanedKeysAreTheObjectsNoImageRefersTo() async throws {
        let root = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        let referenced = try store.putBlocking(Array("referenced image".utf8))
        let orphan = try store.putBlocking(Array("orphaned image".utf8))
        try await withTestDatabase { client in
            // setup
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            try await insertImage(project: project, objectKey: referenced.hex, client: client)

            // MUT
            let orphans = try await store.orphans(references: ObjectReferences(on: Database(client: client, logger: Logger(label: "seg.test.files"))))
                .map(\.key)

            // validate
            #expect(orphans == [orphan])
        }
    }

    @Test func thumbnailsAndExportArchivesAreNotOrphans() async throws {
        let root = try Self.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        let original = try store.putBlocking(Array("original".utf8))
        let thumbnail = try store.putBlocking(Array("thumbnail".utf8))
        let archive = try store.putBlocking(Array("export archive".utf8))
        let expiredArchive = try store.putBlocking(Array("expired export archive".utf8))
        let orphan = try store.putBlocking(Array("orphaned image".utf8))
        try await withTestDatabase { client in
            // setup: an image with its thumbnail, a done export, and an expired export (which holds no key)
            let user = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            try await insertImage(project: project, objectKey: original.hex, thumbnailKey: thumbnail.hex, client: client)
            try await client.query(
                """
                INSERT INTO exports (project_id, formats, status, object_key, bytes, expires_at)
                VALUES (\(project), ARRAY['coco'], 'done', \(archive.hex), 14, now() + interval '1 hour'),
                       (\(project), ARRAY['csv'], 'expired', NULL, 22, now() - interval '1 hour')
                """
            )

            // MUT
            let orphans = try await store.orphans(references: ObjectReferences(on: Database(client: client, logger: Logger(label: "seg.test.files"))))
                .map(\.key)

            // validate
            #expect(orphans == [orphan, expiredArchive].sorted())
        }
    }

    // MARK: - Helpers

    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("seghub-files-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        return url
    }

    /// Runs `body` with a store in a fresh temporary directory, removed afterwards.
    static func withStore(_ body: (LocalObjectStore, URL) throws -> Void) throws {
        let root = try makeTemporaryDirectory().appendingPathComponent("data", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }
        try body(try LocalObjectStore(root: root), root)
    }

    /// The permission bits of `url`.
    static func mode(_ url: URL) throws -> mode_t {
        var info = stat()
        try #require(stat(url.path, &info) == 0)
        return info.st_mode & 0o777
    }

    @Test func removeUnreferencedKeepsSharedAndYoungObjects() async throws {
        try await withTestDatabase { client in
            // setup: two images share one object, a third has its own; both rows of the own one and one shared go
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("seg-unref-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            let store = try LocalObjectStore(root: root)
            let shared = try store.putBlocking(Array("shared".utf8))
            let own = try store.putBlocking(Array("own".utf8))
            let user = try await insertUser(email: "f@example.org", client: client)
            let project = try await insertProject(owner: user, client: client)
            for key in [shared, shared, own] {
                try await insertImage(project: project, objectKey: key.hex, client: client)
            }
            try await client.query("DELETE FROM images WHERE object_key = \(own.hex)")
            try await client.query("DELETE FROM images WHERE id = (SELECT id FROM images WHERE object_key = \(shared.hex) LIMIT 1)")
            let references = ObjectReferences(on: Database(client: client, logger: Logger(label: "test")))

            // MUT + validate: young objects are spared by default; with no grace only the unreferenced one goes
            #expect(try await store.removeUnreferenced([shared, own], references: references).isEmpty)
            let removed = try await store.removeUnreferenced([shared, own], references: references, youngerThan: .zero)
            #expect(removed == [own])
            #expect(store.exists(shared))
            #expect(!store.exists(own))
        }
    }
}
