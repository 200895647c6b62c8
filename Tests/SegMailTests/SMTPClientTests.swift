import Foundation
import Logging
import SegTestSupport
import Testing

@testable import SegMail

/// The SMTP client against a real server (aiosmtpd, `scripts/dev/smtp.sh`, which `scripts/test.sh` starts and names in
/// SEG_TEST_SMTP_DIR): STARTTLS and implicit TLS with AUTH, credentials never in clear, certificate checks, and the
/// server's faults (550, 451, a stall after DATA, a wrong password, nothing listening).
@Suite(.timeLimit(.minutes(3))) struct SMTPClientTests {
    typealias Server = TestSMTPServer

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let logger = Logger(label: "SMTPClientTests")

    static func recipient(_ prefix: String = "to") -> String { TestSMTPServer.recipient(prefix) }

    static func message(to address: String, subject: String = "Hello from SegHub") throws -> MailMessage {
        try MailMessage(
            from: MailAddress("seghub@lab.example", name: "SegHub Ünïcode"), to: MailAddress(address), subject: subject,
            text: "Plain text: https://seghub.example/reset-password?token=abc", html: "<p><a href=\"https://seghub.example/x\">x</a></p>")
    }

    /// The received file as Python's `email` package reads it (an independent MIME parser): decoded subject, sender,
    /// recipient, text and HTML parts.
    static func parsedByPython(_ raw: String) throws -> [String: String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("seghub-\(UUID()).eml")
        try Data(raw.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import email, email.policy, json, sys
            m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
            print(json.dumps({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
                "text": m.get_body(("plain",)).get_content(), "html": m.get_body(("html",)).get_content()}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestFailure("python3 could not parse the message") }
        return try JSONDecoder().decode([String: String].self, from: data)
    }

    /// Sends and returns the error, if any.
    static func attempt(_ url: String, to address: String, subject: String = "Hello from SegHub") async -> MailError? {
        do {
            let client = try SMTPClient(settings: SMTPSettings(url: url, heloName: "seghub.test"))
            _ = try await client.send(try message(to: address, subject: subject), messageID: "<\(UUID())@seghub.test>", logger: logger)
            return nil
        } catch let error as MailError {
            return error
        } catch {
            return .invalidMessage("unexpected error type: \(error)")
        }
    }

    @Test func startTLSThenAuthDeliversTheMessageOnce() async throws {
        let server = try Server.load()
        let to = Self.recipient()

        // MUT
        let subject = "Passwort zurücksetzen – 細胞の画像 ✓ and a tail long enough to need a second encoded word"
        let error = await Self.attempt(server.url("smtp", port: server.starttlsPort, extra: "&starttls=required"), to: to, subject: subject)

        // validate: one message, over TLS, authenticated as our user, with our headers
        #expect(error == nil, "\(String(describing: error))")
        let got = try server.received(by: to)
        #expect(got.count == 1)
        #expect(got.first?.tls == true && got.first?.authUser == server.user && got.first?.listener == "starttls")
        let parsed = try Self.parsedByPython(try #require(got.first?.raw))
        #expect(parsed["subject"] == subject)
        #expect(parsed["from"] == "SegHub Ünïcode <seghub@lab.example>")
        #expect(parsed["to"] == to)
        #expect(parsed["text"]?.trimmingCharacters(in: .newlines) == "Plain text: https://seghub.example/reset-password?token=abc")
        #expect(parsed["html"]?.contains("href=\"https://seghub.example/x\"") == true)
    }

    @Test func implicitTLSDelivers() async throws {
        let server = try Server.load()
        let to = Self.recipient()
        let error = await Self.attempt(server.url("smtps", port: server.smtpsPort), to: to)
        #expect(error == nil, "\(String(describing: error))")
        let got = try server.received(by: to)
        #expect(got.count == 1 && got.first?.tls == true && got.first?.authUser == server.user && got.first?.listener == "smtps")
    }

    @Test func credentialsAreNeverSentInClear() async throws {
        // setup: a listener that offers AUTH but no TLS
        let server = try Server.load()
        let to = Self.recipient()

        // MUT
        let error = await Self.attempt(server.url("smtp", port: server.plainPort), to: to)

        // validate: refused before AUTH (temporary: the operator can fix the setting), nothing delivered
        #expect(error?.isTemporary == true)
        #expect(error?.description.contains("never sent in clear") == true)
        #expect(try server.received(by: to).isEmpty)
    }

    @Test func startTLSRequiredRefusesAServerWithoutIt() async throws {
        let server = try Server.load()
        let to = Self.recipient()
        let error = await Self.attempt(server.url("smtp", port: server.plainPort, login: false, extra: "&starttls=required"), to: to)
        #expect(error?.isTemporary == true && error?.description.contains("starttls=required") == true)
        #expect(try server.received(by: to).isEmpty)
        // Without credentials and without the requirement, the same server gets the message in clear.
        let open = Self.recipient()
        #expect(await Self.attempt(server.url("smtp", port: server.plainPort, login: false), to: open) == nil)
        #expect(try server.received(by: open).first?.tls == false)
    }

    @Test func anUntrustedCertificateIsRefused() async throws {
        // setup: the server's self-signed certificate without its CA file
        let server = try Server.load()
        let to = Self.recipient()
        let url = "smtps://\(server.user):\(server.password)@\(server.host):\(server.smtpsPort)?timeout=10"

        // MUT
        let error = await Self.attempt(url, to: to)

        // validate
        #expect(error?.isTemporary == true, "\(String(describing: error))")
        #expect(try server.received(by: to).isEmpty)
    }

    @Test func aRefusedRecipientIsPermanentAndATemporaryRefusalIsTemporary() async throws {
        let server = try Server.load()
        let url = server.url("smtps", port: server.smtpsPort)
        let refused = await Self.attempt(url, to: Self.recipient("reject550"))
        #expect(refused.map { if case .permanent = $0 { true } else { false } } == true, "\(String(describing: refused))")
        #expect(refused?.description.contains("550") == true)
        let later = await Self.attempt(url, to: Self.recipient("tempfail"))
        #expect(later?.isTemporary == true && later?.description.contains("451") == true, "\(String(describing: later))")
    }

    @Test func aWrongPasswordIsPermanent() async throws {
        let server = try Server.load()
        let error = await Self.attempt(server.url("smtps", port: server.smtpsPort, password: "wrong"), to: Self.recipient())
        #expect(error.map { if case .permanent = $0 { true } else { false } } == true, "\(String(describing: error))")
        #expect(error?.description.contains("535") == true)
    }

    @Test func aServerThatStallsAfterTheDataTimesOut() async throws {
        // setup: the server never answers the end of the data; a 2-second timeout
        let server = try Server.load()
        let url = "smtps://\(server.user):\(server.password)@\(server.host):\(server.smtpsPort)?ca_file=\(server.caFile)&timeout=2"
        let started = ContinuousClock.now

        // MUT
        let error = await Self.attempt(url, to: Self.recipient("stall"))

        // validate: temporary, naming the step, and not before the timeout had passed (the suite's time limit, not
        // an upper bound here, catches a hang: a loaded machine makes every other step slow)
        let took = ContinuousClock.now - started
        #expect(error?.isTemporary == true && error?.description.contains("the end of the message") == true, "\(String(describing: error))")
        #expect(took >= .seconds(2))
    }

    @Test func nothingListeningIsTemporary() async throws {
        // Port 9 (discard): nothing listens on it on loopback here.
        let error = await Self.attempt("smtp://127.0.0.1:9?timeout=3", to: Self.recipient())
        #expect(error?.isTemporary == true && error?.description.contains("connecting") == true, "\(String(describing: error))")
    }
}
