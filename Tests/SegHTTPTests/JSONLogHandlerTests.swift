import Foundation
import Logging
import Synchronization
import Testing

@testable import SegHTTP

/// `SEG_LOG_FORMAT=json`: each entry is one line that a JSON parser (Foundation's, not ours) reads back with the
/// fields log pipelines need.
struct JSONLogHandlerTests {
    /// The lines a logger wrote.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    static func logger(_ lines: Lines, level: Logger.Level = .info) -> Logger {
        var handler = JSONLogHandler(label: "seg.test") { line in lines.lines.withLock { $0.append(line) } }
        handler.logLevel = level
        return Logger(label: "seg.test") { _ in handler }
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func anAccessLineHasItsFieldsWithNumbersAsNumbers() throws {
        let lines = Lines()
        var logger = Self.logger(lines)
        logger[metadataKey: "request.id"] = "r-1"

        logger.info(
            "request",
            metadata: [
                "http.method": "GET", "http.route": "/api/v1/projects/:id", "http.path": "/api/v1/projects/42", "http.status": "200",
                "http.duration_ms": "3.5", "client.address": "10.0.0.7", "user.id": "u-9",
            ])

        #expect(lines.all.count == 1 && !lines.all[0].contains("\n"))
        let entry = try Self.object(lines.all[0])
        #expect(entry["level"] as? String == "info" && entry["message"] as? String == "request" && entry["logger"] as? String == "seg.test")
        #expect(entry["request_id"] as? String == "r-1" && entry["user_id"] as? String == "u-9")
        #expect(entry["method"] as? String == "GET" && entry["route"] as? String == "/api/v1/projects/:id")
        #expect(entry["path"] as? String == "/api/v1/projects/42" && entry["client"] as? String == "10.0.0.7")
        #expect((entry["status"] as? NSNumber)?.intValue == 200 && (entry["duration_ms"] as? NSNumber)?.doubleValue == 3.5)
        let time = try #require(entry["time"] as? String)
        let parsed = try #require(ISO8601DateFormatter.withMilliseconds.date(from: time), "\(time)")
        #expect(abs(parsed.timeIntervalSinceNow) < 60 && time.hasSuffix("Z"))
    }

    @Test func anyTextStaysOnOneLineAndReadsBackTheSame() throws {
        let lines = Lines()
        let logger = Self.logger(lines)
        let nasty = "quote \" backslash \\ newline \n return \r tab \t bell \u{07} nul \u{00} line sep \u{2028} é 😀"

        logger.error("\(nasty)", metadata: ["error": "\(nasty)", "nested": ["list": ["a", "\(nasty)"]], "http.status": "not a number"])

        #expect(lines.all.count == 1 && !lines.all[0].contains("\n") && !lines.all[0].contains("\u{2028}"))
        let entry = try Self.object(lines.all[0])
        #expect(entry["message"] as? String == nasty && entry["error"] as? String == nasty)
        #expect(((entry["nested"] as? [String: Any])?["list"] as? [String])?.last == nasty)
        #expect(entry["status"] as? String == "not a number", "a status that is not a number stays a string")
        #expect(entry["level"] as? String == "error")
    }

    @Test func theLevelFiltersAndReservedNamesCannotBeOverwritten() throws {
        let lines = Lines()
        let logger = Self.logger(lines, level: .warning)

        logger.info("dropped")
        logger.warning("kept", metadata: ["message": "spoofed", "level": "debug", "time": "then"])

        #expect(lines.all.count == 1)
        let entry = try Self.object(lines.all[0])
        #expect(entry["message"] as? String == "kept" && entry["level"] as? String == "warning" && entry["time"] as? String != "then")
    }

    @Test func theSettingIsReadAndCheckedAtStart() throws {
        let base = ServerConfigurationTests.minimal
        #expect(try ServerConfiguration.fromEnvironment(base).configuration.logFormat == .text)
        #expect(try ServerConfiguration.fromEnvironment(base.merging(["SEG_LOG_FORMAT": "JSON"]) { $1 }).configuration.logFormat == .json)
        let problems = #expect(throws: ServerConfiguration.Problems.self) {
            try ServerConfiguration.fromEnvironment(base.merging(["SEG_LOG_FORMAT": "xml"]) { $1 })
        }
        #expect(problems?.messages.contains("SEG_LOG_FORMAT: must be text or json") == true, "\(String(describing: problems))")
    }
}

extension ISO8601DateFormatter {
    /// `2026-12-06T03:41:07.512Z`.
    fileprivate static var withMilliseconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
