import Foundation
import PostgresNIO

/// Where and how to connect to PostgreSQL, parsed from a `postgres://` URL.
///
/// ## Usage
/// ```swift
/// let configuration = try DatabaseConfiguration(url: "postgres://seg:secret@db:5432/seghub?sslmode=disable")
/// let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
/// ```
/// A unix-domain socket is given as a `host` query item: `postgres://seg@/seghub?host=/run/postgresql`.
public struct DatabaseConfiguration: Sendable, Equatable {
    /// How the connection uses TLS (libpq's `sslmode`).
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it (the default, as in libpq).
        case prefer
        /// TLS required and the server certificate verified.
        case require
    }

    /// Where the server listens.
    public enum Endpoint: Sendable, Equatable {
        /// A TCP host and port.
        case tcp(host: String, port: Int)
        /// The server's socket file (`<directory>/.s.PGSQL.<port>`).
        case unixSocket(path: String)
    }

    /// Where the server listens.
    public var endpoint: Endpoint
    /// The role to log in as.
    public var username: String
    /// The password, if the server asks for one.
    public var password: String?
    /// The database name; the server defaults it to the user name when nil.
    public var database: String?
    /// How TLS is used; ignored for unix sockets.
    public var tls: TLSMode

    /// Creates a configuration from its parts.
    public init(endpoint: Endpoint, username: String, password: String? = nil, database: String? = nil, tls: TLSMode = .prefer) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses `postgres://user:password@host:port/database?sslmode=disable` (`postgresql://` also works).
    ///
    /// The port defaults to 5432, `sslmode` to `prefer` (`disable`, `allow`, `prefer`, `require`, `verify-ca`, `verify-full`).
    /// `?host=/dir` selects the unix-domain socket `/dir/.s.PGSQL.<port>` instead of TCP, as libpq does
    /// (`postgres://user@:55432/db?host=/tmp` for another port); a path naming the socket file itself is kept.
    /// - Throws: `StorageError.invalidConfiguration` naming what is wrong (never the password).
    public init(url: String) throws(StorageError) {
        func invalid(_ reason: String) -> StorageError {
            .invalidConfiguration("database URL: \(reason)")
        }
        guard let components = URLComponents(string: url) else {
            throw invalid("not a valid URL (percent-encode special characters in the password)")
        }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("the scheme must be postgres:// or postgresql://")
        }
        guard let username = components.user, !username.isEmpty else {
            throw invalid("a user name is required (postgres://user@host/database)")
        }
        var socketPath: String?
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "host":
                guard let value = item.value, value.hasPrefix("/") else {
                    throw invalid("the host query item must be an absolute unix-socket path")
                }
                socketPath = value
            case "sslmode":
                switch item.value ?? "" {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require", "verify-ca", "verify-full": tls = .require
                default: throw invalid("unknown sslmode '\(item.value ?? "")' (use disable, prefer or require)")
                }
            case "application_name", "connect_timeout":
                continue
            default:
                throw invalid("unsupported query parameter '\(item.name)'")
            }
        }
        let host = components.host ?? ""
        if let socketPath {
            guard host.isEmpty else { throw invalid("give either a host or ?host=/socket/path, not both") }
            let file = socketPath.split(separator: "/").last ?? ""
            if file.hasPrefix(".s.PGSQL.") {
                self.endpoint = .unixSocket(path: socketPath)
            } else {
                let directory = socketPath.hasSuffix("/") ? String(socketPath.dropLast()) : socketPath
                self.endpoint = .unixSocket(path: "\(directory)/.s.PGSQL.\(components.port ?? 5432)")
            }
        } else {
            guard !host.isEmpty else { throw invalid("a host is required (or ?host=/socket/path)") }
            let port = components.port ?? 5432
            guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range") }
            self.endpoint = .tcp(host: host, port: port)
        }
        let path = components.path
        let name = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !name.contains("/") else { throw invalid("the path must be a single database name") }
        self.username = username
        self.password = components.password
        self.database = name.isEmpty ? nil : name
        self.tls = tls
    }

    /// Reads the URL from an environment variable.
    /// - Throws: `StorageError.invalidConfiguration` when the variable is missing or malformed.
    public static func fromEnvironment(
        _ key: String = "SEG_DATABASE_URL",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(StorageError) -> DatabaseConfiguration {
        guard let url = environment[key], !url.isEmpty else {
            throw .invalidConfiguration("\(key) is not set (postgres://user:password@host:5432/database)")
        }
        return try DatabaseConfiguration(url: url)
    }

    /// The same server and credentials, with another database name.
    public func with(database: String) -> DatabaseConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    /// The postgres-nio client configuration.
    public var clientConfiguration: PostgresClient.Configuration {
        switch endpoint {
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS =
                switch self.tls {
                case .disable: .disable
                case .prefer: .prefer(.makeClientConfiguration())
                case .require: .require(.makeClientConfiguration())
                }
            return PostgresClient.Configuration(
                host: host,
                port: port,
                username: username,
                password: password,
                database: database,
                tls: tls
            )
        case .unixSocket(let path):
            return PostgresClient.Configuration(unixSocketPath: path, username: username, password: password, database: database)
        }
    }
}
