import Foundation
import SegCore
import Testing

/// Runs the `segctl` binary built next to the test bundle.
struct SegCtlRunner {
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: String
        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    static var binary: URL {
        get throws {
            // The test bundle and the package's executables share one products directory.
            let bundle = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") } ?? Bundle.main
            var dir = bundle.bundleURL.deletingLastPathComponent()
            if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("segctl").path) {
                dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            }
            let url = dir.appendingPathComponent("segctl")
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw CLIMissing(path: url.path)
            }
            return url
        }
    }

    struct CLIMissing: Error, CustomStringConvertible {
        var path: String
        var description: String { "segctl not built at \(path): run `swift build --build-tests` first" }
    }

    /// Runs segctl with `arguments`, this process's environment plus `environment`, and `stdin`.
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        // Read both pipes before waiting so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("segctl-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes an 8-bit gray PNG from rows of 0/1 characters ("#" or "1" is 255, anything else 0).
    static func writeMask(_ rows: [String], to url: URL) throws {
        let h = rows.count
        let w = rows.first?.count ?? 0
        var image = GrayImage(width: w, height: h)
        for (y, row) in rows.enumerated() {
            for (x, ch) in row.enumerated() where ch == "#" || ch == "1" { image[x, y] = 255 }
        }
        try Data(PNGEncoder.encode(image)).write(to: url)
    }
}
