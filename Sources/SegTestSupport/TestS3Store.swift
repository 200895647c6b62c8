import Foundation
import SegS3
import SegStorage

/// The real S3-compatible store of the test run (`scripts/dev/seaweedfs.sh`, which `scripts/test.sh` starts and names
/// in `SEG_TEST_S3_DIR`): its settings from `DIR/s3.env`, the ones segserver takes.
public enum TestS3Store {
    /// The settings in `SEG_TEST_S3_DIR/s3.env` (`SEG_S3_*` and `SEG_OBJECT_STORE`).
    /// - Throws: `TestDatabaseError` (the tests fail, never skip) when the variable is unset or the file unreadable.
    public static func environment() throws -> [String: String] {
        guard let dir = ProcessInfo.processInfo.environment["SEG_TEST_S3_DIR"], !dir.isEmpty else {
            throw TestDatabaseError(
                description: "SEG_TEST_S3_DIR is not set: these tests need an S3-compatible store. Run them with scripts/test.sh, or "
                    + "start one with `scripts/dev/seaweedfs.sh start DIR` and export SEG_TEST_S3_DIR=DIR")
        }
        let text = try String(contentsOfFile: dir + "/s3.env", encoding: .utf8)
        var settings: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return settings
    }

    /// A client of the test bucket (`credentials` replaced when given, to test refusals).
    public static func configuration(credentials: S3Credentials? = nil) throws -> S3Configuration {
        let settings = try environment()
        guard let endpoint = settings["SEG_S3_ENDPOINT"].flatMap(URL.init(string:)), let bucket = settings["SEG_S3_BUCKET"],
            let access = settings["SEG_S3_ACCESS_KEY_ID"], let secret = settings["SEG_S3_SECRET_ACCESS_KEY"]
        else { throw TestDatabaseError(description: "SEG_TEST_S3_DIR/s3.env lacks SEG_S3_ENDPOINT, SEG_S3_BUCKET or the key pair") }
        return S3Configuration(
            endpoint: endpoint, bucket: bucket, region: settings["SEG_S3_REGION"] ?? "us-east-1", pathStyle: true,
            credentials: credentials ?? S3Credentials(accessKeyID: access, secretAccessKey: secret), timeout: .seconds(30), attempts: 3)
    }

    /// A store in the test bucket under a prefix of its own (so that tests running at once do not see each other's
    /// objects), with its scratch space in a new temporary directory.
    public static func store(credentials: S3Credentials? = nil) throws -> S3ObjectStore {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("seg-s3-scratch-\(UUID().uuidString)")
        return try S3ObjectStore(
            client: S3Client(configuration: try configuration(credentials: credentials)), prefix: "test-\(UUID().uuidString.lowercased())",
            scratchDirectory: scratch)
    }
}
