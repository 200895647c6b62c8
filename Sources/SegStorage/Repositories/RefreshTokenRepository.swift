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
/// let database = Database(client: client, logger: logger)
/// switch try await RefreshTokenRepository.rotate(presentedHash: old, newHash: new, newExpiresAt: .now + 7 * 86_400, on: database) {
/// case .rotated(let userID, let token): …  // hand out the new token
/// case .reused, .expired, .revoked, .unknown: …  // 401
/// }
/// ```
///
/// On PostgreSQL (`refresh_tokens`).
///
/// Every function runs on the `Database` it is given: the pool, or a transaction the caller holds, so the HTTP layer
/// can combine `issue` and `revokeAll` with other writes (register and log in, change a password).
public enum RefreshTokenRepository {
    /// Records a newly issued token.
    /// - Parameters:
    ///   - userID: Its user.
    ///   - hash: The SHA-256 of the token (32 bytes).
    ///   - family: The login it continues; `nil` starts a new family (a new login).
    ///   - expiresAt: When this token expires (clamped to `absoluteExpiresAt`).
    ///   - absoluteExpiresAt: When the family ends, however often it is rotated.
    ///   - database: Where to write (a transaction, to combine it with other writes: register and log in).
    /// - Throws: `.invalidArgument` for a hash that is not 32 bytes, `.invalidReference` for an unknown user,
    ///   `.conflict(constraint: "refresh_tokens_hash_key")` for a hash already stored.
    public static func issue(
        userID: UUID,
        hash: Data,
        family: UUID?,
        expiresAt: Date,
        absoluteExpiresAt: Date,
        on database: Database
    ) async throws(StorageError) -> RefreshTokenRecord {
        try checkHash(hash)
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                INSERT INTO refresh_tokens (hash, family, user_id, expires_at, absolute_expires_at)
                VALUES (\(hash), coalesce(\(family), gen_random_uuid()), \(userID), least(\(expiresAt), \(absoluteExpiresAt)), \(absoluteExpiresAt))
                RETURNING \(unescaped: columns)
                """
            )
            guard let token = try await decode(rows).first else { throw StorageError.database(sqlState: nil) }
            return token
        }
    }

    /// Rotates in one transaction (joining the caller's, if any) under `SELECT … FOR UPDATE`: the presented token is
    /// marked used and its successor stored; a token presented a second time revokes its whole family.
    public static func rotate(
        presentedHash: Data, newHash: Data, newExpiresAt: Date, on database: Database
    ) async throws(StorageError) -> RefreshTokenRotation {
        try Self.checkHash(presentedHash)
        try Self.checkHash(newHash)
        return try await database.transaction { transaction in
            try await Self.rotateLocked(presentedHash: presentedHash, newHash: newHash, newExpiresAt: newExpiresAt, on: transaction)
        }

    }

    private static func rotateLocked(
        presentedHash: Data,
        newHash: Data,
        newExpiresAt: Date,
        on database: Database
    ) async throws -> RefreshTokenRotation {
        // FOR UPDATE: a concurrent rotation of the same token waits here, then reads the row as the winner left it
        // (used), so exactly one caller gets past the checks below. A disabled account's tokens count as revoked even
        // if one was issued after the account was disabled.
        let rows = try await database.query(
            """
            SELECT t.id, t.family, t.user_id, t.used_at IS NOT NULL,
                   t.revoked_at IS NOT NULL OR u.disabled_at IS NOT NULL,
                   t.expires_at <= now() OR t.absolute_expires_at <= now()
            FROM refresh_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.hash = \(presentedHash)
            FOR UPDATE OF t
            """
        )
        var found: (id: UUID, family: UUID, userID: UUID, used: Bool, revoked: Bool, expired: Bool)?
        for try await row in rows.decode((UUID, UUID, UUID, Bool, Bool, Bool).self) {
            found = row
        }
        guard let token = found else { return .unknown }
        var logger = database.logger
        logger[metadataKey: "user.id"] = "\(token.userID)"
        logger[metadataKey: "auth.token_family"] = "\(token.family)"
        if token.revoked { return .revoked(userID: token.userID) }
        if token.used {
            let revoked = try await revokeFamily(token.family, on: database)
            logger.info("refresh token reused; family revoked", metadata: ["auth.revoked_tokens": "\(revoked)"])
            return .reused(userID: token.userID, family: token.family)
        }
        if token.expired { return .expired(userID: token.userID) }

        let inserted = try await database.query(
            """
            INSERT INTO refresh_tokens (hash, family, user_id, expires_at, absolute_expires_at)
            SELECT \(newHash), family, user_id, least(\(newExpiresAt), absolute_expires_at), absolute_expires_at
            FROM refresh_tokens WHERE id = \(token.id)
            RETURNING \(unescaped: columns)
            """
        )
        guard let successor = try await decode(inserted).first else { throw StorageError.database(sqlState: nil) }
        try await database.query(
            "UPDATE refresh_tokens SET used_at = now(), replaced_by = \(successor.id) WHERE id = \(token.id)"
        ).drain()
        logger.debug("refresh token rotated")
        return .rotated(userID: token.userID, newToken: successor)
    }

    /// The token with this hash, or `nil`.
    public static func find(hash: Data, on database: Database) async throws(StorageError) -> RefreshTokenRecord? {
        try Self.checkHash(hash)
        return try await withStorageErrors {
            try await Self.decode(database.query("SELECT \(unescaped: Self.columns) FROM refresh_tokens WHERE hash = \(hash)"))
                .first
        }
    }

    /// Sets `revoked_at` on the token with this hash unless already set.
    /// - Returns: `true` when a token that was not yet revoked matched.
    @discardableResult
    public static func revoke(hash: Data, on database: Database) async throws(StorageError) -> Bool {
        try Self.checkHash(hash)
        return try await withStorageErrors {
            let rows = try await database.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE hash = \(hash) AND revoked_at IS NULL RETURNING id"
            )
            return try await rows.collect().count == 1
        }
    }

    /// Sets `revoked_at` on every token of the family that has none.
    /// - Returns: How many tokens were revoked.
    @discardableResult
    public static func revokeFamily(_ family: UUID, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE family = \(family) AND revoked_at IS NULL RETURNING id"
            )
            return try await rows.collect().count
        }
    }

    /// Sets `revoked_at` on every token of the presented token's family that has none.
    /// - Returns: How many tokens were revoked (0 for an unknown hash).
    @discardableResult
    public static func revokeFamily(containingHash hash: Data, on database: Database) async throws(StorageError) -> Int {
        try Self.checkHash(hash)
        return try await withStorageErrors {
            let rows = try await database.query(
                """
                UPDATE refresh_tokens SET revoked_at = now()
                WHERE family = (SELECT family FROM refresh_tokens WHERE hash = \(hash)) AND revoked_at IS NULL
                RETURNING id
                """
            )
            return try await rows.collect().count
        }
    }

    /// Revokes every token of a user that is not yet revoked (inside the caller's transaction, to combine it with a
    /// password change).
    /// - Returns: How many tokens were revoked.
    @discardableResult
    public static func revokeAll(userID: UUID, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            let rows = try await database.query(
                "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = \(userID) AND revoked_at IS NULL RETURNING id"
            )
            return try await rows.collect().count
        }
    }

    /// Deletes the tokens whose `expires_at` has passed (by the database's clock).
    /// - Returns: How many rows were deleted.
    @discardableResult
    public static func deleteExpired(on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            // expires_at <= absolute_expires_at (a check constraint), so one indexed condition covers both.
            let rows = try await database.query("DELETE FROM refresh_tokens WHERE expires_at <= now() RETURNING id")
            let count = try await rows.collect().count
            database.logger.debug("expired refresh tokens deleted", metadata: ["auth.deleted_tokens": "\(count)"])
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

extension RefreshTokenRepository {
    /// Records the first token of a new login (a new family).
    public static func issue(
        userID: UUID, hash: Data, expiresAt: Date, absoluteExpiresAt: Date, on database: Database
    ) async throws(StorageError) -> RefreshTokenRecord {
        try await issue(userID: userID, hash: hash, family: nil, expiresAt: expiresAt, absoluteExpiresAt: absoluteExpiresAt, on: database)
    }
}
