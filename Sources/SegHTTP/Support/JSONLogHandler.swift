import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A swift-log handler that writes one JSON object per line (`SEG_LOG_FORMAT=json`), for log pipelines (Loki, any
/// JSON log store; docs/operations.md):
///
/// ```json
/// {"time":"2026-12-06T03:41:07.512Z","level":"info","message":"request","logger":"segserver","request_id":"…",
///  "user_id":"…","method":"GET","route":"/api/v1/projects/:id","path":"/api/v1/projects/…","status":200,
///  "duration_ms":3.2,"client":"10.0.0.7"}
/// ```
///
/// `time` (UTC, milliseconds), `level`, `message` and `logger` are always there. Metadata follows with its dots
/// turned into underscores (`request.id` → `request_id`); the access log's `http.*` keys become `method`, `route`,
/// `path`, `status` and `duration_ms` (the last two as numbers), `client.address` becomes `client`. Nested metadata
/// stays nested; every string is escaped, so a line never breaks, whatever a message holds.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let output: @Sendable (String) -> Void

    /// A handler for `label` writing to standard error.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.init(label: label, metadataProvider: metadataProvider, output: JSONLogHandler.writeToStandardError)
    }

    /// A handler for `label` handing each line (without its newline) to `output` (tests).
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil, output: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.metadataProvider = metadataProvider
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        if let error = event.error, fields["error"] == nil { fields["error"] = "\(error)" }
        output(Self.line(time: Date(), level: event.level, message: event.message.description, label: label, metadata: fields))
    }

    /// The JSON object of one entry (no newline).
    static func line(time: Date, level: Logger.Level, message: String, label: String, metadata: Logger.Metadata) -> String {
        var text = "{\"time\":\"" + timestamp(time) + "\",\"level\":\"" + level.rawValue + "\",\"message\":"
        appendString(message, to: &text)
        text += ",\"logger\":"
        appendString(label, to: &text)
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            let name = fieldName(key)
            guard !["time", "level", "message", "logger"].contains(name) else { continue }
            text += ","
            appendString(name, to: &text)
            text += ":"
            if ["status", "duration_ms"].contains(name), case .string(let number) = value, let parsed = Self.number(number) {
                text += parsed
            } else {
                appendValue(value, to: &text)
            }
        }
        return text + "}"
    }

    /// `text` as a JSON number (`200`, `3.2`), or `nil` when it is none.
    static func number(_ text: String) -> String? {
        if let integer = Int(text) { return String(integer) }
        guard let value = Double(text), value.isFinite else { return nil }
        return String(value)
    }

    /// The JSON name of a metadata key.
    static func fieldName(_ key: String) -> String {
        switch key {
        case "http.method": "method"
        case "http.route": "route"
        case "http.path": "path"
        case "http.status": "status"
        case "http.duration_ms": "duration_ms"
        case "client.address": "client"
        default: key.replacingOccurrences(of: ".", with: "_")
        }
    }

    private static func appendValue(_ value: Logger.Metadata.Value, to text: inout String) {
        switch value {
        case .string(let string): appendString(string, to: &text)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &text)
        case .array(let values):
            text += "["
            for (index, element) in values.enumerated() {
                if index > 0 { text += "," }
                appendValue(element, to: &text)
            }
            text += "]"
        case .dictionary(let dictionary):
            text += "{"
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                appendString(key, to: &text)
                text += ":"
                if let element = dictionary[key] { appendValue(element, to: &text) }
            }
            text += "}"
        }
    }

    /// `string` as a JSON string: quotes, backslashes and every control character escaped (RFC 8259).
    static func appendString(_ string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// `2026-12-06T03:41:07.512Z`.
    static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let milliseconds = min(999, Int((interval - Double(seconds)) * 1000))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let millis = milliseconds < 10 ? "00\(milliseconds)" : milliseconds < 100 ? "0\(milliseconds)" : "\(milliseconds)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):"
            + "\(two(parts.tm_sec)).\(millis)Z"
    }

    /// Lines from every thread go out whole, one `write` each, in turn.
    private static let standardErrorLock = Mutex(())

    @Sendable private static func writeToStandardError(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        standardErrorLock.withLock { _ in
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { write(2, $0.baseAddress?.advanced(by: offset), bytes.count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // standard error is gone: nothing else can be told
                }
                offset += written
            }
        }
    }
}
