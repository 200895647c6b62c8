import Foundation
import Logging
import PostgresNIO

/// Which stored objects the database's rows refer to: `images.object_key`, `images.thumbnail_key`,
/// `images.display_key` and `exports.object_key` (each the bare 64-hex key; the schema checks that
/// form). What `segctl gc`, deletions and backups honour.
///
/// A value names the database it asks, so an `ObjectStore` can check references without knowing SQL.
public struct ObjectReferences: Sendable {
    let database: Database

    /// References in `database`.
    public init(on database: Database) {
        self.database = database
    }

    /// Every referenced key (as hex).
    public func all() async throws(StorageError) -> Set<String> {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT object_key FROM images
                UNION SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL
                UNION SELECT display_key FROM images WHERE display_key IS NOT NULL
                UNION SELECT object_key FROM exports WHERE object_key IS NOT NULL
                """)
            var found = Set<String>()
            for try await key in rows.decode(String.self) { found.insert(key) }
            return found
        }
    }

    /// Those of `keys` (as hex) that some row still refers to.
    public func among(_ keys: [String]) async throws(StorageError) -> Set<String> {
        guard !keys.isEmpty else { return [] }
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT object_key FROM images WHERE object_key = ANY(\(keys))
                UNION SELECT thumbnail_key FROM images WHERE thumbnail_key = ANY(\(keys))
                UNION SELECT display_key FROM images WHERE display_key = ANY(\(keys))
                UNION SELECT object_key FROM exports WHERE object_key = ANY(\(keys))
                """)
            var found = Set<String>()
            for try await key in rows.decode(String.self) { found.insert(key) }
            return found
        }
    }
}
