import Foundation

/// A mailbox: an address and, optionally, the name shown with it.
public struct MailAddress: Sendable, Equatable, Hashable, Codable {
    /// The address (`local@domain`), ASCII.
    public var address: String
    /// The display name (any Unicode), or nil.
    public var name: String?

    /// Creates a mailbox.
    /// - Throws: ``MailError/invalidMessage(_:)`` for an address that is not `local@domain` in printable ASCII without
    ///   spaces, angle brackets or line breaks (what SMTP's `MAIL FROM:<…>` and `RCPT TO:<…>` can carry safely).
    public init(_ address: String, name: String? = nil) throws(MailError) {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, address.utf8.count <= 254,
            address.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 && $0 != "<" && $0 != ">" && $0 != "," })
        else { throw .invalidMessage("\(address.debugDescription) is not an email address SegHub can send to") }
        if let name, name.contains(where: { $0.isNewline }) {
            throw .invalidMessage("a display name must not contain a line break")
        }
        self.address = address
        self.name = name?.isEmpty == true ? nil : name
    }

    /// Parses `address` or `Name <address>` (a setting such as `SEG_MAIL_FROM`).
    /// - Throws: ``MailError/invalidMessage(_:)`` as ``init(_:name:)`` does.
    public init(parsing text: String) throws(MailError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") else {
            try self.init(trimmed)
            return
        }
        let address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
        var name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        try self.init(address, name: name.isEmpty ? nil : name)
    }

    /// The header's words: `addr`, or the name (plain, quoted, or RFC 2047 encoded words) and `<addr>`.
    var headerWords: [String] {
        guard let name else { return [address] }
        return MIMEText.phrase(name) + ["<\(address)>"]
    }
}

/// A transactional message: one recipient, a subject, a plain-text part and an HTML part.
///
/// ``rendered(date:messageID:)`` writes it as RFC 5322 with MIME (`multipart/alternative`, UTF-8, base64 parts, RFC
/// 2047 encoded words for non-ASCII subjects and names), CRLF line endings and lines under 78 characters.
///
/// ## Usage
/// ```swift
/// let message = try MailMessage(
///     from: MailAddress("seghub@lab.example", name: "SegHub"), to: MailAddress("ana@lab.example"),
///     subject: "Reset your password", text: "…", html: "<p>…</p>")
/// let bytes = message.rendered(date: .now, messageID: "<…@lab.example>")
/// ```
public struct MailMessage: Sendable, Equatable {
    /// The sender.
    public var from: MailAddress
    /// The recipient.
    public var to: MailAddress
    /// The subject (any Unicode, one line).
    public var subject: String
    /// The plain-text body.
    public var text: String
    /// The HTML body, or nil for a text-only message.
    public var html: String?

    /// Creates a message.
    /// - Throws: ``MailError/invalidMessage(_:)`` for a subject with a line break.
    public init(from: MailAddress, to: MailAddress, subject: String, text: String, html: String? = nil) throws(MailError) {
        guard !subject.contains(where: { $0.isNewline }) else { throw .invalidMessage("a subject must not contain a line break") }
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
    }

    /// The message as sent: headers and MIME body, CRLF line endings, not yet dot-stuffed (``SMTPClient`` does that).
    /// - Parameters:
    ///   - date: The `Date` header.
    ///   - messageID: The `Message-ID` header, `<unique@domain>`.
    public func rendered(date: Date, messageID: String) -> [UInt8] {
        var lines = [
            "Date: \(MIMEText.rfc5322Date(date))",
            MIMEText.folded("From: ", from.headerWords),
            MIMEText.folded("To: ", to.headerWords),
            "Message-ID: \(messageID)",
            MIMEText.folded("Subject: ", MIMEText.unstructured(subject)),
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ]
        let textPart = ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", ""] + MIMEText.base64Lines(text)
        if let html {
            // The boundary cannot occur in base64 text (it holds "=_", which base64 lines never do).
            let boundary = "=_seghub_" + String(messageID.utf8.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 }, radix: 36)
            lines += ["Content-Type: multipart/alternative; boundary=\"\(boundary)\"", "", "--\(boundary)"]
            lines += textPart
            lines += ["--\(boundary)", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            lines += MIMEText.base64Lines(html)
            lines += ["--\(boundary)--"]
        } else {
            lines += textPart
        }
        return Array(lines.joined(separator: "\r\n").utf8) + [13, 10]
    }
}

