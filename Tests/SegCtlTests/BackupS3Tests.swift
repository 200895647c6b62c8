import Crypto
import Foundation
import PostgresNIO
import SegS3
import SegTestSupport
import Testing

@testable import SegStorage

/// Backups of an installation on the S3 store (issue 17), against the real SeaweedFS of the test run: objects are
/// copied from the bucket into the backup with their SHA-256 in the manifest, and a restore puts them into whichever
/// store is configured: another prefix of the bucket, or a data directory.
@Suite(.timeLimit(.minutes(5))) struct BackupS3Tests {
    @Test func aBackupOfTheBucketRestoresIntoTheBucketOrADataDirectory() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let dest = root.appendingPathComponent("backups").path
        let source = "backup-src-\(UUID().uuidString.lowercased())"
        let target = "backup-dst-\(UUID().uuidString.lowercased())"
        func settings(_ prefix: String) throws -> [String: String] {
            var settings = try TestS3Store.environment()
            settings["SEG_S3_PREFIX"] = prefix
            return settings
        }
        func s3(_ prefix: String) throws -> S3ObjectStore {
            var problems: [String] = []
            let read = try #require(ObjectStoreSettings.fromEnvironment(try settings(prefix), dataDirectory: root, problems: &problems))
            return try #require(try read.makeStore() as? S3ObjectStore)
        }

        try await withTestDatabaseURL { client, url in
            // setup: five images whose objects live in the bucket (seeded into a local store, then put there)
            let local = try LocalObjectStore(root: root.appendingPathComponent("seed"))
            _ = try await AdminFixtures.seed(client: client, store: local, images: 5)
            let bucket = try s3(source)
            for key in try local.allKeys() { _ = try await bucket.put(try local.readBlocking(key)) }
            let keys = try await AdminFixtures.referencedKeys(client)
            #expect(keys.count == 10)

            // MUT: back up from the bucket
            let created = try SegCtlRunner.run(
                [
                    "backup", "create", "--verify", "--database-url", url, "--data-dir", root.appendingPathComponent("node").path, "--dest", dest,
                    "--json",
                ],
                environment: try settings(source))

            // validate: every object in the backup, its hash in the manifest
            #expect(created.status == 0, "stderr: \(created.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: created.stdout) as? [String: Any])
            let name = try #require(report["name"] as? String)
            #expect(report["objects"] as? Int == 10)
            let manifest = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dest)/\(name)/manifest.json"))) as? [String: Any])
            let entries = try #require(manifest["objects"] as? [[String: Any]])
            #expect(Set(entries.compactMap { $0["sha256"] as? String }) == Set(keys))

            for into in ["bucket", "directory"] {
                try await withTestDatabaseURL(migrated: false) { _, targetURL in
                    // MUT: restore into another prefix of the bucket, then into a data directory (SEG_OBJECT_STORE unset)
                    let data = root.appendingPathComponent("restored-\(into)")
                    let restored = try SegCtlRunner.run(
                        ["backup", "restore", name, "--database-url", targetURL, "--data-dir", data.path, "--dest", dest],
                        environment: into == "bucket" ? try settings(target) : ["SEG_OBJECT_STORE": "file"])

                    // validate: every object back with its bytes
                    #expect(restored.status == 0, "\(into): \(restored.stderr)")
                    let store: any ObjectStore = into == "bucket" ? try s3(target) : try LocalObjectStore(root: data)
                    for key in keys {
                        let bytes = try await store.read(try ObjectKey(key))
                        #expect(S3Signer.hex(SHA256.hash(data: bytes)) == key, "\(into) \(key)")
                    }
                }
            }
        }
    }
}

/// `segctl store copy` between a data directory and the real SeaweedFS bucket of the test run.
@Suite(.timeLimit(.minutes(5))) struct StoreCopyCommandTests {
    @Test func objectsMoveToTheBucketAndBackResumablyEachCheckedByItsHash() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        var settings = try TestS3Store.environment()
        settings["SEG_OBJECT_STORE"] = "file"  // the installation still runs on its data directory
        settings["SEG_S3_PREFIX"] = "copy-\(UUID().uuidString.lowercased())"
        let local = try LocalObjectStore(root: root.appendingPathComponent("data"))
        var keys: [ObjectKey] = []
        for index in 0..<3 { keys.append(try local.putBlocking(Array("object \(index) \(UUID().uuidString)".utf8))) }
        // One larger than a part of a multipart upload (16 MiB).
        keys.append(try local.putBlocking([UInt8](repeating: 7, count: 17 << 20) + Array(UUID().uuidString.utf8)))
        let dataDir = root.appendingPathComponent("data").path

        // MUT: copy, copy again (nothing to do), add one and copy again
        let first = try SegCtlRunner.run(["store", "copy", "--to", "s3", "--data-dir", dataDir, "--json"], environment: settings)
        let second = try SegCtlRunner.run(["store", "copy", "--to", "s3", "--data-dir", dataDir, "--json"], environment: settings)
        keys.append(try local.putBlocking(Array("a late upload \(UUID().uuidString)".utf8)))
        let third = try SegCtlRunner.run(["store", "copy", "--to", "s3", "--data-dir", dataDir, "--json"], environment: settings)

        // validate
        func report(_ output: SegCtlRunner.Output) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: output.stdout) as? [String: Any], "stderr: \(output.stderr)")
        }
        #expect(try report(first)["copied"] as? Int == 4 && report(first)["skipped"] as? Int == 0)
        #expect(try report(second)["copied"] as? Int == 0 && report(second)["skipped"] as? Int == 4)
        #expect(try report(third)["copied"] as? Int == 1 && report(third)["skipped"] as? Int == 4)

        // MUT: and back into an empty data directory
        let back = root.appendingPathComponent("back").path
        let returned = try SegCtlRunner.run(["store", "copy", "--to", "file", "--data-dir", back], environment: settings)

        // validate: every object byte for byte
        #expect(returned.status == 0 && returned.stdoutText.contains("copied 5 of 5 object(s) from s3 to file"), "\(returned.stderr)")
        let restored = try LocalObjectStore(root: URL(fileURLWithPath: back))
        for key in keys { #expect(try restored.readBlocking(key) == local.readBlocking(key)) }
        // a missing setting is named
        var incomplete = settings
        incomplete["SEG_S3_BUCKET"] = ""
        let refused = try SegCtlRunner.run(["store", "copy", "--to", "s3", "--data-dir", dataDir], environment: incomplete)
        #expect(refused.status != 0 && refused.stderr.contains("SEG_S3_BUCKET is required"))
    }
}
