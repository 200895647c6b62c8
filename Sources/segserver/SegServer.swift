import ArgumentParser
import Foundation
import Logging
import SegCore
import SegHTTP
import ServiceLifecycle

/// segserver: the SegHub HTTP API and segmentation workers. Configuration comes from `SEG_*` (see .env.example).
@main
struct SegServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segserver", abstract: "Run the SegHub API and segmentation workers (configured by SEG_* variables).")

    @Option(help: "What to run: api, worker or all.")
    var role: String = "all"

    func run() async throws {
        // Workers segment images of tens of megapixels: keep their buffers between images
        // (docs/decisions.md). Before any other thread allocates.
        AllocatorTuning.keepLargeBuffers()
        guard let role = ServerRole(rawValue: role) else { throw ValidationError("--role must be api, worker or all") }
        let (configuration, warnings): (ServerConfiguration, [String])
        do {
            (configuration, warnings) = try ServerConfiguration.fromEnvironment()
        } catch {
            FileHandle.standardError.write(Data("segserver: \(error)\n".utf8))
            throw ExitCode(78)  // EX_CONFIG
        }
        LoggingSystem.bootstrap { label in
            switch configuration.logFormat {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
        }
        let logger = Logger(label: "segserver")
        for warning in warnings { logger.warning("\(warning)") }
        let app = try await buildApplication(configuration: configuration, role: role, logger: logger)
        // SIGTERM/SIGINT: stop accepting, let in-flight requests finish and workers give their jobs back, for at
        // most 30 s; then whatever is left is cancelled.
        var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(30)
        group.maximumCancellationDuration = .seconds(10)
        try await ServiceGroup(configuration: group).run()
    }
}
