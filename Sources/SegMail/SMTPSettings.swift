import Foundation

/// Where and how mail is sent, from one URL (`SEG_SMTP_URL`).
///
/// - `smtps://user:pass@host:465`: TLS from the first byte (implicit TLS, RFC 8314).
/// - `smtp://host:587`: plain TCP, upgraded with STARTTLS when the server offers it; credentials are only ever sent over
///   TLS, so a server that does not offer STARTTLS gets none. `?starttls=required` refuses to send without TLS.
/// - `?ca_file=/path/ca.pem` trusts that certificate authority (a lab's own) in addition to the system's;
///   `?verify=none` turns certificate checks off (never the default; logged by the server).
/// - `?timeout=SECONDS` bounds every step: connecting, each reply, the TLS handshake (default 30).
/// - User and password are percent-decoded (`%40` for `@`).
public struct SMTPSettings: Sendable, Equatable {
    /// An AUTH user and password.
    public struct Credentials: Sendable, Equatable {
        /// The user.
        public var user: String
        /// The password.
        public var password: String
    }

    /// How the connection gets TLS.
    public enum Security: String, Sendable, Equatable {
        /// TLS from the start (`smtps`).
        case implicitTLS
        /// STARTTLS when offered; credentials only after it.
        case startTLSIfOffered
        /// STARTTLS or nothing is sent.
        case startTLSRequired
    }

    /// The server's host name (also the name its certificate must carry).
    public var host: String
    /// The port.
    public var port: Int
    /// How TLS is reached.
    public var security: Security
    /// AUTH user and password, if any.
    public var credentials: Credentials?
    /// A PEM file of extra trusted certificate authorities.
    public var caFile: String?
    /// Whether the server's certificate is checked (chain and host name).
    public var verifyCertificate: Bool
    /// Seconds allowed for each step.
    public var timeoutSeconds: Int
    /// The name we greet with (EHLO); the host's name by default.
    public var heloName: String

    /// Parses a URL.
    /// - Throws: ``MailError/invalidSettings(_:)`` naming what is wrong.
    public init(url text: String, heloName: String? = nil) throws(MailError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .invalidSettings("SEG_SMTP_URL is not a URL (smtp://host:587 or smtps://user:pass@host:465)")
        }
        guard let host = components.host, !host.isEmpty else { throw .invalidSettings("SEG_SMTP_URL has no host") }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name.lowercased(), $0.value ?? "") }, uniquingKeysWith: { $1 })
        let known: Set = ["starttls", "ca_file", "verify", "timeout"]
        if let unknown = query.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidSettings("SEG_SMTP_URL has an unknown option \(unknown) (starttls, ca_file, verify, timeout)")
        }
        switch scheme {
        case "smtps":
            security = .implicitTLS
            if query["starttls"] != nil { throw .invalidSettings("starttls does not apply to smtps://, which is TLS from the start") }
        case "smtp":
            switch query["starttls"]?.lowercased() {
            case nil, "", "auto": security = .startTLSIfOffered
            case "required": security = .startTLSRequired
            case let other?: throw .invalidSettings("starttls must be required or auto, not \(other)")
            }
        default:
            throw .invalidSettings("SEG_SMTP_URL must start with smtp:// or smtps://, not \(scheme)://")
        }
        self.host = host
        port = components.port ?? (scheme == "smtps" ? 465 : 587)
        guard (1...65535).contains(port) else { throw .invalidSettings("the port \(port) is out of range") }
        if let user = components.percentEncodedUser {
            let password = components.percentEncodedPassword ?? ""
            guard let user = user.removingPercentEncoding, let password = password.removingPercentEncoding else {
                throw .invalidSettings("the user or password of SEG_SMTP_URL is not valid percent-encoding")
            }
            credentials = Credentials(user: user, password: password)
        } else {
            credentials = nil
        }
        caFile = query["ca_file"].flatMap { $0.isEmpty ? nil : $0 }
        switch query["verify"]?.lowercased() {
        case nil, "", "full": verifyCertificate = true
        case "none": verifyCertificate = false
        case let other?: throw .invalidSettings("verify must be full or none, not \(other)")
        }
        if let timeout = query["timeout"] {
            guard let seconds = Int(timeout), (1...3600).contains(seconds) else {
                throw .invalidSettings("timeout must be a whole number of seconds from 1 to 3600, not \(timeout)")
            }
            timeoutSeconds = seconds
        } else {
            timeoutSeconds = 30
        }
        self.heloName = heloName ?? (ProcessInfo.processInfo.hostName.isEmpty ? "localhost" : ProcessInfo.processInfo.hostName)
    }

    /// The URL with the password replaced by `***`, for logs.
    public var redacted: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let user = credentials.map { "\($0.user):***@" } ?? ""
        return "\(scheme)://\(user)\(host):\(port)"
    }
}
