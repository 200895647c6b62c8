import Foundation
import SegStorage

/// The object store segserver uses, opened the way it opens it: `SEG_OBJECT_STORE` and `SEG_S3_*` from the environment
/// (docs/scaling.md), with the data directory (`--data-dir` or `SEG_DATA_DIR`) holding the objects of the file store or
/// the scratch files of an S3 one.
enum ConfiguredStore {
    /// Opens it, or prints every problem with the settings and exits 1.
    static func open(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> any ObjectStore {
        var problems: [String] = []
        let settings = ObjectStoreSettings.fromEnvironment(
            environment, dataDirectory: URL(fileURLWithPath: dataDirectory, isDirectory: true), problems: &problems)
        guard let settings, problems.isEmpty else {
            for problem in problems { Terminal.warn("segctl: \(problem)") }
            throw CLIError.failed("the object store settings are not usable")
        }
        do {
            return try settings.makeStore()
        } catch {
            throw CLIError.failed("\(settings): \(error)")
        }
    }
}
