import Foundation
import SegS3

/// Which object store to open, from the environment (docs/scaling.md): `SEG_OBJECT_STORE=file` (the default: objects
/// under `SEG_DATA_DIR`) or `s3` (an S3-compatible bucket: `SEG_S3_ENDPOINT`, `SEG_S3_BUCKET`, `SEG_S3_REGION`,
/// `SEG_S3_PREFIX`, `SEG_S3_PATH_STYLE`, `SEG_S3_ACCESS_KEY_ID`, `SEG_S3_SECRET_ACCESS_KEY` or
/// `SEG_S3_SECRET_ACCESS_KEY_FILE`), with `SEG_DATA_DIR/tmp` as the node's own scratch space. segserver and segctl read
/// the same settings.
public enum ObjectStoreSettings: Sendable, Equatable, CustomStringConvertible {
    /// Objects under a local data directory.
    case file(dataDirectory: URL)
    /// Objects in a bucket, under a key prefix; scratch files in a local directory.
    case s3(S3Configuration, prefix: String, scratchDirectory: URL)

    /// The settings in `environment`, with the data directory already read; each problem is appended to `problems`
    /// (all of them, not only the first), and then the result is `nil`.
    public static func fromEnvironment(_ environment: [String: String], dataDirectory: URL, problems: inout [String]) -> ObjectStoreSettings? {
        let kind = environment["SEG_OBJECT_STORE"].map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        switch kind {
        case "", "file":
            return .file(dataDirectory: dataDirectory)
        case "s3":
            break
        default:
            problems.append("SEG_OBJECT_STORE must be file or s3, not \(kind)")
            return nil
        }
        let before = problems.count
        func value(_ key: String) -> String? {
            guard let text = environment[key]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
                problems.append("\(key) is required with SEG_OBJECT_STORE=s3")
                return nil
            }
            return text
        }
        var endpoint: URL?
        if let text = value("SEG_S3_ENDPOINT") {
            if let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
                url.path.isEmpty || url.path == "/", url.query == nil
            {
                endpoint = url
            } else {
                problems.append("SEG_S3_ENDPOINT must be an http(s) URL of the store without a path, not \(text)")
            }
        }
        let bucket = value("SEG_S3_BUCKET")
        if let bucket, !Self.isValidBucket(bucket) {
            problems.append("SEG_S3_BUCKET must be 3-63 lowercase letters, digits, dots and hyphens, not \(bucket)")
        }
        let access = value("SEG_S3_ACCESS_KEY_ID")
        var secret: String?
        if let file = environment["SEG_S3_SECRET_ACCESS_KEY_FILE"], !file.isEmpty {
            do {
                secret = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                if secret?.isEmpty == true { problems.append("SEG_S3_SECRET_ACCESS_KEY_FILE (\(file)) is empty") }
            } catch {
                problems.append("SEG_S3_SECRET_ACCESS_KEY_FILE (\(file)) cannot be read")
            }
        } else {
            secret = value("SEG_S3_SECRET_ACCESS_KEY")
        }
        var pathStyle = true
        if let text = environment["SEG_S3_PATH_STYLE"]?.lowercased(), !text.isEmpty {
            switch text {
            case "true", "1", "yes": pathStyle = true
            case "false", "0", "no": pathStyle = false
            default: problems.append("SEG_S3_PATH_STYLE must be true or false, not \(text)")
            }
        }
        let prefix = (environment["SEG_S3_PREFIX"] ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "/ "))
        if prefix.utf8.count > 200 || prefix.contains("//") || prefix.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            problems.append("SEG_S3_PREFIX must be a short key prefix without control characters or empty segments")
        }
        guard problems.count == before, let endpoint, let bucket, let access, let secret else { return nil }
        let region = environment["SEG_S3_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        return .s3(
            S3Configuration(
                endpoint: endpoint, bucket: bucket, region: region, pathStyle: pathStyle,
                credentials: S3Credentials(accessKeyID: access, secretAccessKey: secret)),
            prefix: prefix, scratchDirectory: dataDirectory.appendingPathComponent("tmp", isDirectory: true))
    }

    /// S3's bucket naming rules, enough to catch a wrong setting early.
    static func isValidBucket(_ name: String) -> Bool {
        let utf8 = Array(name.utf8)
        guard (3...63).contains(utf8.count), let first = utf8.first, let last = utf8.last else { return false }
        func alphanumeric(_ c: UInt8) -> Bool { (0x61...0x7a).contains(c) || (0x30...0x39).contains(c) }
        return alphanumeric(first) && alphanumeric(last) && utf8.allSatisfy { alphanumeric($0) || $0 == 0x2e || $0 == 0x2d }
    }

    /// Opens the store (creating the data or scratch directory when missing); `observer` hears of every request to an S3
    /// store (metrics).
    /// - Throws: `StorageError.fileSystem` when a directory cannot be made.
    public func makeStore(
        observer: (@Sendable (_ operation: String, _ result: String, _ duration: Duration) -> Void)? = nil
    ) throws -> any ObjectStore {
        switch self {
        case .file(let dataDirectory):
            return try LocalObjectStore(root: dataDirectory)
        case .s3(let configuration, let prefix, let scratchDirectory):
            if mkdir(scratchDirectory.deletingLastPathComponent().path, 0o700) != 0, errno != EEXIST {
                throw LocalObjectStore.failure("create the data directory")
            }
            var client = S3Client(configuration: configuration)
            client.observer = observer
            return try S3ObjectStore(client: client, prefix: prefix, scratchDirectory: scratchDirectory)
        }
    }

    /// `file (DIR)` or `s3 (ENDPOINT, bucket B, prefix P)`: never the secret.
    public var description: String {
        switch self {
        case .file(let dataDirectory): "file (\(dataDirectory.path))"
        case .s3(let configuration, let prefix, _):
            "s3 (\(configuration.endpoint.absoluteString), bucket \(configuration.bucket)\(prefix.isEmpty ? "" : ", prefix \(prefix)"))"
        }
    }
}
