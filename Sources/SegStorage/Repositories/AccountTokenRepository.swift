import Foundation
import Logging
import PostgresNIO

/// What an account token is for.
public enum AccountTokenPurpose: String, Sendable, Equatable, CaseIterable {
    /// Choosing a new password (valid 1 hour).
    case passwordReset = "password-reset"
    /// Confirming the account's address (valid 24 hours).
    case verifyEmail = "verify-email"
}

/// Single-use tokens mailed to an account's address (`account_tokens`): only their SHA-256 is stored (32 bytes, else
/// `.invalidArgument`), expiry is judged by the database's clock, and ``consume(purpose:hash:on:)`` uses one at most
/// once however many present it at the same moment. Every method throws `StorageError` only.
public enum AccountTokenRepository {
    /// Stores a token for `userID`, valid `seconds`.
    public static func issue(
        userID: UUID, purpose: AccountTokenPurpose, hash: Data, validFor seconds: Double, on database: Database
    ) async throws(StorageError) {
        try RefreshTokenRepository.checkHash(hash)
        try await withStorageErrors {
            _ = try await database.query(
                """
                INSERT INTO account_tokens (user_id, purpose, token_hash, expires_at)
                VALUES (\(userID), \(purpose.rawValue), \(hash), now() + make_interval(secs => \(seconds)))
                """
            ).collect()
        }
    }

    /// Stores a token as ``issue(userID:purpose:hash:validFor:on:)`` does, unless one of `purpose` was issued to `userID`
    /// in the last `throttle` seconds; concurrent calls for one account are serialised (a transaction-level advisory
    /// lock), so two requests at the same moment cannot both pass the check.
    /// - Returns: whether the token was stored.
    public static func issueUnlessRecent(
        userID: UUID, purpose: AccountTokenPurpose, hash: Data, validFor seconds: Double, throttle: Double, on database: Database
    ) async throws(StorageError) -> Bool {
        try RefreshTokenRepository.checkHash(hash)
        return try await database.transaction { tx in
            _ = try await tx.query("SELECT pg_advisory_xact_lock(hashtext('account-token:' || \(userID.uuidString)))").collect()
            let recent = try await tx.query(
                """
                SELECT 1 FROM account_tokens WHERE user_id = \(userID) AND purpose = \(purpose.rawValue)
                    AND created_at > now() - make_interval(secs => \(throttle)) LIMIT 1
                """
            ).collect()
            guard recent.isEmpty else { return false }
            try await issue(userID: userID, purpose: purpose, hash: hash, validFor: seconds, on: tx)
            return true
        }
    }

    /// Uses the token: its account when it is of `purpose`, unused and unexpired (it is then used), else nil. The
    /// account's other unused tokens of the same purpose are used up too (one reset ends every pending one).
    public static func consume(purpose: AccountTokenPurpose, hash: Data, on database: Database) async throws(StorageError) -> UUID? {
        guard hash.count == 32 else { return nil }
        return try await withStorageErrors {
            var user: UUID?
            for try await id in try await database.query(
                """
                WITH used AS (
                    UPDATE account_tokens SET used_at = now()
                    WHERE token_hash = \(hash) AND purpose = \(purpose.rawValue) AND used_at IS NULL AND expires_at > now()
                    RETURNING user_id
                ), others AS (
                    UPDATE account_tokens SET used_at = now()
                    WHERE user_id IN (SELECT user_id FROM used) AND purpose = \(purpose.rawValue) AND used_at IS NULL
                        AND token_hash <> \(hash)
                )
                SELECT user_id FROM used
                """
            ).decode(UUID.self) {
                user = id
            }
            return user
        }
    }
}
