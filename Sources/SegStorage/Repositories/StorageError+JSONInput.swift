import PostgresNIO

extension StorageError {
    /// Like `init(mapping:)`, except that JSON the server rejects as malformed is the caller's mistake:
    /// `.invalidArgument` naming `field`, not a database failure.
    init(mappingJSONInput error: any Error, field: String) {
        if let error = error as? PSQLError, let sqlState = error.serverInfo?[.sqlState], sqlState == "22P02" || sqlState == "22032" {
            self = .invalidArgument("\(field) must be valid JSON")
        } else {
            self.init(mapping: error)
        }
    }
}
