import PostgresNIO

extension PostgresRowSequence {
    /// Every row, each turned into a value by `transform`.
    func decodeAll<Value>(_ transform: (PostgresRow) throws -> Value) async throws -> [Value] {
        var values: [Value] = []
        for try await row in self {
            values.append(try transform(row))
        }
        return values
    }

    /// The first row turned into a value by `transform`, or `nil` when there is none.
    func decodeFirst<Value>(_ transform: (PostgresRow) throws -> Value) async throws -> Value? {
        // Read to the end so the connection is left clean (every query here returns at most a row or two).
        try await decodeAll(transform).first
    }
}

/// The enum case a stored text column names; a value this build does not know is a database error.
func storedValue<Value: RawRepresentable>(_ raw: String, as type: Value.Type) throws(StorageError) -> Value where Value.RawValue == String {
    guard let value = Value(rawValue: raw) else { throw StorageError.database(sqlState: nil) }
    return value
}
