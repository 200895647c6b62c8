import ArgumentParser
import Foundation
import SegCore

/// Result formats of `segment` and `measure`.
enum OutputFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    case json, geojson, coco, yolo, csv, mask, spheroseg

    var fileExtension: String {
        switch self {
        case .json: return "json"
        case .geojson: return "geojson"
        case .coco: return "coco.json"
        case .yolo: return "txt"
        case .csv: return "csv"
        case .mask: return "png"
        case .spheroseg: return "spheroseg.json"
        }
    }
}

/// Options shared by `segment` and `measure`.
struct OutputOptions: ParsableArguments {
    @Option(name: .long, help: "Write one result file per input into this directory instead of stdout.")
    var out: String?

    @Option(name: .long, help: "Result format: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: OutputFormat = .json

    @Option(name: .long, help: "Micrometres per pixel: lengths in µm and areas in µm² (coordinates stay in pixels).")
    var scale: Double?

    @Option(name: .long, help: "Parallel jobs (default: number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate(inputs: [String]) throws {
        if let scale, !(scale.isFinite && scale > 0) { throw ValidationError("--scale must be a positive number of µm per pixel") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if inputs.isEmpty { throw ValidationError("give at least one input file") }
        if out == nil && inputs.count > 1 && format != .json && format != .csv {
            throw ValidationError("--format \(format.rawValue) with several inputs needs --out DIR (json and csv can go to stdout)")
        }
        if out == nil && format == .mask && Terminal.stdoutIsTerminal {
            throw ValidationError("--format mask writes PNG bytes: redirect stdout to a file or use --out DIR")
        }
    }
}

/// Writes results in the chosen format to stdout or to `--out`, and reports failures.
enum ResultWriter {
    /// Writes every successful result and names every failed file on stderr; returns whether all succeeded.
    static func write(_ results: [Result<FileResult, any Error>], paths: [String], options: OutputOptions) throws -> Bool {
        var allGood = true
        if let dir = options.out {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        var csvHeaderWritten = false
        var usedNames: Set<String> = []
        for (i, result) in results.enumerated() {
            switch result {
            case .failure(let error):
                allGood = false
                Terminal.warn("segctl: \(paths[i]): \(describe(error))")
            case .success(let file):
                if let dir = options.out {
                    var stem = (file.name as NSString).deletingPathExtension
                    if stem.isEmpty { stem = "image" }
                    var candidate = stem
                    var n = 2
                    while usedNames.contains(candidate) {
                        candidate = "\(stem)-\(n)"
                        n += 1
                    }
                    usedNames.insert(candidate)
                    let bytes = try Renderer.render(file, format: options.format, scale: options.scale, includeHeader: true)
                    let url = URL(fileURLWithPath: dir).appendingPathComponent("\(candidate).\(options.format.fileExtension)")
                    try Data(bytes).write(to: url, options: .atomic)
                } else {
                    let header = options.format == .csv ? !csvHeaderWritten : true
                    var bytes = try Renderer.render(file, format: options.format, scale: options.scale, includeHeader: header)
                    csvHeaderWritten = true
                    if options.format == .json { bytes.append(UInt8(ascii: "\n")) }
                    Terminal.output(bytes)
                }
            }
        }
        return allGood
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? SegCoreError { return e.description }
        if let e = error as? CLIError { return e.description }
        return String(describing: error)
    }
}

extension Terminal {
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }
}
