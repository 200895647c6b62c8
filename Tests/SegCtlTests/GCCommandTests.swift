import Foundation
import PostgresNIO
import SegTestSupport
import Testing

@testable import SegStorage

/// `segctl gc` against a test database and a file store in a temporary directory.
@Suite struct GCCommandTests {
    @Test func deleteRemovesOnlyOldOrphans() async throws {
        // setup: one referenced object, one old orphan, one young orphan, one stale temporary file
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        let referenced = try store.putBlocking(Array("referenced image".utf8))
        let orphan = try store.putBlocking(Array("orphaned image".utf8))
        let young = try store.putBlocking(Array("just uploaded".utf8))
        let twoHoursAgo = Date().addingTimeInterval(-7200)
        try Self.setModificationDate(twoHoursAgo, of: store.url(for: referenced))
        try Self.setModificationDate(twoHoursAgo, of: store.url(for: orphan))
        let staleTemporary = root.appendingPathComponent("tmp/stale")
        try Data("partial".utf8).write(to: staleTemporary)
        try Self.setModificationDate(twoHoursAgo, of: staleTemporary)

        try await withTestDatabaseURL { client, url in
            let owner = try await insertUser(email: "owner@example.org", client: client)
            try await insertImage(project: try await insertProject(owner: owner, client: client), objectKey: referenced.hex, client: client)

            // MUT: listing only
            let listed = try SegCtlRunner.run(["gc", "--database-url", url, "--data-dir", root.path, "--json"])

            // validate
            #expect(listed.status == 0, "stderr: \(listed.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: listed.stdout) as? [String: Any])
            let orphans = try #require(report["orphans"] as? [[String: Any]])
            #expect(orphans.map { $0["key"] as? String } == [orphan.hex])
            #expect(orphans.first?["bytes"] as? Int == "orphaned image".utf8.count)
            #expect(orphans.first?["modifiedAt"] is String)
            #expect(report["totalBytes"] as? Int == "orphaned image".utf8.count)
            #expect(report["deleted"] as? Bool == false)
            #expect(store.exists(orphan))
            #expect(FileManager.default.fileExists(atPath: staleTemporary.path))

            // MUT: delete
            let deleted = try SegCtlRunner.run(["gc", "--database-url", url, "--data-dir", root.path, "--delete"])

            // validate
            #expect(deleted.status == 0, "stderr: \(deleted.stderr)")
            #expect(deleted.stdoutText.contains(orphan.hex))
            #expect(deleted.stderr.contains("\("orphaned image".utf8.count) bytes freed"))
            #expect(!store.exists(orphan))
            #expect(store.exists(referenced))
            #expect(store.exists(young))
            #expect(!FileManager.default.fileExists(atPath: staleTemporary.path))
        }
    }

    @Test func onTheS3StoreDeleteRemovesOrphansAndAbortsUnfinishedUploads() async throws {
        // setup: a referenced object and an orphan in the bucket under a prefix of this test's own, and a multipart
        // upload that a killed process never finished
        let prefix = "gc-\(UUID().uuidString.lowercased())"
        var settings = try TestS3Store.environment()
        settings["SEG_S3_PREFIX"] = prefix
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        var problems: [String] = []
        let settingsRead = try #require(ObjectStoreSettings.fromEnvironment(settings, dataDirectory: root, problems: &problems))
        let opened = try settingsRead.makeStore()
        let store = try #require(opened as? S3ObjectStore)
        let referenced = try await store.put(Array("referenced on s3 \(prefix)".utf8))
        let orphan = try await store.put(Array("orphaned on s3 \(prefix)".utf8))
        _ = try await store.client.createMultipartUpload(key: store.prefix + "objects/ab/unfinished")

        try await withTestDatabaseURL { client, url in
            let owner = try await insertUser(email: "owner@example.org", client: client)
            try await insertImage(project: try await insertProject(owner: owner, client: client), objectKey: referenced.hex, client: client)

            // MUT
            let deleted = try SegCtlRunner.run(
                ["gc", "--database-url", url, "--data-dir", root.path, "--delete", "--min-age-minutes", "0"], environment: settings)

            // validate
            #expect(deleted.status == 0, "stderr: \(deleted.stderr)")
            #expect(deleted.stdoutText.contains(orphan.hex) && !deleted.stdoutText.contains(referenced.hex))
            #expect(deleted.stderr.contains("1 unfinished multipart upload(s) aborted"), "\(deleted.stderr)")
            #expect(try await store.object(orphan) == nil)
            #expect(try await store.object(referenced) != nil)
            #expect(try await store.client.listMultipartUploads(prefix: store.prefix).isEmpty)
        }
    }

    @Test func deleteSparesThumbnailsAndExportArchives() async throws {
        // setup: old objects referenced as a thumbnail and as a done export's archive, and one old orphan
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        let original = try store.putBlocking(Array("original".utf8))
        let thumbnail = try store.putBlocking(Array("thumbnail".utf8))
        let archive = try store.putBlocking(Array("export archive".utf8))
        let orphan = try store.putBlocking(Array("orphan".utf8))
        for key in [original, thumbnail, archive, orphan] {
            try Self.setModificationDate(Date().addingTimeInterval(-7200), of: store.url(for: key))
        }

        try await withTestDatabaseURL { client, url in
            let owner = try await insertUser(email: "owner@example.org", client: client)
            let project = try await insertProject(owner: owner, client: client)
            try await insertImage(project: project, objectKey: original.hex, thumbnailKey: thumbnail.hex, client: client)
            try await client.query(
                """
                INSERT INTO exports (project_id, formats, status, object_key, bytes, expires_at)
                VALUES (\(project), ARRAY['coco'], 'done', \(archive.hex), 14, now() + interval '1 day')
                """
            )

            // MUT
            let out = try SegCtlRunner.run(["gc", "--database-url", url, "--data-dir", root.path, "--delete", "--json"])

            // validate
            #expect(out.status == 0, "stderr: \(out.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
            let orphans = try #require(report["orphans"] as? [[String: Any]])
            #expect(orphans.map { $0["key"] as? String } == [orphan.hex])
            #expect(!store.exists(orphan))
            for key in [original, thumbnail, archive] { #expect(store.exists(key)) }
        }
    }

    @Test func youngOrphanIsSpared() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        let young = try store.putBlocking(Array("just uploaded".utf8))
        try Self.setModificationDate(Date().addingTimeInterval(-600), of: store.url(for: young))

        try await withTestDatabaseURL { _, url in
            let out = try SegCtlRunner.run([
                "gc", "--database-url", url, "--data-dir", root.path, "--delete", "--min-age-minutes", "30", "--json",
            ])
            #expect(out.status == 0, "stderr: \(out.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])
            #expect((report["orphans"] as? [Any])?.isEmpty == true)
            #expect(report["totalBytes"] as? Int == 0)
            #expect(report["deleted"] as? Bool == true)
            #expect(store.exists(young))
        }
    }

    @Test func missingDataDirectoryIsBadUsage() throws {
        let out = try SegCtlRunner.run(["gc", "--database-url", "postgres://postgres@127.0.0.1:1/seghub?sslmode=disable"])
        #expect(out.status == 64)
        #expect(out.stderr.contains("data"))
        #expect(out.stdout.isEmpty)
    }

    // MARK: - Helpers

    static func setModificationDate(_ date: Date, of url: URL) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: url.path)
    }
}
