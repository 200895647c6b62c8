import Logging
import PostgresNIO

extension FileStore {
    /// The keys of stored objects that no `images.object_key` refers to, sorted: what `segctl gc` may remove.
    ///
    /// A row may hold the bare key (`ab…`, 64 hex digits) or its path (`objects/ab/cdef…`); both count as a
    /// reference. An upload stores its object before it inserts the row, so a caller that removes orphans should
    /// spare objects younger than any upload takes.
    /// - Parameters:
    ///   - client: The database holding the `images` table.
    ///   - logger: The query's logger.
    /// - Returns: The unreferenced keys.
    /// - Throws: `StorageError` when the query fails or `objects/` cannot be listed.
    public func orphanedKeys(referencedBy client: PostgresClient, logger: Logger) async throws -> [ObjectKey] {
        var referenced = Set<String>()
        do {
            let rows = try await client.query("SELECT DISTINCT object_key FROM images", logger: logger)
            for try await objectKey in rows.decode(String.self) {
                referenced.insert(Self.referencedHex(objectKey))
            }
        } catch {
            throw StorageError(mapping: error)
        }
        return try allKeys().filter { !referenced.contains($0.hex) }
    }

    /// The hex key a stored `object_key` names: the value itself, or the digits of an `objects/ab/cdef…` path.
    static func referencedHex(_ objectKey: String) -> String {
        let parts = objectKey.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 3, parts[0] == "objects", parts[1].utf8.count == 2 {
            return String(parts[1] + parts[2])
        }
        return objectKey
    }
}
