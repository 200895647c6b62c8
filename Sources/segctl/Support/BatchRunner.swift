import Foundation
import SegCore

/// The result of processing one input file.
struct FileResult: Sendable {
    var path: String
    var name: String
    var width: Int
    var height: Int
    var polygons: [Polygon]
    /// The parameters that produced the polygons (the `segmenter` object of the JSON output).
    var segmenter: SegmenterInfo
}

/// Runs a per-file job on up to `jobs` threads and hands results back in input order.
enum BatchRunner {
    /// Processes every path; returns one `Result` per path, in input order.
    static func run(
        paths: [String], jobs: Int, label: String, _ work: @escaping @Sendable (String) throws -> FileResult
    ) -> [Result<FileResult, any Error>] {
        let state = BatchState(count: paths.count)
        let progress = ProgressBar(total: paths.count, label: label)
        let threads = max(1, min(jobs, paths.count))
        let group = DispatchGroup()
        for _ in 0..<threads {
            group.enter()
            let thread = Thread {
                while let i = state.next() {
                    let result = Result { try work(paths[i]) }
                    state.store(result, at: i)
                    progress.advance(failed: (try? result.get()) == nil)
                }
                group.leave()
            }
            // Segmenting a 100 MP image recurses nowhere, but the default 512 KiB secondary-thread
            // stack is tight for Swift's large value types; give workers 8 MiB like the main thread.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return state.results()
    }
}

extension BatchRunner {
    /// Processes every path with up to `jobs` concurrent tasks (for work that waits on a server); one `Result` per
    /// path, in input order.
    static func run(
        paths: [String], jobs: Int, label: String, _ work: @escaping @Sendable (String) async throws -> FileResult
    ) async -> [Result<FileResult, any Error>] {
        let progress = ProgressBar(total: paths.count, label: label)
        var results = [Result<FileResult, any Error>?](repeating: nil, count: paths.count)
        await withTaskGroup(of: (Int, Result<FileResult, any Error>).self) { group in
            var next = 0
            func start() {
                guard next < paths.count else { return }
                let index = next
                next += 1
                group.addTask {
                    do {
                        return (index, .success(try await work(paths[index])))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            for _ in 0..<max(1, min(jobs, paths.count)) { start() }
            while let (index, result) = await group.next() {
                results[index] = result
                progress.advance(failed: (try? result.get()) == nil)
                start()
            }
        }
        return results.map { $0 ?? .failure(CancellationError()) }
    }
}

/// Shared state of a batch: the next index to take and the finished results.
final class BatchState: @unchecked Sendable {
    // @unchecked: `lock` guards every access to `cursor` and `slots`.
    private let lock = NSLock()
    private var cursor = 0
    private let count: Int
    private var slots: [Result<FileResult, any Error>?]

    init(count: Int) {
        self.count = count
        self.slots = Array(repeating: nil, count: count)
    }

    func next() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard cursor < count else { return nil }
        cursor += 1
        return cursor - 1
    }

    func store(_ result: Result<FileResult, any Error>, at index: Int) {
        lock.lock()
        slots[index] = result
        lock.unlock()
    }

    func results() -> [Result<FileResult, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return slots.map { $0 ?? .failure(CLIError.failed("not processed")) }
    }
}

/// What produced a file's polygons: the `segmenter` object of the JSON output.
enum SegmenterInfo: Sendable, Encodable {
    /// The built-in segmenter with these parameters, and what it chose for this image.
    case builtin(SegmenterParameters, SegmentationOutcome)
    /// `segctl measure` on a mask made elsewhere.
    case measure(minArea: Double, scale: Double?)
    /// A model of the registry (`name`), served as `model` at `version`, read with these options.
    case model(name: String, model: String, version: String?, options: ProbabilityPolygons.Options)

    private enum Keys: String, CodingKey {
        case name, parameters, minArea, scale, outcome, kind, model, version, threshold, holes
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .builtin(let parameters, let outcome):
            try c.encode("builtin", forKey: .name)
            try c.encode(parameters, forKey: .parameters)
            try c.encode(outcome, forKey: .outcome)
        case .measure(let minArea, let scale):
            try c.encode("measure", forKey: .name)
            try c.encode(minArea, forKey: .minArea)
            try c.encode(scale, forKey: .scale)
        case .model(let name, let model, let version, let options):
            try c.encode(name, forKey: .name)
            try c.encode("model", forKey: .kind)
            try c.encode(model, forKey: .model)
            try c.encode(version, forKey: .version)
            var parameters = c.nestedContainer(keyedBy: Keys.self, forKey: .parameters)
            try parameters.encode(options.threshold, forKey: .threshold)
            try parameters.encode(options.minArea, forKey: .minArea)
            try parameters.encode(options.holes, forKey: .holes)
            try parameters.encode(options.scale, forKey: .scale)
        }
    }
}
