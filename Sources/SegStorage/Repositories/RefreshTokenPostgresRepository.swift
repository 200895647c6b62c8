import Foundation
import Logging
import PostgresNIO

/// Refresh tokens, stored only as SHA-256 hashes: issue, rotate with reuse detection, revoke, purge.
///
/// The caller hashes every token it hands out or receives (`Data(SHA256.hash(data: tokenBytes))`) and passes the
/// 32-byte digest; any other length is `.invalidArgument`. Expiry is judged by the database's clock.
///
/// ## Usage
/// ```swift
/// let tokens: some RefreshTokenRepository = RefreshTokenPostgresRepository(client: client, logger: logger)
/// switch try await tokens.rotate(presentedHash: old, newHash: new, newExpiresAt: .now + 7 * 86_400) {
/// case .rotated(let userID, let token): …  // hand out the new token
/// case .reused, .expired, .revoked, .unknown: …  // 401
/// }
/// ```
///
/// On PostgreSQL (`refresh_tokens`).
///
/// `insert(…on:logger:)` and `revokeAll(userID:on:logger:)` work on a connection the caller holds, so the HTTP
/// layer can combine them with other writes in one transaction (register and log in, change a password).
public struct RefreshTokenPostgresRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// A repository on `client`, logging to `logger`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Inserts the token on a pooled connection (see `insert(…on:logger:)` for a transaction of the caller's).
    /// - Parameters:
    ///   - userID: Its user.
    ///   - hash: The SHA-256 of the token (32 bytes).
    ///   - family: The login it continues; `nil` starts a new family (a new login).
    ///   - expiresAt: When this token expires (clamped to `absoluteExpiresAt`).
    ///   - absoluteExpiresAt: When the family ends, however often it is rotated.
    public func issue(
        userID: UUID, hash: Data, family: UUID?, expiresAt: Date, absoluteExpiresAt: Date
    ) async throws(StorageError)
        -> RefreshTokenRecord
    {
        try await withStorageErrors {
            try await client.withConnection { connection in
                try await Self.insert(
                    userID: userID,
                    hash: hash,
                    family: family,
                    expiresAt: expiresAt,
                    absoluteExpiresAt: absoluteExpiresAt,
                    on: connection,
                    logger: logger
                )
            }
        }
    }

    /// Records a newly issued token on `connection` (inside the caller's transaction, if it has one).
    /// - Parameters:
    ///   - userID: Its user.
    ///   - hash: The SHA-256 of the token (32 bytes).
    ///   - family: The login it continues; `nil` starts a new family.
    ///   - expiresAt: When this token expires (clamped to `absoluteExpiresAt`).
    ///   - absoluteExpiresAt: When the family ends.
    ///   - connection: The connection to write on.
    ///   - logger: The query's logger.
    /// - Throws: `.invalidArgument` for a hash that is not 32 bytes, `.invalidReference` for an unknown user,
    ///   `.conflict(constraint: "refresh_tokens_hash_key")` for a hash already stored.
    public static func insert(
        userID: UUID,
        hash: Data,
        family: UUID?,
        expiresAt: Date,
        absoluteExpiresAt: Date,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws(StorageError) -> RefreshTokenRecord {
        try checkHash(hash)
        return try await withStorageErrors {
            let rows = try await connection.query(
                """
                INSERT INTO refresh_tokens (hash, family, user_id, expires_at, absolute_expires_at)
                VALUES (\(hash), coalesce(\(family), gen_random_uuid()), \(userID), least(\(expiresAt), \(absoluteExpiresAt)), \(absoluteExpiresAt))
                RETURNING \(unescaped: columns)
                """,
                logger: logger
            )
            guard let token = try await decode(rows).first else { throw StorageError.database(sqlState: nil) }
            return token
        }
    }

    /// Rotates in one transaction under `SELECT … FOR UPDATE` (see `RefreshTokenRepository.rotate`).
    public func rotate(presentedHash: Data, newHash: Data, newExpiresAt: Date) async throws(StorageError) -> RefreshTokenRotation {
        try Self.checkHash(presentedHash)
        try Self.checkHash(newHash)
        return try await withStorageErrors {
            try await client.withTransaction(logger: logger) { connection in
                try await Self.rotate(presentedHash: presentedHash, newHash: newHash, newExpiresAt: newExpiresAt, on: connection, logger: logger)
            }
        }
    }

    private static func rotate(
        presentedHash: Data,
        newHash: Data,
        newExpiresAt: Date,
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> RefreshTokenRotation {
        // FOR UPDATE: a concurrent rotation of the same token waits here, then reads the row as the winner left it
        // (used), so exactly one caller gets past the checks below. A disabled account's tokens count as revoked even
        // if one was issued after the account was disabled.
        let rows = try await connection.query(
            """
            SELECT t.id, t.family, t.user_id, t.used_at IS NOT NULL,
                   t.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL,
                   t.expires_at <= now() OR t.absolute_expires_at <= now()
            FROM refresh_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.hash = \(presentedHash)
            FOR UPDATE OF t
            """,
            logger: logger
        )
        var found: (id: UUID, family: UUID, userID: UUID, used: Bool, revoked: Bool, expired: Bool)?
        for try await row in rows.decode((UUID, UUID, UUID, Bool, Bool, Bool).self) {
            found = row
        }
        guard let token = found else { return .unknown }
        var logger = logger
        logger[metadataKey: "user.id"] = "\(token.userID)"
        logger[metadataKey: "auth.token_family"] = "\(token.family)"
        if token.revoked { return .revoked(userID: token.userID) }
        if token.used {
            let revoked = try await revokeFamily(token.family, on: connection, logger: logger)
            logger.info("refresh token reused; family revoked", metadata: ["auth.revoked_tokens": "\(revoked)"])
            return .reused(userID: token.userID, family: token.family)
        }
        if token.expired { return .expired(userID: token.userID) }

        let inserted = try await connection.query(
            """
            INSERT INTO refresh_tokens (hash, family, user_id, expires_at, absolute_expires_at)
            SELECT \(newHash), family, user_id, least(\(newExpiresAt), absolute_expires_at), absolute_expires_at
            FROM refresh_tokens WHERE id = \(token.id)
            RETURNING \(unescaped: columns)
            """,
            logger: logger
        )
        guard let successor = try await decode(inserted).first else { throw StorageError.database(sqlState: nil) }
        try await connection.query(
            "UPDATE refresh_tokens SET used_at = now(), replaced_by = \(successor.id) WHERE id = \(token.id)",
            logger: logger
        ).drain()
        logger.debug("refresh token rotated")
        return .rotated(userID: token.userID, newToken: successor)
    }

    /// The token with this hash, or `nil`.
    public func find(hash: Data) async throws(StorageError) -> RefreshTokenRecord? {
        try Self.checkHash(hash)
        return try await withStorageErrors {
            try await Self.decode(client.query("SELECT \(unescaped: Self.columns) FROM refresh_tokens WHERE hash = \(hash)", logger: logger))
                .first
        }
    }

    /// Sets `revoked_at` on the token with this hash unless already set.
    /// - Returns: `true` when a token that was not yet revoked matched.
    @discardableResult
    public func revoke(hash: Data) async throws(StorageError) -> Bool {
        try Self.checkHash(hash)
        return try await withStorageErrors {
            let rows = try await client.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE hash = \(hash) AND revoked_at IS NULL RETURNING id",
                logger: logger
            )
            return try await rows.collect().count == 1
        }
    }

    /// Sets `revoked_at` on every token of the family that has none.
    /// - Returns: How many tokens were revoked.
    @discardableResult
    public func revokeFamily(_ family: UUID) async throws(StorageError) -> Int {
        try await withStorageErrors {
            try await client.withConnection { connection in
                try await Self.revokeFamily(family, on: connection, logger: logger)
            }
        }
    }

    /// Sets `revoked_at` on every token of the presented token's family that has none.
    /// - Returns: How many tokens were revoked (0 for an unknown hash).
    @discardableResult
    public func revokeFamily(containingHash hash: Data) async throws(StorageError) -> Int {
        try Self.checkHash(hash)
        return try await withStorageErrors {
            let rows = try await client.query(
                """
                UPDATE refresh_tokens SET revoked_at = now()
                WHERE family = (SELECT family FROM refresh_tokens WHERE hash = \(hash)) AND revoked_at IS NULL
                RETURNING id
                """,
                logger: logger
            )
            return try await rows.collect().count
        }
    }

    /// Sets `revoked_at` on every token of the user that has none.
    /// - Returns: How many tokens were revoked.
    @discardableResult
    public func revokeAll(userID: UUID) async throws(StorageError) -> Int {
        try await withStorageErrors {
            try await client.withConnection { connection in
                try await Self.revokeAll(userID: userID, on: connection, logger: logger)
            }
        }
    }

    /// Revokes every token of a user that is not yet revoked, on `connection` (inside the caller's transaction).
    /// - Returns: How many tokens were revoked.
    @discardableResult
    public static func revokeAll(userID: UUID, on connection: PostgresConnection, logger: Logger) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await connection.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = \(userID) AND revoked_at IS NULL RETURNING id",
                logger: logger
            )
            return try await rows.collect().count
        }
    }

    static func revokeFamily(_ family: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family = \(family) AND revoked_at IS NULL RETURNING id",
            logger: logger
        )
        return try await rows.collect().count
    }

    /// Deletes the tokens whose `expires_at` has passed (by the database's clock).
    /// - Returns: How many rows were deleted.
    @discardableResult
    public func deleteExpired() async throws(StorageError) -> Int {
        try await withStorageErrors {
            // expires_at <= absolute_expires_at (a check constraint), so one indexed condition covers both.
            let rows = try await client.query("DELETE FROM refresh_tokens WHERE expires_at <= now() RETURNING id", logger: logger)
            let count = try await rows.collect().count
            logger.debug("expired refresh tokens deleted", metadata: ["auth.deleted_tokens": "\(count)"])
            return count
        }
    }

    // MARK: - Rows

    static let columns = "id, family, user_id, expires_at, absolute_expires_at, used_at, revoked_at, replaced_by, created_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [RefreshTokenRecord] {
        var tokens: [RefreshTokenRecord] = []
        for try await (id, family, userID, expiresAt, absoluteExpiresAt, usedAt, revokedAt, replacedBy, createdAt) in rows.decode(
            (UUID, UUID, UUID, Date, Date, Date?, Date?, UUID?, Date).self
        ) {
            tokens.append(
                RefreshTokenRecord(
                    id: id,
                    family: family,
                    userID: userID,
                    expiresAt: expiresAt,
                    absoluteExpiresAt: absoluteExpiresAt,
                    usedAt: usedAt,
                    revokedAt: revokedAt,
                    replacedBy: replacedBy,
                    createdAt: createdAt
                )
            )
        }
        return tokens
    }

    static func checkHash(_ hash: Data) throws(StorageError) {
        guard hash.count == 32 else { throw StorageError.invalidArgument("a token hash must be a SHA-256 digest (32 bytes)") }
    }
}

extension RefreshTokenPostgresRepository {
    /// Records the first token of a new login (a new family).
    public func issue(userID: UUID, hash: Data, expiresAt: Date, absoluteExpiresAt: Date) async throws(StorageError) -> RefreshTokenRecord {
        try await issue(userID: userID, hash: hash, family: nil, expiresAt: expiresAt, absoluteExpiresAt: absoluteExpiresAt)
    }
}
