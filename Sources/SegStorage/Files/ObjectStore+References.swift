import Foundation

extension ObjectStore {
    /// The stored objects that no row refers to, sorted by key: what `segctl gc` may remove.
    ///
    /// An upload stores its object before it inserts the row, so a caller that removes orphans
    /// should spare objects younger than any upload takes (`StoredObject.modifiedAt`).
    /// - Throws: `StorageError` when the query fails or the store cannot be listed.
    public func orphans(references: ObjectReferences) async throws -> [StoredObject] {
        let referenced = try await references.all()
        return try await list().filter { !referenced.contains($0.key.hex) }
    }

    /// Removes those of `keys` that no row refers to any more (after deleting an image, a project
    /// or an export).
    ///
    /// Identical content is stored once, so a key freed by one row may still be used by another;
    /// those are kept. An upload that stores the same content at this moment refreshes the object
    /// first (`put` touches it) but inserts its row later, so a race could remove an object a new
    /// row is about to use: the removal skips objects modified in the last `youngerThan`, and
    /// `segctl gc` spares young objects for the same reason.
    /// - Parameters:
    ///   - keys: Candidate keys (from the rows just deleted).
    ///   - references: The database's references.
    ///   - youngerThan: Objects modified this recently are kept (default 10 minutes).
    /// - Returns: The keys whose objects were removed.
    @discardableResult
    public func removeUnreferenced(
        _ keys: [ObjectKey], references: ObjectReferences, youngerThan: Duration = .seconds(600)
    ) async throws -> [ObjectKey] {
        guard !keys.isEmpty else { return [] }
        let candidates = Array(Set(keys.map(\.hex))).sorted()
        let stillReferenced = try await references.among(candidates)
        var removed: [ObjectKey] = []
        let cutoff = Date().addingTimeInterval(-Double(youngerThan.components.seconds))
        for hex in candidates where !stillReferenced.contains(hex) {
            guard let key = try? ObjectKey(hex), let object = try await object(key), object.modifiedAt <= cutoff else { continue }
            if try await remove(key) { removed.append(key) }
        }
        return removed
    }
}
