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
        let state = BatchState(count: paths.count)
        let progress = ProgressBar(total: paths.count, label: label)
        // Results go to `state`, not through the group: release builds of Swift 6.3 returned wrong indices in the
        // group's `(Int, Result)` elements here (index out of range, a trap), which debug builds never showed.
        await withDiscardingTaskGroup { group in
            let workers = max(1, min(jobs, paths.count))
            for _ in 0..<workers {
                group.addTask {
                    while let index = state.next() {
                        let result: Result<FileResult, any Error>
                        do {
                            result = .success(try await work(paths[index]))
                        } catch {
                            result = .failure(error)
                        }
                        state.store(result, at: index)
                        progress.advance(failed: (try? result.get()) == nil)
                    }
                }
            }
        }
        return state.results()
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
