import Foundation

/// A message to be written to the outbox.
public struct OutgoingMail: Sendable, Equatable {
    /// The template that made it (`verify-email`, `password-reset`, `invitation`, …).
    public var template: String
    /// The recipient's address.
    public var recipient: String
    /// The subject.
    public var subject: String
    /// The plain-text body.
    public var text: String
    /// The HTML body, if any.
    public var html: String?
    /// The `Message-ID` every attempt carries (`<unique@domain>`).
    public var messageID: String

    /// A message with every field given.
    public init(template: String, recipient: String, subject: String, text: String, html: String?, messageID: String) {
        self.template = template
        self.recipient = recipient
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
    }
}

/// Where a message of the outbox stands.
public enum MailState: String, Sendable, Equatable, CaseIterable, Codable {
    /// Waiting for its next attempt.
    case queued
    /// An attempt has started (and not ended).
    case sending
    /// The server accepted it.
    case sent
    /// Given up: refused for good, out of attempts, or interrupted mid-delivery.
    case failed
}

/// A row of `mail_outbox`.
public struct MailRecord: Sendable, Equatable, Identifiable {
    /// The row's id.
    public var id: UUID
    /// The message.
    public var mail: OutgoingMail
    /// Where it stands.
    public var state: MailState
    /// Attempts started so far.
    public var attempts: Int
    /// When the next attempt is due (queued messages).
    public var nextAttemptAt: Date
    /// When the attempt in progress started (`sending`).
    public var sendingSince: Date?
    /// Why the last attempt did not deliver it.
    public var lastError: String?
    /// The server's answer to the message's data, once sent.
    public var serverReply: String?
    /// When it was sent.
    public var sentAt: Date?
    /// When it was written.
    public var createdAt: Date

    /// A record with every column given.
    public init(
        id: UUID, mail: OutgoingMail, state: MailState, attempts: Int, nextAttemptAt: Date, sendingSince: Date?, lastError: String?,
        serverReply: String?, sentAt: Date?, createdAt: Date
    ) {
        self.id = id
        self.mail = mail
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.sendingSince = sendingSince
        self.lastError = lastError
        self.serverReply = serverReply
        self.sentAt = sentAt
        self.createdAt = createdAt
    }
}
