import Foundation
import Logging
import PostgresNIO

/// The mail outbox (`mail_outbox`): messages written in the transaction of the change that causes them, delivered by a
/// worker one at a time.
///
/// A delivery is recorded before it is sent: ``claimNext(on:)`` moves one due message to `sending` and counts the
/// attempt in one statement (`FOR UPDATE SKIP LOCKED`, so workers never take the same row), and the worker then marks
/// the outcome: ``markSent(id:reply:on:)``, ``markRetry(id:error:after:on:)`` or ``markFailed(id:error:on:)``. A
/// worker that stops in between leaves the row `sending`; ``recoverInterrupted(olderThan:on:)`` marks such rows failed
/// instead of sending them again, since the server may have accepted the message (an operator can retry one). Times are
/// the database's. Every method throws `StorageError` only.
///
/// ## Usage
/// ```swift
/// try await database.transaction { tx in
///     let user = try await UserRepository.register(…, on: tx)
///     _ = try await MailOutboxRepository.enqueue(mail, on: tx)     // written with the account, or not at all
/// }
/// if let message = try await MailOutboxRepository.claimNext(on: database) { … }
/// ```
public enum MailOutboxRepository {
    /// Writes a message, due now.
    /// - Throws: `.invalidArgument` for a template name or recipient the table refuses;
    ///   `.conflict(constraint: "mail_outbox_message_id_key")` for a reused Message-ID.
    public static func enqueue(_ mail: OutgoingMail, on database: Database) async throws(StorageError) -> MailRecord {
        do throws(StorageError) {
            return try await withStorageErrors {
                let rows = try await database.query(
                    """
                    INSERT INTO mail_outbox (template, recipient, subject, body_text, body_html, message_id)
                    VALUES (\(mail.template), \(mail.recipient), \(mail.subject), \(mail.text), \(mail.html), \(mail.messageID))
                    RETURNING \(unescaped: Self.columns)
                    """
                )
                guard let record = try await Self.decode(rows).first else { throw StorageError.database(sqlState: nil) }
                database.logger.debug("mail queued", metadata: ["mail.id": "\(record.id)", "mail.template": "\(mail.template)"])
                return record
            }
        } catch .constraintViolation(let constraint) {
            throw .invalidArgument("the outbox refuses this message (\(constraint))")
        }
    }

