import SegStorage

/// An error that was not the `StorageError` a repository promises.
public struct NotAStorageError: Error, CustomStringConvertible {
    /// The error's type (its text may hold SQL or bind values).
    public var description: String
}

/// The `StorageError` that `body` throws, or `nil` when it succeeds.
///
/// Repositories map PostgreSQL's errors to `StorageError` at their boundary, so by default any other error is a failure
/// of its own: it is thrown as `NotAStorageError` instead of being returned as `nil` or as a stand-in value that a
/// `!= nil` check would accept. SQL a test sends itself has no such boundary: `fromSQL: true` maps what it throws with
/// `StorageError(mapping:)`, as a repository would, to check the constraints the schema promises.
/// - Throws: `NotAStorageError` when `body` throws something else and `fromSQL` is `false`.
public func storageError(fromSQL: Bool = false, _ body: () async throws -> Void) async throws -> StorageError? {
    do {
        try await body()
        return nil
    } catch let error as StorageError {
        return error
    } catch {
        guard fromSQL else { throw NotAStorageError(description: "not a StorageError: \(type(of: error))") }
        return StorageError(mapping: error)
    }
}
