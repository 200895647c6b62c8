import ArgumentParser
import SegCore

/// The SegHub administration and offline-processing tool.
///
/// Exit codes: 0 success, 1 failure of the work (a bad image names the file and the reason),
/// 64 bad usage. Machine-readable output goes to stdout, messages to stderr.
@main
struct SegCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segctl",
        abstract: "SegHub command-line tool: offline segmentation, tracing, measuring, benchmarks and administration.",
        version: SegHubRelease.version,
        subcommands: [
            Segment.self, Measure.self, Trace.self, Bench.self, QueueBench.self, Migrate.self, GC.self, Check.self, Stats.self,
            Users.self, Projects.self, Queue.self, Mail.self, Backup.self, Store.self,
        ]
    )

    static func main() async {
        // Images of tens of megapixels: keep their buffers between images (docs/decisions.md).
        AllocatorTuning.keepLargeBuffers()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
