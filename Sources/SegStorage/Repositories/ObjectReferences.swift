import Foundation
import Logging
import PostgresNIO

/// Which stored objects the database's rows refer to: `images.object_key`, `images.thumbnail_key`,
/// `images.display_key` and `exports.object_key` (each the bare 64-hex key; the schema checks that
/// form). What `segctl gc`, deletions and backups honour.
public struct ObjectReferences: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// References in the database behind `client`, queried with `logger`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Every referenced key (as hex).
    public func all() async throws(StorageError) -> Set<String> {
        try await withStorageErrors {
            let rows = try await client.query(
                """
                SELECT object_key FROM images
                UNION SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL
                UNION SELECT display_key FROM images WHERE display_key IS NOT NULL
                UNION SELECT object_key FROM exports WHERE object_key IS NOT NULL
                """,
                logger: logger)
            var found = Set<String>()
            for try await key in rows.decode(String.self) { found.insert(key) }
            return found
        }
    }

    /// Those of `keys` (as hex) that some row still refers to.
    public func among(_ keys: [String]) async throws(StorageError) -> Set<String> {
        guard !keys.isEmpty else { return [] }
        return try await withStorageErrors {
            let rows = try await client.query(
                """
                SELECT object_key FROM images WHERE object_key = ANY(\(keys))
                UNION SELECT thumbnail_key FROM images WHERE thumbnail_key = ANY(\(keys))
                UNION SELECT display_key FROM images WHERE display_key = ANY(\(keys))
                UNION SELECT object_key FROM exports WHERE object_key = ANY(\(keys))
                """,
                logger: logger)
            var found = Set<String>()
            for try await key in rows.decode(String.self) { found.insert(key) }
            return found
        }
    }
}
