import Logging
import PostgresNIO

extension FileStore {
    /// The keys of stored objects that no row refers to, sorted: what `segctl gc` may remove.
    ///
    /// References are `images.object_key`, `images.thumbnail_key` and `exports.object_key` (each holds the bare
    /// 64-hex key; the schema checks that form). An upload stores its object before it inserts the row, so a caller
    /// that removes orphans should spare objects younger than any upload takes.
    /// - Parameters:
    ///   - client: The database holding the `images` and `exports` tables.
    ///   - logger: The query's logger.
    /// - Returns: The unreferenced keys.
    /// - Throws: `StorageError` when the query fails or `objects/` cannot be listed.
    public func orphanedKeys(referencedBy client: PostgresClient, logger: Logger) async throws -> [ObjectKey] {
        var referenced = Set<String>()
        do {
            let rows = try await client.query(
                """
                SELECT object_key FROM images
                UNION SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL
                UNION SELECT object_key FROM exports WHERE object_key IS NOT NULL
                """,
                logger: logger
            )
            for try await objectKey in rows.decode(String.self) {
                referenced.insert(objectKey)
            }
        } catch {
            throw StorageError(mapping: error)
        }
        return try allKeys().filter { !referenced.contains($0.hex) }
    }
}
