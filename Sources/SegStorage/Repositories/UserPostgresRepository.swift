import Foundation
import Logging
import PostgresNIO

/// Accounts: create, look up, list and change them.
///
/// Every method throws `StorageError` only; a missing account is `.notFound(entity: "user", id:)`.
///
/// ## Usage
/// ```swift
/// let users: some UserRepository = UserPostgresRepository(client: client, logger: logger)
/// let user = try await users.create(NewUser(email: "Ada@Example.org", passwordHash: hash))
/// let same = try await users.find(email: "ada@example.org")  // case-insensitive
/// ```
///
/// On PostgreSQL (`users`).
///
/// `insert(_:on:logger:)` creates an account on a connection the caller holds, so the HTTP layer can register a
/// user and record its first refresh token in one transaction.
public struct UserPostgresRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// A repository on `client`, logging to `logger`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Inserts the account on a pooled connection (see `insert(_:on:logger:)` for a transaction of the caller's).
    /// - Throws: `.conflict(constraint: "users_email_lower_key")` when the email is taken in any letter case,
    ///   `.constraintViolation` for an empty email.
    public func create(_ user: NewUser) async throws(StorageError) -> UserRecord {
        try await withStorageErrors {
            try await client.withConnection { connection in
                try await Self.insert(user, on: connection, logger: logger)
            }
        }
    }

    /// Creates an account on `connection` (inside the caller's transaction, if it has one).
    /// - Throws: `.conflict(constraint: "users_email_lower_key")` when the email is taken in any letter case.
    public static func insert(_ user: NewUser, on connection: PostgresConnection, logger: Logger) async throws(StorageError) -> UserRecord {
        try await withStorageErrors {
            let rows = try await connection.query(
                """
                INSERT INTO users (email, name, password_hash, role, must_change_password)
                VALUES (\(user.email), \(user.name), \(user.passwordHash), \(user.role.rawValue), \(user.mustChangePassword))
                RETURNING \(unescaped: columns)
                """,
                logger: logger
            )
            guard let created = try await decode(rows).first else { throw StorageError.database(sqlState: nil) }
            logger.debug("user created", metadata: ["user.id": "\(created.item.id)"])
            return created.item
        }
    }

    /// The account with this id, or `nil`.
    public func find(id: UUID) async throws(StorageError) -> UserRecord? {
        try await withStorageErrors {
            try await Self.decode(client.query("SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)", logger: logger)).first?.item
        }
    }

    /// The account whose `lower(email)` matches, or `nil` (served by `users_email_lower_key`).
    public func find(email: String) async throws(StorageError) -> UserRecord? {
        try await withStorageErrors {
            let rows = try await client.query(
                "SELECT \(unescaped: Self.columns) FROM users WHERE lower(email) = lower(\(email))",
                logger: logger
            )
            return try await Self.decode(rows).first?.item
        }
    }

    /// A keyset page by `(created_at, id)`, oldest first.
    public func list(_ filter: UserFilter, page: PageRequest) async throws(StorageError) -> Page<UserRecord> {
        let bound = page.ascendingBound
        return try await withStorageErrors {
            let rows = try await client.query(
                """
                SELECT \(unescaped: Self.columns) FROM users
                WHERE (\(filter.role?.rawValue)::text IS NULL OR role = \(filter.role?.rawValue))
                  AND (\(filter.disabled)::boolean IS NULL OR (disabled_at IS NOT NULL) = \(filter.disabled))
                  AND (created_at, id) > (\(bound.timestamp), \(bound.id))
                ORDER BY created_at, id
                LIMIT \(page.fetchLimit)
                """,
                logger: logger
            )
            return Page(positioned: try await Self.decode(rows), request: page)
        }
    }

    /// Counts the accounts that match `filter`.
    public func count(_ filter: UserFilter) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await client.query(
                """
                SELECT count(*)::int8 FROM users
                WHERE (\(filter.role?.rawValue)::text IS NULL OR role = \(filter.role?.rawValue))
                  AND (\(filter.disabled)::boolean IS NULL OR (disabled_at IS NOT NULL) = \(filter.disabled))
                """,
                logger: logger
            )
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// Changes the display name.
    public func updateName(id: UUID, name: String) async throws(StorageError) -> UserRecord {
        try await updateOne(id: id, "UPDATE users SET name = \(name) WHERE id = \(id) RETURNING \(unescaped: Self.columns)")
    }

    /// Changes the account role.
    public func setRole(id: UUID, role: AccountRole) async throws(StorageError) -> UserRecord {
        try await updateOne(id: id, "UPDATE users SET role = \(role.rawValue) WHERE id = \(id) RETURNING \(unescaped: Self.columns)")
    }

    /// Stores the hash, bumps `tokens_valid_after` and revokes the refresh tokens, in one transaction.
    public func setPasswordHash(id: UUID, passwordHash: String, mustChangePassword: Bool) async throws(StorageError) -> UserRecord {
        try await updateRevokingTokens(
            id: id,
            """
            UPDATE users SET password_hash = \(passwordHash), must_change_password = \(mustChangePassword),
                tokens_valid_after = now()
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """,
            logMessage: "password changed")
    }

    /// Disables (revoking refresh tokens and bumping `tokens_valid_after`, in one transaction) or enables.
    public func setDisabled(id: UUID, disabled: Bool) async throws(StorageError) -> UserRecord {
        guard disabled else {
            return try await updateOne(id: id, "UPDATE users SET disabled_at = NULL WHERE id = \(id) RETURNING \(unescaped: Self.columns)")
        }
        return try await updateRevokingTokens(
            id: id,
            """
            UPDATE users SET disabled_at = coalesce(disabled_at, now()), tokens_valid_after = now()
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """,
            logMessage: "user disabled")
    }

    /// Runs `update` (which returns the user's row) and revokes the user's refresh tokens, in one transaction.
    private func updateRevokingTokens(id: UUID, _ update: PostgresQuery, logMessage: Logger.Message) async throws(StorageError) -> UserRecord {
        try await withStorageErrors {
            try await client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(update, logger: logger)
                guard let user = try await Self.decode(rows).first?.item else {
                    throw StorageError.notFound(entity: "user", id: id.uuidString)
                }
                let revoked = try await RefreshTokenPostgresRepository.revokeAll(userID: id, on: connection, logger: logger)
                logger.info(logMessage, metadata: ["user.id": "\(id)", "auth.revoked_tokens": "\(revoked)"])
                return user
            }
        }
    }

    /// Counts the projects with this `owner_id`.
    public func ownedProjectCount(id: UUID) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await client.query("SELECT count(*)::int8 FROM projects WHERE owner_id = \(id)", logger: logger)
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// The ids of the projects this user owns, oldest first.
    public func ownedProjectIDs(id: UUID) async throws(StorageError) -> [UUID] {
        try await withStorageErrors {
            let rows = try await client.query("SELECT id FROM projects WHERE owner_id = \(id) ORDER BY created_at, id", logger: logger)
            var ids: [UUID] = []
            for try await projectID in rows.decode(UUID.self) { ids.append(projectID) }
            return ids
        }
    }

    /// Deletes the account; `ON DELETE RESTRICT` on `projects.owner_id` refuses an owner, which is reported plainly.
    /// - Throws: `.invalidArgument("the user still owns projects; transfer or delete them first")` while the account
    ///   owns projects (see `ownedProjectCount`); `.notFound` when there is no such account.
    public func delete(id: UUID) async throws(StorageError) {
        do throws(StorageError) {
            try await withStorageErrors {
                let rows = try await client.query("DELETE FROM users WHERE id = \(id) RETURNING id", logger: logger)
                guard try await rows.collect().count == 1 else { throw StorageError.notFound(entity: "user", id: id.uuidString) }
                logger.info("user deleted", metadata: ["user.id": "\(id)"])
            }
        } catch .invalidReference(constraint: "projects_owner_id_fkey") {
            throw Self.ownsProjects
        }
    }

    /// Why an account that owns projects cannot be deleted.
    static let ownsProjects = StorageError.invalidArgument("the user still owns projects; transfer or delete them first")

    // MARK: - Rows

    /// The columns `decode(_:)` reads, in its order.
    static let columns = "id, email, name, role, password_hash, disabled_at, tokens_valid_after, must_change_password, created_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [Positioned<UserRecord>] {
        var users: [Positioned<UserRecord>] = []
        for try await (id, email, name, role, passwordHash, disabledAt, tokensValidAfter, mustChangePassword, createdAt) in rows.decode(
            (UUID, String, String, String, String, Date?, Date, Bool, Timestamp).self
        ) {
            guard let role = AccountRole(rawValue: role) else { throw StorageError.database(sqlState: nil) }
            let user = UserRecord(
                id: id,
                email: email,
                name: name,
                role: role,
                passwordHash: passwordHash,
                disabledAt: disabledAt,
                tokensValidAfter: tokensValidAfter,
                mustChangePassword: mustChangePassword,
                createdAt: createdAt.date
            )
            users.append(Positioned(item: user, position: PageCursor(timestamp: createdAt, id: id)))
        }
        return users
    }

    private func updateOne(id: UUID, _ query: PostgresQuery) async throws(StorageError) -> UserRecord {
        try await withStorageErrors {
            guard let user = try await Self.decode(client.query(query, logger: logger)).first?.item else {
                throw StorageError.notFound(entity: "user", id: id.uuidString)
            }
            return user
        }
    }
}

extension UserPostgresRepository {
    /// One page of every account, oldest first.
    public func list(page: PageRequest) async throws(StorageError) -> Page<UserRecord> {
        try await list(.all, page: page)
    }

    /// The number of accounts.
    public func count() async throws(StorageError) -> Int {
        try await count(.all)
    }

    /// Stores the password the user chose: like `setPasswordHash(id:passwordHash:mustChangePassword:)` with
    /// `mustChangePassword` cleared.
    public func setPasswordHash(id: UUID, passwordHash: String) async throws(StorageError) -> UserRecord {
        try await setPasswordHash(id: id, passwordHash: passwordHash, mustChangePassword: false)
    }

    /// The account with this id.
    /// - Throws: `.notFound(entity: "user", id:)` when there is none.
    public func get(id: UUID) async throws(StorageError) -> UserRecord {
        guard let user = try await find(id: id) else { throw StorageError.notFound(entity: "user", id: id.uuidString) }
        return user
    }
}
