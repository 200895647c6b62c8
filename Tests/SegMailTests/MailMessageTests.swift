import Foundation
import Testing

@testable import SegMail

/// Messages as written: headers, RFC 2047 words, MIME parts, dot-stuffing. Expected forms come from the RFCs' rules
/// (decoded back and compared with the input), not from the code's own output.
@Suite struct MailMessageTests {
    static let date = Date(timeIntervalSince1970: 1_796_505_199)  // Sat, 05 Dec 2026 21:13:19 UTC (Python's datetime)

    /// The header block as name → unfolded value.
    static func headers(_ rendered: [UInt8]) -> [String: String] {
        let text = String(decoding: rendered, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0].replacingOccurrences(of: "\r\n ", with: " ")
        var out: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Decodes `=?UTF-8?B?…?=` words (whitespace between words is dropped, RFC 2047 §6.2).
    static func decodeWords(_ value: String) -> String {
        value.split(separator: " ").map { word -> String in
            guard word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="), let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
            else { return String(word) }
            return String(decoding: data, as: UTF8.self)
        }.joined()
    }

    @Test func aPlainMessageHasTheHeadersAndABase64TextPart() throws {
        let message = try MailMessage(
            from: MailAddress("seghub@lab.example", name: "SegHub"), to: MailAddress("ana@lab.example"), subject: "Reset your password",
            text: "Hello,\nuse the link.")
        let rendered = message.rendered(date: Self.date, messageID: "<1@lab.example>")
        let headers = Self.headers(rendered)
        #expect(headers["From"] == "SegHub <seghub@lab.example>")
        #expect(headers["To"] == "ana@lab.example")
        #expect(headers["Subject"] == "Reset your password")
        #expect(headers["Date"] == "Sat, 05 Dec 2026 21:13:19 +0000")
        #expect(headers["Message-ID"] == "<1@lab.example>")
        #expect(headers["Content-Transfer-Encoding"] == "base64")
        let body = String(decoding: rendered, as: UTF8.self).components(separatedBy: "\r\n\r\n")[1]
        let decoded = Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))
        #expect(decoded.map { String(decoding: $0, as: UTF8.self) } == "Hello,\nuse the link.")
        // Every line ends in CRLF and stays within 78 characters (RFC 5322 §2.1.1).
        let text = String(decoding: rendered, as: UTF8.self)
        #expect(text.hasSuffix("\r\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.count <= 78 })
    }

    @Test func nonASCIISubjectsAndNamesAreEncodedWordsThatDecodeBack() throws {
        let subject = "Einladung: „Sphäroide“ – 細胞の画像 ✓ with a long tail that needs folding over more than one line"
        let message = try MailMessage(
            from: MailAddress("seghub@lab.example", name: "Zoë Müller-Łukasiewicz"), to: MailAddress("ana@lab.example", name: "Ana \"QA\" Lee"),
            subject: subject, text: "x", html: "<p>x</p>")
        let rendered = message.rendered(date: Self.date, messageID: "<2@lab.example>")
        let headers = Self.headers(rendered)
        #expect(Self.decodeWords(try #require(headers["Subject"])) == subject)
        let from = try #require(headers["From"])
        #expect(Self.decodeWords(String(from.prefix { $0 != "<" }).trimmingCharacters(in: .whitespaces)) == "Zoë Müller-Łukasiewicz")
        #expect(from.hasSuffix("<seghub@lab.example>"))
        // Plain names with specials are quoted, the quote escaped (RFC 5322 §3.2.4).
        #expect(headers["To"] == #""Ana \"QA\" Lee" <ana@lab.example>"#)
        // Encoded words are at most 75 characters (RFC 2047 §2), and no raw byte above 127 is in the header.
        let text = String(decoding: rendered, as: UTF8.self)
        let head = text.components(separatedBy: "\r\n\r\n")[0]
        #expect(head.utf8.allSatisfy { $0 < 128 })
        for word in head.split(whereSeparator: { $0 == " " || $0 == "\r\n" }) where word.hasPrefix("=?") { #expect(word.count <= 75) }
        #expect(text.components(separatedBy: "\r\n").allSatisfy { $0.count <= 78 })
    }

    @Test func anHTMLMessageIsMultipartAlternativeWithBothParts() throws {
        let message = try MailMessage(
            from: MailAddress("seghub@lab.example"), to: MailAddress("ana@lab.example"), subject: "Verify",
            text: "text version", html: "<p>html version</p>")
        let text = String(decoding: message.rendered(date: Self.date, messageID: "<3@lab.example>"), as: UTF8.self)
        let contentType = try #require(Self.headers(Array(text.utf8))["Content-Type"])
        #expect(contentType.hasPrefix("multipart/alternative; boundary="))
        let boundary = String(contentType.split(separator: "\"")[1])
        let parts = text.components(separatedBy: "--\(boundary)")
        // preamble, text part, HTML part, closing "--"
        #expect(parts.count == 4)
        #expect(parts[3].hasPrefix("--"))
        func body(_ part: String) -> String? {
            let pieces = part.components(separatedBy: "\r\n\r\n")
            guard pieces.count >= 2, let data = Data(base64Encoded: pieces[1].replacingOccurrences(of: "\r\n", with: "")) else { return nil }
            return String(decoding: data, as: UTF8.self)
        }
        #expect(parts[1].contains("Content-Type: text/plain; charset=utf-8") && body(parts[1]) == "text version")
        #expect(parts[2].contains("Content-Type: text/html; charset=utf-8") && body(parts[2]) == "<p>html version</p>")
    }

    @Test func dotStuffingDoublesLeadingDotsNormalisesLineEndsAndTerminates() {
        // RFC 5321 §4.5.2: a line starting with "." gets another; the data ends with CRLF "." CRLF.
        let input = Array("first\r\n.hidden\n..two\r\nlast.".utf8)
        let stuffed = String(decoding: MIMEText.dotStuffed(input), as: UTF8.self)
        #expect(stuffed == "first\r\n..hidden\r\n...two\r\nlast.\r\n.\r\n")
        #expect(String(decoding: MIMEText.dotStuffed(Array(".\r\n".utf8)), as: UTF8.self) == "..\r\n.\r\n")
    }

    @Test func lineBreaksInHeadersAndBadAddressesAreRefused() throws {
        let from = try MailAddress("seghub@lab.example")
        #expect(throws: MailError.self) { try MailMessage(from: from, to: from, subject: "a\r\nBcc: x@evil.example", text: "") }
        #expect(throws: MailError.self) { try MailAddress("seghub@lab.example", name: "Evil\nBcc: x@evil.example") }
        for bad in ["", "no-at", "@lab.example", "a@", "a b@lab.example", "a@lab.example>", "<a@lab.example", "a\r\n@x", "ü@lab.example"] {
            #expect(throws: MailError.self, "\(bad.debugDescription)") { try MailAddress(bad) }
        }
    }
}

