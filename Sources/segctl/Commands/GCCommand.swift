import ArgumentParser
import Foundation
import SegStorage

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SegCtl {
    /// `segctl gc`: lists, and with `--delete` removes, objects in the file store that no image or export refers to.
    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "List objects no image or export refers to; remove them with --delete.",
            discussion: """
                An object is an orphan when no images.object_key, images.thumbnail_key, images.display_key or exports.object_key refers \
                to it (an expired export no longer refers to its archive). Only orphans last modified more than \
                --min-age-minutes ago are listed or removed: an upload stores its object before it inserts its row. \
                With --delete, temporary files older than that are removed too.
                """
        )

        @OptionGroup var database: DatabaseOptions

        @Option(
            name: .customLong("data-dir"),
            help: ArgumentHelp("The file store's data directory (default: $SEG_DATA_DIR).", valueName: "dir")
        )
        var dataDirectory: String?

        @Flag(name: .customLong("delete"), help: "Remove the listed orphans and stale temporary files.")
        var delete = false

        @Option(
            name: .customLong("min-age-minutes"),
            help: ArgumentHelp("Spare objects modified less than this many minutes ago.", valueName: "n")
        )
        var minAgeMinutes = 60

        @Flag(name: .customLong("json"), help: "Print JSON on stdout instead of a table.")
        var json = false

        /// The data directory from `--data-dir` or `SEG_DATA_DIR`.
        func resolvedDataDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
            if let dataDirectory, !dataDirectory.isEmpty { return dataDirectory }
            if let fromEnvironment = environment["SEG_DATA_DIR"], !fromEnvironment.isEmpty { return fromEnvironment }
            return nil
        }

        func validate() throws {
            guard resolvedDataDirectory() != nil else {
                throw ValidationError("no data directory: pass --data-dir or set SEG_DATA_DIR")
            }
            guard minAgeMinutes >= 0 else {
                throw ValidationError("--min-age-minutes must be 0 or more")
            }
        }

        struct Orphan: Encodable {
            var key: String
            var bytes: Int64
            var modifiedAt: String
            var age: TimeInterval
            enum CodingKeys: String, CodingKey { case key, bytes, modifiedAt }
        }

        struct Report: Encodable {
            var orphans: [Orphan]
            var totalBytes: Int64
            var deleted: Bool
        }

        func run() async throws {
            guard let path = resolvedDataDirectory() else { throw ExitCode(64) }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                Terminal.warn("segctl: \(path): no such directory")
                throw ExitCode(1)
            }
            // The store segserver uses: the data directory's objects, or the S3 bucket (SEG_OBJECT_STORE=s3).
            let store = try ConfiguredStore.open(dataDirectory: path)

            let unreferenced = try await database.withDatabase { postgres in
                try await store.orphans(references: ObjectReferences(on: postgres))
            }

            let now = Date()
            let minimumAge = TimeInterval(minAgeMinutes) * 60
            let formatter = ISO8601DateFormatter()
            var orphans: [(key: ObjectKey, orphan: Orphan)] = []
            for object in unreferenced {
                let age = now.timeIntervalSince(object.modifiedAt)
                guard age >= minimumAge else { continue }
                orphans.append(
                    (object.key, Orphan(key: object.key.hex, bytes: object.bytes, modifiedAt: formatter.string(from: object.modifiedAt), age: age)))
            }
            let totalBytes = orphans.reduce(Int64(0)) { $0 + $1.orphan.bytes }

            var freed: Int64 = 0
            var removedCount = 0
            var temporaryRemoved = 0
            var abortedUploads = 0
            if delete {
                do {
                    for (key, orphan) in orphans {
                        if try await store.remove(key) {
                            freed += orphan.bytes
                            removedCount += 1
                        }
                    }
                    temporaryRemoved = try store.scratch.clean(olderThan: .seconds(minAgeMinutes * 60))
                    // Uploads in parts that a killed process never finished: no object shows them, their parts take space.
                    if let s3 = store as? S3ObjectStore {
                        abortedUploads = try await s3.abortStaleUploads(olderThan: TimeInterval(minAgeMinutes) * 60)
                    }
                } catch {
                    Terminal.warn("segctl: \(error)")
                    throw ExitCode(1)
                }
            }

            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let report = Report(orphans: orphans.map(\.orphan), totalBytes: totalBytes, deleted: delete)
                Terminal.output(Array(try encoder.encode(report)) + Array("\n".utf8))
            } else {
                var out = ""
                if !orphans.isEmpty {
                    out += "KEY" + String(repeating: " ", count: 62) + "  " + pad("BYTES", 12) + "  AGE\n"
                    for (_, orphan) in orphans {
                        out += "\(orphan.key)  \(pad(String(orphan.bytes), 12))  \(Self.describeAge(orphan.age))\n"
                    }
                }
                out += "\(orphans.count) orphaned object(s), \(totalBytes) bytes\n"
                Terminal.output(out)
            }
            if delete {
                Terminal.warn(
                    "removed \(removedCount) orphaned object(s), \(freed) bytes freed; \(temporaryRemoved) stale temporary file(s) removed"
                        + (store is S3ObjectStore ? "; \(abortedUploads) unfinished multipart upload(s) aborted" : ""))
            } else if !orphans.isEmpty {
                Terminal.warn("run with --delete to remove them")
            }
        }

        private func pad(_ text: String, _ width: Int) -> String {
            String(repeating: " ", count: max(0, width - text.count)) + text
        }

        static func describeAge(_ seconds: TimeInterval) -> String {
            let minutes = Int(seconds / 60)
            if minutes < 60 { return "\(minutes)m" }
            let hours = minutes / 60
            if hours < 48 { return "\(hours)h\(minutes % 60)m" }
            return "\(hours / 24)d"
        }
    }
}
