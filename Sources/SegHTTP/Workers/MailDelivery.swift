import Foundation
import Logging
import SegMail
import SegStorage

/// Delivers the mail outbox, run by segserver's worker and all roles (docs/mail.md).
///
/// Each pass first marks failed the messages whose attempt never ended (a worker stopped between sending and marking:
/// the server may have the message, so it is not sent again by itself), then sends every due message, one at a time:
/// each is claimed (state `sending`, the attempt counted) before the connection opens. A temporary failure (4xx, a
/// refused or broken connection, a timeout, TLS) waits `firstRetry` doubled per attempt, at most `maxRetry`, and is
/// given up after `maxAttempts`; a permanent one (5xx) is given up at once, its reason kept. Without SMTP settings
/// nothing is sent: messages wait, and the server says how many, once an hour.
struct MailDelivery: Sendable {
    /// How often and how long to try.
    struct Policy: Sendable {
        /// Attempts before a temporarily failing message is given up.
        var maxAttempts = 8
        /// The wait after the first failed attempt; it doubles with each.
        var firstRetry: Duration = .seconds(30)
        /// The longest wait between attempts.
        var maxRetry: Duration = .seconds(3600)
        /// An attempt that has not ended after this long was interrupted.
        var interruptedAfter: Duration = .seconds(600)
        /// The pause when nothing is due.
        var pollInterval: Duration = .seconds(2)

        /// The wait after failed attempt `attempt` (1-based).
        func retryDelay(after attempt: Int) -> Duration {
            let seconds = min(Double(maxRetry.components.seconds), Double(firstRetry.components.seconds) * pow(2, Double(max(0, attempt - 1))))
            return .seconds(max(0, seconds))
        }
    }

    /// How one message ended this pass.
    enum Outcome: String, Sendable, Equatable {
        /// Accepted by the server.
        case sent
        /// Failed for now; due again later.
        case retry
        /// Given up (permanent failure or out of attempts).
        case failed
        /// Found interrupted and marked failed.
        case interrupted
    }

    let client: SMTPClient?
    let from: MailAddress?
    let database: Database
    let metrics: AppMetrics
    let policy: Policy
    let logger: Logger

    /// Runs passes until the task is cancelled.
    func run() async {
        var lastNotice: ContinuousClock.Instant?
        while !Task.isCancelled {
            guard client != nil, from != nil else {
                if lastNotice.map({ ContinuousClock.now - $0 > .seconds(3600) }) ?? true {
                    lastNotice = ContinuousClock.now
                    let waiting = (try? await MailOutboxRepository.depth(on: database).counts[.queued]) ?? 0
                    logger.notice(
                        "mail is not configured (SEG_SMTP_URL, SEG_MAIL_FROM): messages wait in the outbox",
                        metadata: ["mail.queued": "\(waiting)"])
                }
                try? await Task.sleep(for: .seconds(60))
                continue
            }
            var delivered = 0
            do {
                delivered = try await pass().count
            } catch {
                logger.warning("mail delivery pass failed", metadata: ["error": "\(error)"])
            }
            if delivered == 0 { try? await Task.sleep(for: policy.pollInterval) }
        }
    }

    /// One pass: interrupted attempts, then up to `limit` due messages.
    /// - Returns: each message's outcome, in order.
    func pass(limit: Int = 100) async throws -> [(id: UUID, outcome: Outcome)] {
        var outcomes: [(UUID, Outcome)] = []
        let seconds = Double(policy.interruptedAfter.components.seconds)
        for record in try await MailOutboxRepository.recoverInterrupted(olderThan: seconds, on: database) {
            logger.error(
                "mail delivery was interrupted: not sent again by itself",
                metadata: ["mail.id": "\(record.id)", "mail.template": "\(record.mail.template)", "mail.attempts": "\(record.attempts)"])
            metrics.recordMail(template: record.mail.template, result: Outcome.interrupted.rawValue)
            outcomes.append((record.id, .interrupted))
        }
        while outcomes.count < limit, !Task.isCancelled, let record = try await MailOutboxRepository.claimNext(on: database) {
            outcomes.append((record.id, await deliver(record)))
        }
        return outcomes
    }

    /// Sends one claimed message and marks how it ended.
    func deliver(_ record: MailRecord) async -> Outcome {
        let outcome: Outcome
        let reason: String?
        do {
            guard let client, let from else { throw MailError.temporary("mail is not configured") }
            let message = try MailMessage(
                from: from, to: MailAddress(record.mail.recipient), subject: record.mail.subject, text: record.mail.text,
                html: record.mail.html)
            let reply = try await client.send(message, messageID: record.mail.messageID, date: Date(), logger: logger)
            try await MailOutboxRepository.markSent(id: record.id, reply: reply, on: database)
            (outcome, reason) = (.sent, nil)
        } catch let error as MailError where error.isTemporary && record.attempts < policy.maxAttempts {
            let delay = policy.retryDelay(after: record.attempts)
            (outcome, reason) = (.retry, error.description)
            await mark {
                try await MailOutboxRepository.markRetry(
                    id: record.id, error: error.description, after: Double(delay.components.seconds), on: database)
            }
        } catch let error as MailError {
            let text = error.isTemporary ? "\(error.description) (given up after \(record.attempts) attempts)" : error.description
            (outcome, reason) = (.failed, text)
            await mark { try await MailOutboxRepository.markFailed(id: record.id, error: text, on: database) }
        } catch {
            // The database could not record the success: the message stays `sending` and is found interrupted later.
            (outcome, reason) = (.sent, "delivered, but not recorded: \(error)")
        }
        metrics.recordMail(template: record.mail.template, result: outcome.rawValue)
        var metadata: Logger.Metadata = [
            "mail.id": "\(record.id)", "mail.template": "\(record.mail.template)", "mail.attempt": "\(record.attempts)",
            "mail.result": "\(outcome.rawValue)",
        ]
        if let reason { metadata["error"] = "\(reason)" }
        if outcome == .failed { logger.error("mail given up", metadata: metadata) } else { logger.info("mail delivery", metadata: metadata) }
        return outcome
    }

    private func mark(_ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.warning("mail: the outcome of an attempt could not be recorded", metadata: ["error": "\(error)"])
        }
    }
}

extension AppMetrics {
    /// Counts one delivery attempt of a `template` message by its result (`sent`, `retry`, `failed`, `interrupted`).
    func recordMail(template: String, result: String) {
        registry.makeCounter(
            descriptor: .init(metricName: "seghub_mail_sent", unitName: "total", helpText: "Mail delivery attempts by template and result"),
            labels: [("template", template), ("result", result)]
        ).increment()
    }
}
