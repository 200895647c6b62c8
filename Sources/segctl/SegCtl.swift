import ArgumentParser
import SegCore

/// The SegHub administration and offline-processing tool.
@main
struct SegCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segctl",
        abstract: "SegHub command-line tool: offline segmentation, tracing, measuring and benchmarks.",
        subcommands: []
    )
}
