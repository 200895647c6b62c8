import Foundation
import Logging
import PostgresNIO

/// Accounts: create, look up, list and change them.
///
/// Every method throws `StorageError` only; a missing account is `.notFound(entity: "user", id:)`.
///
/// ## Usage
/// ```swift
/// let user = try await UserRepository.create(NewUser(email: "Ada@Example.org", passwordHash: hash), on: database)
/// let same = try await UserRepository.find(email: "ada@example.org", on: database)  // case-insensitive
/// ```
///
/// On PostgreSQL (`users`).
///
/// Every function runs on the `Database` it is given: `create` inside a transaction of the caller's registers a user
/// and records its first refresh token together.
public enum UserRepository {

    /// Creates an account (inside the caller's transaction, if `database` is in one: register and log in together).
    /// - Throws: `.conflict(constraint: "users_email_lower_key")` when the email is taken in any letter case,
    ///   `.constraintViolation` for an empty email.
    public static func create(_ user: NewUser, on database: Database) async throws(StorageError) -> UserRecord {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                INSERT INTO users (email, name, password_hash, role, must_change_password, email_verified_at)
                VALUES (
                    \(user.email), \(user.name), \(user.passwordHash), \(user.role.rawValue), \(user.mustChangePassword),
                    CASE WHEN \(user.emailVerified) THEN now() END)
                RETURNING \(unescaped: columns)
                """
            )
            guard let created = try await decode(rows).first else { throw StorageError.database(sqlState: nil) }
            database.logger.debug("user created", metadata: ["user.id": "\(created.item.id)"])
            return created.item
        }
    }

    /// The account with this id, or `nil`.
    public static func find(id: UUID, on database: Database) async throws(StorageError) -> UserRecord? {
        try await withStorageErrors {
            try await Self.decode(database.query("SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)")).first?.item
        }
    }

    /// The account `id` and whether its session `session` (a refresh-token family, an access token's `sid`) still has
    /// a token that is not revoked (logout, a detected reuse and a password change revoke them), in one query: the
    /// account lookup of every authenticated request. `nil` when there is no such account.
    public static func find(
        id: UUID, session: UUID?, on database: Database
    ) async throws(StorageError) -> (user: UserRecord, sessionLive: Bool)? {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns),
                    \(session)::uuid IS NULL OR EXISTS (
                        SELECT 1 FROM refresh_tokens r WHERE r.family = \(session) AND r.user_id = users.id AND r.revoked_at IS NULL)
                FROM users WHERE id = \(id)
                """)
            for try await (id, email, name, role, passwordHash, disabledAt, tokensValidAfter, mustChangePassword, createdAt, verifiedAt, live)
                in rows.decode((UUID, String, String, String, String, Date?, Date, Bool, Timestamp, Date?, Bool).self)
            {
                guard let role = AccountRole(rawValue: role) else { throw StorageError.database(sqlState: nil) }
                let user = UserRecord(
                    id: id, email: email, name: name, role: role, passwordHash: passwordHash, disabledAt: disabledAt,
                    tokensValidAfter: tokensValidAfter, mustChangePassword: mustChangePassword, createdAt: createdAt.date,
                    emailVerifiedAt: verifiedAt)
                return (user, live)
            }
            return nil
        }
    }

    /// The account whose `lower(email)` matches, or `nil` (served by `users_email_lower_key`).
    public static func find(email: String, on database: Database) async throws(StorageError) -> UserRecord? {
        try await withStorageErrors {
            let rows = try await database.query(
                "SELECT \(unescaped: Self.columns) FROM users WHERE lower(email) = lower(\(email))"
            )
            return try await Self.decode(rows).first?.item
        }
    }

    /// A keyset page by `(created_at, id)`, oldest first.
    public static func list(_ filter: UserFilter, page: PageRequest, on database: Database) async throws(StorageError) -> Page<UserRecord> {
        let bound = page.ascendingBound
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM users
                WHERE (\(filter.role?.rawValue)::text IS NULL OR role = \(filter.role?.rawValue))
                  AND (\(filter.disabled)::boolean IS NULL OR (disabled_at IS NOT NULL) = \(filter.disabled))
                  AND (created_at, id) > (\(bound.timestamp), \(bound.id))
                ORDER BY created_at, id
                LIMIT \(page.fetchLimit)
                """
            )
            return Page(positioned: try await Self.decode(rows), request: page)
        }
    }

    /// Counts the accounts that match `filter`.
    public static func count(_ filter: UserFilter, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT count(*)::int8 FROM users
                WHERE (\(filter.role?.rawValue)::text IS NULL OR role = \(filter.role?.rawValue))
                  AND (\(filter.disabled)::boolean IS NULL OR (disabled_at IS NOT NULL) = \(filter.disabled))
                """
            )
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// Changes the display name.
    public static func updateName(id: UUID, name: String, on database: Database) async throws(StorageError) -> UserRecord {
        try await updateOne(id: id, "UPDATE users SET name = \(name) WHERE id = \(id) RETURNING \(unescaped: Self.columns)", on: database)
    }

    /// Changes the account role.
    public static func setRole(id: UUID, role: AccountRole, on database: Database) async throws(StorageError) -> UserRecord {
        try await updateOne(id: id, "UPDATE users SET role = \(role.rawValue) WHERE id = \(id) RETURNING \(unescaped: Self.columns)", on: database)
    }

    /// Stores the hash, sets `tokens_valid_after` to `instant` and revokes the refresh tokens, in one transaction.
    ///
    /// `instant` is the application's clock, the one that stamps access tokens' `iat`, not PostgreSQL's: the two are
    /// compared at full precision, and a database on another machine may run ahead.
    public static func setPasswordHash(
        id: UUID, passwordHash: String, mustChangePassword: Bool, at instant: Date = Date(), on database: Database
    ) async throws(StorageError) -> UserRecord {
        try await updateRevokingTokens(
            id: id,
            """
            UPDATE users SET password_hash = \(passwordHash), must_change_password = \(mustChangePassword),
                tokens_valid_after = \(instant)
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """,
            logMessage: "password changed", on: database)
    }

    /// Disables (revoking refresh tokens and setting `tokens_valid_after` to `instant`, the application's clock, in one
    /// transaction) or enables.
    public static func setDisabled(
        id: UUID, disabled: Bool, at instant: Date = Date(), on database: Database
    ) async throws(StorageError) -> UserRecord {
        guard disabled else {
            return try await updateOne(
                id: id, "UPDATE users SET disabled_at = NULL WHERE id = \(id) RETURNING \(unescaped: Self.columns)", on: database)
        }
        return try await updateRevokingTokens(
            id: id,
            """
            UPDATE users SET disabled_at = coalesce(disabled_at, now()), tokens_valid_after = \(instant)
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """,
            logMessage: "user disabled", on: database)
    }

    /// Runs `update` (which returns the user's row) and revokes the user's refresh tokens, in one transaction.
    private static func updateRevokingTokens(
        id: UUID, _ update: PostgresQuery, logMessage: Logger.Message, on database: Database
    ) async throws(StorageError) -> UserRecord {
        try await database.transaction { database in
            let rows = try await database.query(update)
            guard let user = try await Self.decode(rows).first?.item else {
                throw StorageError.notFound(entity: "user", id: id.uuidString)
            }
            let revoked = try await RefreshTokenRepository.revokeAll(userID: id, on: database)
            database.logger.info(logMessage, metadata: ["user.id": "\(id)", "auth.revoked_tokens": "\(revoked)"])
            return user
        }

    }

    /// Counts the projects with this `owner_id`.
    public static func ownedProjectCount(id: UUID, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query("SELECT count(*)::int8 FROM projects WHERE owner_id = \(id)")
            return try await rows.collect().first?.decode(Int.self) ?? 0
        }
    }

    /// The bytes of the images in the projects this user owns: what a storage quota counts (an image added by an editor
    /// counts for the project's owner; an identical file stored twice counts twice).
    public static func storedBytes(id: UUID, on database: Database) async throws(StorageError) -> Int64 {
        try await withStorageErrors {
            let rows = try await database.query(
                "SELECT coalesce(sum(i.bytes), 0)::int8 FROM images i JOIN projects p ON p.id = i.project_id WHERE p.owner_id = \(id)")
            return try await rows.collect().first?.decode(Int64.self) ?? 0
        }
    }

    /// The ids of the projects this user owns, oldest first.
    public static func ownedProjectIDs(id: UUID, on database: Database) async throws(StorageError) -> [UUID] {
        try await withStorageErrors {
            let rows = try await database.query("SELECT id FROM projects WHERE owner_id = \(id) ORDER BY created_at, id")
            var ids: [UUID] = []
            for try await projectID in rows.decode(UUID.self) { ids.append(projectID) }
            return ids
        }
    }

    /// Deletes the account; `ON DELETE RESTRICT` on `projects.owner_id` refuses an owner, which is reported plainly.
    /// - Throws: `.invalidArgument("the user still owns projects; transfer or delete them first")` while the account
    ///   owns projects (see `ownedProjectCount`); `.notFound` when there is no such account.
    public static func delete(id: UUID, on database: Database) async throws(StorageError) {
        do throws(StorageError) {
            try await withStorageErrors {
                let rows = try await database.query("DELETE FROM users WHERE id = \(id) RETURNING id")
                guard try await rows.collect().count == 1 else { throw StorageError.notFound(entity: "user", id: id.uuidString) }
                database.logger.info("user deleted", metadata: ["user.id": "\(id)"])
            }
        } catch .invalidReference(constraint: "projects_owner_id_fkey") {
            throw Self.ownsProjects
        }
    }

    /// Why an account that owns projects cannot be deleted.
    static let ownsProjects = StorageError.invalidArgument("the user still owns projects; transfer or delete them first")

    // MARK: - Rows

    /// The columns `decode(_:)` reads, in its order.
    static let columns =
        "id, email, name, role, password_hash, disabled_at, tokens_valid_after, must_change_password, created_at, email_verified_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [Positioned<UserRecord>] {
        var users: [Positioned<UserRecord>] = []
        for try await (id, email, name, role, passwordHash, disabledAt, tokensValidAfter, mustChangePassword, createdAt, verifiedAt)
            in rows.decode((UUID, String, String, String, String, Date?, Date, Bool, Timestamp, Date?).self)
        {
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
                createdAt: createdAt.date,
                emailVerifiedAt: verifiedAt
            )
            users.append(Positioned(item: user, position: PageCursor(timestamp: createdAt, id: id)))
        }
        return users
    }

    private static func updateOne(id: UUID, _ query: PostgresQuery, on database: Database) async throws(StorageError) -> UserRecord {
        try await withStorageErrors {
            guard let user = try await Self.decode(database.query(query)).first?.item else {
                throw StorageError.notFound(entity: "user", id: id.uuidString)
            }
            return user
        }
    }
}

extension UserRepository {
    /// One page of every account, oldest first.
    public static func list(page: PageRequest, on database: Database) async throws(StorageError) -> Page<UserRecord> {
        try await list(.all, page: page, on: database)
    }

    /// The number of accounts.
    public static func count(on database: Database) async throws(StorageError) -> Int {
        try await count(.all, on: database)
    }

    /// Stores the password the user chose: like `setPasswordHash(id:passwordHash:mustChangePassword:)` with
    /// `mustChangePassword` cleared.
    public static func setPasswordHash(id: UUID, passwordHash: String, on database: Database) async throws(StorageError) -> UserRecord {
        try await setPasswordHash(id: id, passwordHash: passwordHash, mustChangePassword: false, on: database)
    }

    /// The account with this id.
    /// - Throws: `.notFound(entity: "user", id:)` when there is none.
    public static func get(id: UUID, on database: Database) async throws(StorageError) -> UserRecord {
        guard let user = try await find(id: id, on: database) else { throw StorageError.notFound(entity: "user", id: id.uuidString) }
        return user
    }
}
