import Foundation

/// The real SMTP server of the test run (`scripts/dev/smtp.sh`, which `scripts/test.sh` starts and names in
/// `SEG_TEST_SMTP_DIR`): its ports, account and CA file from `server.json`, and what it received.
public struct TestSMTPServer: Decodable, Sendable {
    /// The host name its certificate is for.
    public var host: String
    /// STARTTLS, with AUTH after it.
    public var starttlsPort: Int
    /// Implicit TLS with AUTH.
    public var smtpsPort: Int
    /// Plain: no TLS offered, AUTH offered in clear.
    public var plainPort: Int
    /// The AUTH user.
    public var user: String
    /// The AUTH password.
    public var password: String
    /// The self-signed certificate to trust.
    public var caFile: String
    /// Where received messages are written.
    public var inbox: String

    /// One received message.
    public struct Received: Sendable {
        /// The message as it arrived (after SMTP's transparency was undone).
        public var raw: String
        /// Whether the session was encrypted.
        public var tls: Bool
        /// Who authenticated, if anyone.
        public var authUser: String?
        /// `starttls`, `smtps` or `plain`.
        public var listener: String
    }

    /// Reads `SEG_TEST_SMTP_DIR/server.json`.
    /// - Throws: `TestDatabaseError` (the tests fail, never skip) when the variable is unset or the file unreadable.
    public static func load() throws -> TestSMTPServer {
        guard let dir = ProcessInfo.processInfo.environment["SEG_TEST_SMTP_DIR"], !dir.isEmpty else {
            throw TestDatabaseError(
                description: "SEG_TEST_SMTP_DIR is not set: these tests need an SMTP server. Run them with scripts/test.sh, or start one "
                    + "with `scripts/dev/smtp.sh start DIR` and export SEG_TEST_SMTP_DIR=DIR")
        }
        return try JSONDecoder().decode(TestSMTPServer.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/server.json")))
    }

    /// `scheme://[user:password@]host:port?ca_file=…&timeout=10` plus `extra` (`&…`).
    public func url(_ scheme: String, port: Int, login: Bool = true, password: String? = nil, extra: String = "") -> String {
        let credentials = login ? "\(user):\(password ?? self.password)@" : ""
        return "\(scheme)://\(credentials)\(host):\(port)?ca_file=\(caFile)&timeout=10\(extra)"
    }

    /// The messages received for `address`, oldest first.
    public func received(by address: String) throws -> [Received] {
        var found: [Received] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: inbox).sorted() where name.hasSuffix(".json") {
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: inbox + "/" + name))) as? [String: Any]
            guard let meta, (meta["rcptTos"] as? [String])?.contains(address) == true else { continue }
            let eml = inbox + "/" + name.replacingOccurrences(of: ".json", with: ".eml")
            found.append(
                Received(
                    raw: try String(contentsOfFile: eml, encoding: .utf8), tls: meta["tls"] as? Bool ?? false,
                    authUser: meta["authUser"] as? String, listener: meta["listener"] as? String ?? ""))
        }
        return found
    }

    /// A recipient no other test uses: `prefix-<uuid>@lab.example` (the prefix chooses the server's faults).
    public static func recipient(_ prefix: String = "to") -> String { "\(prefix)-\(UUID().uuidString.lowercased())@lab.example" }
}