    /// Takes the oldest due queued message: it becomes `sending` with one more attempt, in one statement that commits
    /// before anything is sent. Nil when nothing is due.
    public static func claimNext(on database: Database) async throws(StorageError) -> MailRecord? {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, sending_since = now()
                WHERE id = (
                    SELECT id FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at, created_at FOR UPDATE SKIP LOCKED LIMIT 1)
                RETURNING \(unescaped: Self.columns)
                """
            )
            return try await Self.decode(rows).first
        }
    }

    /// The attempt delivered the message.
    /// - Returns: false when the row was not `sending` (an operator changed it meanwhile).
    @discardableResult
    public static func markSent(id: UUID, reply: String, on database: Database) async throws(StorageError) -> Bool {
        try await withStorageErrors {
            try await database.query(
                """
                UPDATE mail_outbox SET state = 'sent', sending_since = NULL, sent_at = now(), last_error = NULL,
                    server_reply = \(String(reply.prefix(1000)))
                WHERE id = \(id) AND state = 'sending' RETURNING id
                """
            ).collect().count == 1
        }
    }

    /// The attempt failed in a way another may not: the message waits `seconds` for its next attempt.
    @discardableResult
    public static func markRetry(id: UUID, error: String, after seconds: Double, on database: Database) async throws(StorageError) -> Bool {
        try await withStorageErrors {
            try await database.query(
                """
                UPDATE mail_outbox SET state = 'queued', sending_since = NULL, last_error = \(String(error.prefix(2000))),
                    next_attempt_at = now() + make_interval(secs => \(seconds))
                WHERE id = \(id) AND state = 'sending' RETURNING id
                """
            ).collect().count == 1
        }
    }

    /// The message is given up, with the reason.
    @discardableResult
    public static func markFailed(id: UUID, error: String, on database: Database) async throws(StorageError) -> Bool {
        try await withStorageErrors {
            try await database.query(
                """
                UPDATE mail_outbox SET state = 'failed', sending_since = NULL, last_error = \(String(error.prefix(2000)))
                WHERE id = \(id) AND state = 'sending' RETURNING id
                """
            ).collect().count == 1
        }
    }

    /// Marks failed every message whose attempt started more than `seconds` ago and never ended (its worker stopped):
    /// it may have been delivered, so it is not sent again by itself.
    /// - Returns: the messages so marked.
    public static func recoverInterrupted(olderThan seconds: Double, on database: Database) async throws(StorageError) -> [MailRecord] {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                UPDATE mail_outbox SET state = 'failed', sending_since = NULL,
                    last_error = 'delivery was interrupted (the worker stopped mid-attempt): the server may have accepted it, '
                        || 'so it is not sent again by itself; segctl mail retry sends it'
                WHERE state = 'sending' AND sending_since < now() - make_interval(secs => \(seconds))
                RETURNING \(unescaped: Self.columns)
                """
            )
            return try await Self.decode(rows)
        }
    }

    /// Puts a failed message back in the queue, due now (its attempts are kept).
    /// - Throws: `.notFound(entity: "mail", id:)` when there is no failed message with this id.
    public static func retry(id: UUID, on database: Database) async throws(StorageError) {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                UPDATE mail_outbox SET state = 'queued', next_attempt_at = now()
                WHERE id = \(id) AND state = 'failed' RETURNING id
                """
            )
            guard try await rows.collect().count == 1 else { throw StorageError.notFound(entity: "failed mail", id: id.uuidString) }
        }
    }

    /// Deletes sent messages older than `days` days.
    /// - Returns: how many were deleted.
    public static func purgeSent(olderThanDays days: Int, on database: Database) async throws(StorageError) -> Int {
        try await withStorageErrors {
            try await database.query(
                "DELETE FROM mail_outbox WHERE state = 'sent' AND sent_at < now() - make_interval(days => \(days)::int) RETURNING id"
            ).collect().count
        }
    }

    /// The newest messages, optionally of one state, at most `limit`.
    public static func list(state: MailState?, limit: Int, on database: Database) async throws(StorageError) -> [MailRecord] {
        try await withStorageErrors {
            let rows = try await database.query(
                """
                SELECT \(unescaped: Self.columns) FROM mail_outbox
                WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue)
                ORDER BY created_at DESC, id DESC LIMIT \(max(1, limit))
                """
            )
            return try await Self.decode(rows)
        }
    }

    /// How many messages are in each state (every state present, 0 when none), and the age in seconds of the oldest
    /// queued one that is due (0 when none).
    public static func depth(on database: Database) async throws(StorageError) -> (counts: [MailState: Int], oldestDueSeconds: Double) {
        try await withStorageErrors {
            var counts = Dictionary(uniqueKeysWithValues: MailState.allCases.map { ($0, 0) })
            for try await (state, count) in try await database.query("SELECT state, count(*)::bigint FROM mail_outbox GROUP BY state")
                .decode((String, Int64).self)
            {
                if let state = MailState(rawValue: state) { counts[state] = Int(count) }
            }
            var oldest = 0.0
            for try await age in try await database.query(
                """
                SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(next_attempt_at)), 0)::float8 FROM mail_outbox
                WHERE state = 'queued' AND next_attempt_at <= now()
                """
            ).decode(Double.self) {
                oldest = age
            }
            return (counts, oldest)
        }
    }

    static let columns = """
        id, template, recipient, subject, body_text, body_html, message_id, state, attempts, next_attempt_at, sending_since,
        last_error, server_reply, sent_at, created_at
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [MailRecord] {
        var records: [MailRecord] = []
        for try await row in rows {
            let r = try row.decode(
                (UUID, String, String, String, String, String?, String, String, Int32, Date, Date?, String?, String?, Date?, Date).self)
            guard let state = MailState(rawValue: r.7) else { throw StorageError.database(sqlState: nil) }
            records.append(
                MailRecord(
                    id: r.0,
                    mail: OutgoingMail(template: r.1, recipient: r.2, subject: r.3, text: r.4, html: r.5, messageID: r.6),
                    state: state, attempts: Int(r.8), nextAttemptAt: r.9, sendingSince: r.10, lastError: r.11, serverReply: r.12,
                    sentAt: r.13, createdAt: r.14))
        }
        return records
    }
}