/// What went wrong making or sending a message.
public enum MailError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message cannot be written (a bad address, a line break in a header).
    case invalidMessage(String)
    /// The SMTP settings are unusable.
    case invalidSettings(String)
    /// The server answered with a 4xx code, or the connection failed or timed out: worth another attempt.
    case temporary(String)
    /// The server answered with a 5xx code: another attempt would be refused the same way.
    case permanent(String)

    public var description: String {
        switch self {
        case .invalidMessage(let text): return "invalid message: \(text)"
        case .invalidSettings(let text): return "invalid SMTP settings: \(text)"
        case .temporary(let text): return text
        case .permanent(let text): return text
        }
    }

    /// Whether another attempt may succeed.
    public var isTemporary: Bool {
        if case .temporary = self { return true }
        return false
    }
}

/// The encodings of RFC 2045 (base64 lines), RFC 2047 (encoded words) and RFC 5322 (dates, folding).
enum MIMEText {
    /// Base64 in lines of 76 characters.
    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        guard !encoded.isEmpty else { return [""] }
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }

    /// Printable ASCII without `=?` (which would read as the start of an encoded word).
    static func isPlain(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.value >= 32 && $0.value < 127 } && !text.contains("=?")
    }

    /// An unstructured header value (Subject): as is when plain, else RFC 2047 encoded words.
    static func unstructured(_ text: String) -> [String] {
        isPlain(text) ? text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) : encodedWords(text)
    }

    /// A display name's words: as is when it is plain letters, digits and spaces; one quoted string when plain with
    /// specials; encoded words otherwise.
    static func phrase(_ text: String) -> [String] {
        if isPlain(text) {
            let atext = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: " !#$%&'*+-/=?^_`{|}~"))
            if text.unicodeScalars.allSatisfy({ atext.contains($0) }), !text.hasPrefix(" "), !text.hasSuffix(" ") {
                return text.split(separator: " ").map(String.init)
            }
            return ["\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""]
        }
        return encodedWords(text)
    }

    /// `=?UTF-8?B?…?=` words of at most 75 characters, each holding whole UTF-8 characters (RFC 2047 §5).
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        // At most 39 bytes (52 base64 characters) a word: 64 characters with "=?UTF-8?B?" and "?=", so that a header
        // name and one word stay within 78 (RFC 2047 allows 75 a word; RFC 5322 asks 78 a line).
        for character in text {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 39, !chunk.isEmpty {
                words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=") }
        return words
    }

    /// `name` followed by `words`, folded (CRLF + space) before a word that would pass 76 characters.
    static func folded(_ name: String, _ words: [String]) -> String {
        var out = name
        var lineLength = name.count
        for (index, word) in words.enumerated() {
            let separator = index == 0 ? "" : " "
            if index > 0, lineLength + 1 + word.count > 76 {
                out += "\r\n " + word
                lineLength = 1 + word.count
            } else {
                out += separator + word
                lineLength += separator.count + word.count
            }
        }
        return out
    }

    /// `Sat, 05 Dec 2026 21:07:18 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// SMTP's transparency (RFC 5321 §4.5.2): a line that starts with "." gets another, and the data ends with
    /// CRLF.CRLF. Bare CR or LF become CRLF so that no line ends early.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + message.count / 64 + 8)
        var atLineStart = true
        var index = 0
        while index < message.count {
            let byte = message[index]
            if byte == 13 || byte == 10 {
                out += [13, 10]
                index += (byte == 13 && index + 1 < message.count && message[index + 1] == 10) ? 2 : 1
                atLineStart = true
                continue
            }
            if atLineStart && byte == UInt8(ascii: ".") { out.append(UInt8(ascii: ".")) }
            out.append(byte)
            atLineStart = false
            index += 1
        }
        if !atLineStart { out += [13, 10] }
        out += Array(".\r\n".utf8)
        return out
    }
}
