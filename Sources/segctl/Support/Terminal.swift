import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Messages and progress on stderr; results on stdout.
enum Terminal {
    /// Whether stderr is a terminal (progress bars only go there).
    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Prints one line to stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Writes bytes to stdout.
    static func output(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    /// Writes text to stdout.
    static func output(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressBar: @unchecked Sendable {
    // @unchecked: every access to the mutable state goes through `lock`.
    private let lock = NSLock()
    private let total: Int
    private let label: String
    private let enabled: Bool
    private var done = 0
    private var failed = 0
    private let started = Date()

    init(total: Int, label: String) {
        self.total = total
        self.label = label
        self.enabled = total > 1 && Terminal.stderrIsTerminal
    }

    func advance(failed didFail: Bool) {
        lock.lock()
        done += 1
        if didFail { failed += 1 }
        let (d, f) = (done, failed)
        lock.unlock()
        guard enabled else { return }
        let width = 30
        let filled = total == 0 ? width : width * d / total
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(d) / elapsed : 0
        let eta = rate > 0 ? Double(total - d) / rate : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let failures = f > 0 ? ", \(f) failed" : ""
        let line = "\r\(label) \(bar) \(d)/\(total)\(failures)  \(String(format: "%.1f", rate))/s  ETA \(Int(eta.rounded()))s "
        FileHandle.standardError.write(Data(line.utf8))
        if d == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Reads whole files into memory.
enum FileInput {
    /// The bytes of `path`, or a message saying why they cannot be read.
    static func read(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError.failed("\(path): no such file")
        }
        guard !isDirectory.boolValue else { throw CLIError.failed("\(path): is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError.failed("\(path): cannot be read") }
        return [UInt8](data)
    }
}

/// A failure to report on stderr, with exit code 1.
enum CLIError: Error, CustomStringConvertible {
    case failed(String)

    var description: String {
        switch self {
        case .failed(let message): return message
        }
    }
}
