import Foundation
import Testing
import ZIPFoundation

@testable import SegHTTP

/// `StreamingZipWriter`: archives read back entry by entry with ZIPFoundation's reader.
@Suite struct StreamingZipWriterTests {
    static func temporaryURL() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString).zip")
    }

    @Test func entriesOfEverySizeReadBackExactly() throws {
        // setup: empty, one byte, incompressible, compressible, and a file source larger than the 64 KiB chunk
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let repetitive = Data(String(repeating: "area_px2,perimeter_px\r\n", count: 40_000).utf8)
        let source = Self.temporaryURL()
        try (random + repetitive).write(to: source)
        defer { try? FileManager.default.removeItem(at: source) }
        let expected: [(String, Data, Bool)] = [
            ("README.txt", Data(), true), ("a/one.txt", Data([42]), true), ("images/random.png", random, false),
            ("csv/metrics.csv", repetitive, true), ("geojson/Zellkultur ä.geojson", Data("{}".utf8), true),
        ]
        let url = Self.temporaryURL()
        defer { try? FileManager.default.removeItem(at: url) }
        let date = Date(timeIntervalSince1970: 1_795_000_000)

        // MUT
        let writer = try StreamingZipWriter(url: url)
        for (path, data, compressed) in expected {
            try writer.add(path, data: data, compressed: compressed, date: date)
        }
        try writer.add("coco/deflated-file.json", file: source, compressed: true, date: date)
        try writer.add("images/stored-file.png", file: source, compressed: false, date: date)
        try writer.finish()

        // validate
        let archive = try Archive(url: url, accessMode: .read)
        var read: [String: Data] = [:]
        for entry in archive {
            var bytes = Data()
            _ = try archive.extract(entry) { bytes.append($0) }
            read[entry.path] = bytes
            #expect(entry.type == .file)
        }
        #expect(read.count == expected.count + 2)
        for (path, data, _) in expected {
            #expect(read[path] == data, "\(path)")
        }
        #expect(read["coco/deflated-file.json"] == random + repetitive)
        #expect(read["images/stored-file.png"] == random + repetitive)
        // Deflate did its job on the repetitive text; the random bytes were stored.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber).intValue
        let raw = expected.reduce(0) { $0 + $1.1.count } + 2 * (random.count + repetitive.count)
        #expect(size < raw / 2)
        #expect(archive["csv/metrics.csv"]?.isCompressed == true)
        #expect(archive["images/random.png"]?.isCompressed == false)
    }

    @Test func moreThan65535EntriesUseZIP64() throws {
        let url = Self.temporaryURL()
        defer { try? FileManager.default.removeItem(at: url) }
        let writer = try StreamingZipWriter(url: url)
        let count = 70_000
        for index in 0..<count {
            try writer.add("yolo/\(index).txt", data: Data("\(index)\n".utf8), compressed: false, date: Date())
        }
        try writer.finish()

        let archive = try Archive(url: url, accessMode: .read)
        var seen = 0
        for entry in archive {
            seen += 1
            if entry.path == "yolo/69999.txt" {
                var bytes = Data()
                _ = try archive.extract(entry) { bytes.append($0) }
                #expect(bytes == Data("69999\n".utf8))
            }
        }
        #expect(seen == count)
    }

    @Test func dosTimesAreUTCWithTwoSecondSteps() {
        // 2026-11-27 01:02:03 UTC
        let (time, day) = StreamingZipWriter.dosDateTime(Date(timeIntervalSince1970: 1_795_741_323))
        #expect(time == (1 << 11) | (2 << 5) | 1)
        #expect(day == ((2026 - 1980) << 9) | (11 << 5) | 27)
    }
}