@Suite struct SMTPSettingsTests {
    @Test func urlsGiveTheirSecurityPortCredentialsAndOptions() throws {
        let implicit = try SMTPSettings(url: "smtps://seghub:p%40ss%3Aword@mail.lab.example", heloName: "me")
        #expect(implicit.security == .implicitTLS && implicit.port == 465 && implicit.host == "mail.lab.example")
        #expect(implicit.credentials?.user == "seghub" && implicit.credentials?.password == "p@ss:word")
        #expect(implicit.redacted == "smtps://seghub:***@mail.lab.example:465")
        let submission = try SMTPSettings(url: "smtp://mail.lab.example", heloName: "me")
        #expect(submission.security == .startTLSIfOffered && submission.port == 587 && submission.credentials == nil)
        #expect(submission.verifyCertificate && submission.timeoutSeconds == 30)
        let strict = try SMTPSettings(url: "smtp://localhost:2525?starttls=required&ca_file=/tmp/ca.pem&timeout=5", heloName: "me")
        #expect(strict.security == .startTLSRequired && strict.port == 2525 && strict.caFile == "/tmp/ca.pem" && strict.timeoutSeconds == 5)
        #expect(try SMTPSettings(url: "smtp://h?verify=none", heloName: "me").verifyCertificate == false)
    }

    @Test func addressesGoWithoutAServerNameAndHostNamesWithIt() {
        // SNI carries host names only (RFC 6066 §3); IPv6 literals contain letters, so the check parses addresses.
        #expect(SMTPClient.sniName("127.0.0.1") == nil)
        #expect(SMTPClient.sniName("fe80::1") == nil && SMTPClient.sniName("::1") == nil)
        #expect(SMTPClient.sniName("mail.lab.example") == "mail.lab.example")
        #expect(SMTPClient.sniName("localhost") == "localhost")
    }

    @Test(arguments: [
        "http://mail.lab.example", "smtp://", "not a url", "smtps://h?starttls=required", "smtp://h?starttls=maybe",
        "smtp://h?verify=sometimes", "smtp://h?timeout=0", "smtp://h?timeout=abc", "smtp://h?colour=blue", "smtp://h:70000",
    ])
    func badURLsAreRefusedWithTheReason(url: String) {
        #expect(throws: MailError.self) { try SMTPSettings(url: url, heloName: "me") }
    }
}
