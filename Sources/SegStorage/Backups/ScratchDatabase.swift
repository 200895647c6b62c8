import Logging
import PostgresNIO

/// Databases that segctl makes for a while next to the installation's own, on the same server:
/// the scratch copy `segctl backup verify` restores into, the throwaway database of
/// `segctl queue-bench`. Names are `seghub_` followed by lowercase letters, digits and `_`, so
/// they need no quoting and cannot name anything else.
public enum ScratchDatabase {
    /// Whether `name` is a scratch database's name.
    public static func isValid(_ name: String) -> Bool {
        name.hasPrefix("seghub_") && name.count <= 63
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Creates the database `name` (from `template0`, the pristine template, when `pristine`).
    /// - Throws: `StorageError.invalidArgument` for a name that is not a scratch name, or the server's error.
    public static func create(_ name: String, pristine: Bool = false, on database: Database) async throws(StorageError) {
        guard isValid(name) else { throw .invalidArgument("\(name) is not a scratch database name") }
        try await withStorageErrors {
            let template = pristine ? " TEMPLATE template0" : ""
            try await database.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)\(template)")).drain()
        }
    }

    /// Drops the database `name` if it exists, ending its sessions first.
    /// - Throws: `StorageError.invalidArgument` for a name that is not a scratch name, or the server's error.
    public static func drop(_ name: String, on database: Database) async throws(StorageError) {
        guard isValid(name) else { throw .invalidArgument("\(name) is not a scratch database name") }
        try await withStorageErrors {
            try await database.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")).drain()
        }
    }
}

/// What `segctl backup restore` runs (through `psql -c`, in the restore's one transaction) before
/// the dump's own script: a lock timeout, so that a running server's locks fail the restore
/// instead of stalling it, and, over an existing installation, an emptied `public` schema.
public enum RestorePreamble {
    /// The statements, in order.
    public static func statements(replacingExistingSchema: Bool) -> [String] {
        ["SET lock_timeout = '10s'"] + (replacingExistingSchema ? ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"] : [])
    }
}
