import Foundation

/// Which migrations a database has, and which it still needs.
public struct MigrationStatus: Sendable, Equatable {
    /// A migration recorded in `schema_migrations`.
    public struct Applied: Sendable, Equatable {
        /// How a recorded migration compares with this build's file.
        public enum State: String, Sendable, Equatable {
            /// Same checksum as the bundled file.
            case current
            /// The bundled file changed after the migration was applied.
            case changed
            /// This build has no migration with that version.
            case unknown
        }

        /// The migration's number.
        public var version: Int
        /// The migration's name as recorded.
        public var name: String
        /// When it was applied.
        public var appliedAt: Date
        /// How the record compares with this build's file.
        public var state: State
    }

    /// Recorded migrations, by version.
    public var applied: [Applied]
    /// Migrations this build has and the database does not, by version.
    public var pending: [Migration]

    /// True when nothing is pending and every recorded migration matches its file.
    public var isUpToDate: Bool {
        pending.isEmpty && applied.allSatisfy { $0.state == .current }
    }
}
