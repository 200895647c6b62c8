import ArgumentParser
import Foundation
import SegStorage

extension SegCtl {
    /// `segctl store copy --to s3|file`: moves an installation's objects between the file store and an S3 bucket.
    struct Store: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Object store administration: copy every object between the data directory and an S3 bucket.",
            subcommands: [Copy.self])

        struct Copy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Copy every object to the other store (--to s3: from the data directory into the bucket; --to file: back).",
                discussion: """
                    The bucket is the one SEG_S3_ENDPOINT, SEG_S3_BUCKET, SEG_S3_PREFIX and the key pair name (docs/scaling.md), \
                    whatever SEG_OBJECT_STORE says now. Objects the target has already (same key and size) are skipped, so \
                    the copy can be stopped and run again; every copied object is hashed on arrival and must match its key. \
                    To move a running installation: copy while it runs, stop it, copy again (only what came meanwhile), \
                    switch SEG_OBJECT_STORE, start it.
                    """)

            enum Target: String, ExpressibleByArgument, CaseIterable {
                case s3, file
            }

            @Option(name: .customLong("to"), help: "Where to copy: s3 or file.") var target: Target

            @Option(
                name: .customLong("data-dir"),
                help: ArgumentHelp("The file store's data directory (default: $SEG_DATA_DIR).", valueName: "dir"))
            var dataDirectory: String?

            @Flag(name: .customLong("json"), help: "Print a JSON report on stdout.") var json = false

            struct Report: Encodable {
                var from: String
                var to: String
                var objects: Int
                var copied: Int
                var skipped: Int
                var copiedBytes: Int64
            }

            func run() async throws {
                let environment = ProcessInfo.processInfo.environment
                guard let path = dataDirectory ?? environment["SEG_DATA_DIR"], !path.isEmpty else {
                    throw ValidationError("no data directory: pass --data-dir or set SEG_DATA_DIR")
                }
                var bucketEnvironment = environment
                bucketEnvironment["SEG_OBJECT_STORE"] = "s3"
                let file = try ConfiguredStore.open(dataDirectory: path, environment: ["SEG_OBJECT_STORE": "file"])
                let bucket = try ConfiguredStore.open(dataDirectory: path, environment: bucketEnvironment)
                let (source, destination) = target == .s3 ? (file, bucket) : (bucket, file)
                let report = try await Self.copy(from: source, to: destination)
                if json { return try Output.json(report) }
                Terminal.output(
                    "copied \(report.copied) of \(report.objects) object(s) from \(report.from) to \(report.to) "
                        + "(\(Output.size(report.copiedBytes))); \(report.skipped) were there already\n")
            }

            /// Copies every object of `source` that `destination` lacks (or holds with another size), each checked by
            /// its SHA-256 as `destination` stores it.
            static func copy(from source: any ObjectStore, to destination: any ObjectStore) async throws -> Report {
                let objects = try await source.list()
                let progress = ProgressBar(total: objects.count, label: "objects")
                var report = Report(from: source.kind, to: destination.kind, objects: objects.count, copied: 0, skipped: 0, copiedBytes: 0)
                for object in objects {
                    if try await destination.object(object.key)?.bytes == object.bytes {
                        report.skipped += 1
                        progress.advance(failed: false)
                        continue
                    }
                    let staged = destination.scratch.newFileURL(prefix: "copy-")
                    do {
                        let digest = try await source.withLocalFile(object.key) { try FileDigest.copy(from: $0.path, to: staged.path) }
                        guard digest.hex == object.key.hex else {
                            throw CLIError.failed(
                                "object \(object.key.hex) in the \(source.kind) store does not match its key (SHA-256 \(digest.hex))")
                        }
                        // The destination hashes it again as it stores it (and removes the staged copy).
                        let stored = try await destination.putFile(movingFrom: staged)
                        guard stored == object.key else { throw CLIError.failed("object \(object.key.hex) changed while it was copied") }
                    } catch {
                        unlink(staged.path)
                        progress.advance(failed: true)
                        throw error
                    }
                    report.copied += 1
                    report.copiedBytes += object.bytes
                    progress.advance(failed: false)
                }
                return report
            }
        }
    }
}
