import Foundation
import SegStorage

/// The mail templates in the package resources (`Resources/mail/NAME.txt` and `NAME.html`): the text file's first line
/// is `Subject: …`; `{{key}}` placeholders are replaced, HTML-escaped in the HTML part. An unknown placeholder or a
/// missing value is an error (never a message with a hole in it).
enum MailTemplates {
    /// A rendered message.
    struct Rendered: Sendable, Equatable {
        var subject: String
        var text: String
        var html: String
    }

    /// Why a template cannot be rendered.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Renders template `name` with `values`.
    static func render(_ name: String, _ values: [String: String]) throws -> Rendered {
        guard let textURL = Bundle.module.url(forResource: name, withExtension: "txt", subdirectory: "mail"),
            let htmlURL = Bundle.module.url(forResource: name, withExtension: "html", subdirectory: "mail")
        else { throw Failure(description: "no mail template \(name)") }
        let text = try String(contentsOf: textURL, encoding: .utf8)
        let html = try String(contentsOf: htmlURL, encoding: .utf8)
        guard text.hasPrefix("Subject: "), let newline = text.firstIndex(of: "\n") else {
            throw Failure(description: "the mail template \(name).txt does not start with a Subject: line")
        }
        let subject = String(text[text.index(text.startIndex, offsetBy: 9)..<newline])
        return Rendered(
            subject: try fill(subject, values, escape: false), text: try fill(String(text[text.index(after: newline)...]), values, escape: false),
            html: try fill(html, values, escape: true))
    }

    /// Replaces every `{{key}}`.
    static func fill(_ template: String, _ values: [String: String], escape: Bool) throws -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest.range(of: "}}", range: open.upperBound..<rest.endIndex) else {
                throw Failure(description: "an unclosed {{ in a mail template")
            }
            let key = String(rest[open.upperBound..<close.lowerBound]).trimmingCharacters(in: .whitespaces)
            guard let value = values[key] else { throw Failure(description: "the mail template needs a value for {{\(key)}}") }
            out += escape ? htmlEscaped(value) : value
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    static func htmlEscaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension AppServices {
    /// The outbox row for template `name` rendered with `values` (plus `product`) to `recipient`, with a fresh
    /// Message-ID: what a controller enqueues in the transaction of the change that causes the message.
    func mail(_ name: String, to recipient: String, _ values: [String: String]) throws -> OutgoingMail {
        var values = values
        values["product"] = "SegHub"
        let message = try MailTemplates.render(name, values)
        return OutgoingMail(
            template: name, recipient: recipient, subject: message.subject, text: message.text, html: message.html,
            messageID: configuration.newMessageID())
    }

    /// Stores `token` (its hash) for `userID` and queues `message`, in one transaction, unless a token of `purpose` was
    /// issued to the account in the last `throttle` seconds (`AccountTokenRepository.issueUnlessRecent`): the mailed
    /// links of password reset, address confirmation and the sign-up notice to a taken address.
    /// - Returns: Whether the message was queued.
    @discardableResult
    func mailToken(
        _ token: (token: String, hash: [UInt8]), to userID: UUID, purpose: AccountTokenPurpose, validFor seconds: Double, throttle: Double,
        message: OutgoingMail, on database: Database
    ) async throws -> Bool {
        try await database.transaction { tx in
            guard
                try await AccountTokenRepository.issueUnlessRecent(
                    userID: userID, purpose: purpose, hash: Data(token.hash), validFor: seconds, throttle: throttle, on: tx)
            else { return false }
            _ = try await MailOutboxRepository.enqueue(message, on: tx)
            return true
        }
    }

    /// The values every sharing message names (`email`, `project`, `role`, `inviter`: the caller's name and address):
    /// invitations, "added" notices and mailed share links.
    func sharingValues(
        to email: String, role: ProjectRole, projectID: UUID, by identity: Identity, on database: Database
    ) async throws
        -> [String: String]
    {
        guard let project = try await ProjectRepository.find(id: projectID, on: database) else { throw Problem.notFound("project") }
        let sender = try await UserRepository.get(id: identity.userID, on: database)
        return [
            "email": email, "project": project.name, "role": role.rawValue,
            "inviter": sender.name.isEmpty ? sender.email : "\(sender.name) (\(sender.email))",
        ]
    }

    /// A link into the web UI for mail: `SEG_PUBLIC_URL` (or this server) + `path`, with `token` as its query.
    func mailLink(_ path: String, token: String) -> String {
        "\(configuration.linkBase)\(path)?token=\(token)"
    }
}
