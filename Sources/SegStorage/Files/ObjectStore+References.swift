import Foundation
import Logging
import PostgresNIO

extension FileStore {
    /// The keys of stored objects that no row refers to, sorted: what `segctl gc` may remove.
    ///
    /// References are `images.object_key`, `images.thumbnail_key`, `images.display_key` and `exports.object_key` (each holds the bare
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
                UNION SELECT display_key FROM images WHERE display_key IS NOT NULL
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

extension FileStore {
    /// Removes those of `keys` that no row refers to any more (after deleting an image, a project or an export).
    ///
    /// Identical content is stored once, so a key freed by one row may still be used by another; those are kept.
    /// An upload that stores the same content at this moment refreshes the object first (`put` touches it) but
    /// inserts its row later, so a race can remove an object a new row is about to use: the upload's `put` after
    /// its row insert fails then, and `segctl gc` spares young objects for the same reason. To stay safe the
    /// removal skips objects modified in the last `youngerThan`.
    /// - Parameters:
    ///   - keys: Candidate keys (from the rows just deleted).
    ///   - client: The database.
    ///   - youngerThan: Objects modified this recently are kept (default 10 minutes).
    ///   - logger: The query's logger.
    /// - Returns: The keys whose objects were removed.
    @discardableResult
    public func removeUnreferenced(
        _ keys: [ObjectKey],
        referencedBy client: PostgresClient,
        youngerThan: Duration = .seconds(600),
        logger: Logger
    ) async throws(StorageError) -> [ObjectKey] {
        guard !keys.isEmpty else { return [] }
        let candidates = Array(Set(keys.map(\.hex))).sorted()
        let stillReferenced: Set<String> = try await withStorageErrors {
            let rows = try await client.query(
                """
                SELECT object_key FROM images WHERE object_key = ANY(\(candidates))
                UNION SELECT thumbnail_key FROM images WHERE thumbnail_key = ANY(\(candidates))
                UNION SELECT display_key FROM images WHERE display_key = ANY(\(candidates))
                UNION SELECT object_key FROM exports WHERE object_key = ANY(\(candidates))
                """,
                logger: logger
            )
            var found = Set<String>()
            for try await key in rows.decode(String.self) { found.insert(key) }
            return found
        }
        var removed: [ObjectKey] = []
        let cutoff = Date().addingTimeInterval(-Double(youngerThan.components.seconds))
        for hex in candidates where !stillReferenced.contains(hex) {
            guard let key = try? ObjectKey(hex) else { continue }
            if let modified = modificationDate(key), modified > cutoff { continue }
            do {
                if try remove(key) { removed.append(key) }
            } catch {
                throw StorageError(mapping: error)
            }
        }
        return removed
    }
}
