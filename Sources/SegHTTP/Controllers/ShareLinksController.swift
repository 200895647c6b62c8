import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegStorage

/// Share links: the owner creates (`POST /api/v1/projects/:id/share-links`), lists (`GET …`, never with tokens) and
/// revokes (`DELETE …/share-links/:linkId`) them; any signed-in user accepts one (`POST /api/v1/share-links/:token/accept`)
/// and becomes a member with the link's role.
///
/// Tokens are 32 random bytes (`sl_` + base64url), shown once, stored only as their SHA-256. A link is single use and
/// expires; accepting never lowers a role the user already has. An unknown, malformed, used, expired or revoked token
/// gets one and the same answer, 404 `SHARE_LINK_INVALID`, so a guesser learns nothing about which tokens existed.
struct ShareLinksController {
    let services: AppServices

    /// The longest a link may stay valid, in hours (30 days).
    static let maximumHours = 720.0
    /// How long a link stays valid when the request does not say (7 days).
    static let defaultHours = 168.0

    struct CreateRequest: Decodable {
        var role: String
        var expiresInHours: Double?
        /// An address to mail the link to (a link is single use: one address per link).
        var email: String?
    }

    /// A new link with its token (the only time the token is shown), and the address it was mailed to, if any.
    struct CreatedBody: ResponseEncodable {
        var id: UUID
        var token: String
        var role: String
        var expiresAt: Date
        var createdAt: Date
        var mailedTo: String?
    }

    /// A link as the owner's list shows it: no token, and its state (`active`, `used`, `expired`).
    struct LinkBody: ResponseEncodable {
        var id: UUID
        var role: String
        var state: String
        var expiresAt: Date
        var createdAt: Date
        var createdBy: UUID?
        var usedAt: Date?
        var usedBy: UUID?

        init(_ record: ShareLinkRecord) {
            id = record.id
            role = record.role.rawValue
            state = record.state.rawValue
            expiresAt = record.expiresAt
            createdAt = record.createdAt
            createdBy = record.createdBy
            usedAt = record.usedAt
            usedBy = record.usedBy
        }

        enum CodingKeys: String, CodingKey {
            case id, role, state, expiresAt, createdAt, createdBy, usedAt, usedBy
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(role, forKey: .role)
            try container.encode(state, forKey: .state)
            try container.encode(expiresAt, forKey: .expiresAt)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(createdBy, forKey: .createdBy)
            try container.encode(usedAt, forKey: .usedAt)
            try container.encode(usedBy, forKey: .usedBy)
        }
    }

    /// The membership an accepted link gave.
    struct AcceptedBody: ResponseEncodable {
        var projectId: UUID
        var userId: UUID
        var role: String
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/projects/:id/share-links") { request, context in
            EditedResponse(status: .created, response: try await create(request, context))
        }
        routes.add(.get, "/api/v1/projects/:id/share-links") { request, context in try await list(request, context) }
        routes.add(.delete, "/api/v1/projects/:id/share-links/:linkId") { _, context in try await revoke(context) }
        routes.add(.post, "/api/v1/share-links/:token/accept") { _, context in try await accept(context) }
    }

    func create(_ request: Request, _ context: AppRequestContext) async throws -> CreatedBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: projectID, for: identity, on: services.database(context.logger))
        let body = try await ProjectsController.decodeBody(request, as: CreateRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        let role = ProjectRole(rawValue: body.role)
        if role == nil || role == .owner {
            errors.append(.init(field: "role", detail: "must be editor or viewer"))
        }
        let hours = body.expiresInHours ?? Self.defaultHours
        if !(hours.isFinite && hours > 0 && hours <= Self.maximumHours) {
            errors.append(.init(field: "expiresInHours", detail: "must be above 0 and at most \(Int(Self.maximumHours))"))
        }
        var recipient: String?
        if let email = body.email {
            recipient = MembersController.validAddress(email)
            if recipient == nil { errors.append(.init(field: "email", detail: "not a valid address")) }
        }
        guard errors.isEmpty, let role else { throw Problem.validation("the share link is not valid", errors: errors) }
        let (token, hash) = Self.makeToken()
        let database = services.database(context.logger)
        let expiresAt = Date().addingTimeInterval(hours * 3600)
        var message: OutgoingMail?
        if let recipient {
            message = try await shareMail(
                to: recipient, token: token, role: role, hours: hours, projectID: projectID, by: identity, logger: context.logger)
        }
        // The link and its message in one transaction: a link that was to be mailed exists only if its message is queued.
        let link = try await database.transaction { tx in
            let link = try await ShareLinkRepository.create(
                projectID: projectID, tokenHash: hash, role: role, expiresAt: expiresAt, createdBy: identity.userID, on: tx)
            if let message { _ = try await MailOutboxRepository.enqueue(message, on: tx) }
            return link
        }
        var details = ["linkId": link.id.uuidString.lowercased(), "role": role.rawValue]
        details["mailedTo"] = recipient
        await services.recordAudit(
            "share_link.create", by: identity, targetType: "project", targetID: projectID, details: details, logger: context.logger)
        return CreatedBody(
            id: link.id, token: token, role: link.role.rawValue, expiresAt: link.expiresAt, createdAt: link.createdAt, mailedTo: recipient)
    }

    /// The message that carries a new link to `recipient`: `SEG_PUBLIC_URL/#/share/<token>`, which the web UI accepts
    /// after sign-in (or sign-up).
    private func shareMail(
        to recipient: String, token: String, role: ProjectRole, hours: Double, projectID: UUID, by identity: Identity, logger: Logger
    ) async throws -> OutgoingMail {
        var values = try await services.sharingValues(
            to: recipient, role: role, projectID: projectID, by: identity, on: services.database(logger))
        let days = hours / 24
        values["link"] = "\(services.configuration.linkBase)/#/share/\(token)"
        values["validity"] = days >= 1 && days == days.rounded() ? "\(Int(days)) day(s)" : "\(Int(hours.rounded(.up))) hour(s)"
        return try services.mail("share-link", to: recipient, values)
    }

    func list(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<LinkBody> {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: projectID, for: identity, on: services.database(context.logger))
        return PageBody(
            try await ShareLinkRepository.list(projectID: projectID, page: try request.pageRequest(), on: services.database(context.logger)),
            LinkBody.init)
    }

    func revoke(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: projectID, for: identity, on: services.database(context.logger))
        let linkID = try context.pathID("linkId", naming: "share link")
        do {
            try await ShareLinkRepository.revoke(id: linkID, projectID: projectID, on: services.database(context.logger))
        } catch {
            if case .notFound = error { throw Problem.notFound("share link") }
            throw error
        }
        await services.recordAudit(
            "share_link.revoke", by: identity, targetType: "project", targetID: projectID,
            details: ["linkId": linkID.uuidString.lowercased()], logger: context.logger)
        return .noContent
    }

    func accept(_ context: AppRequestContext) async throws -> AcceptedBody {
        let identity = try context.requireIdentity()
        guard let token = context.parameters.get("token"), Self.isWellFormed(token) else { throw Self.invalid }
        let outcome = try await ShareLinkRepository.accept(
            tokenHash: Self.hash(token), userID: identity.userID, on: services.database(context.logger))
        guard case .accepted(let projectID, let role) = outcome else { throw Self.invalid }
        await services.recordAudit(
            "share_link.accept", by: identity, targetType: "project", targetID: projectID,
            details: ["userId": identity.userID.uuidString.lowercased(), "role": role.rawValue], logger: context.logger)
        return AcceptedBody(projectId: projectID, userId: identity.userID, role: role.rawValue)
    }

    /// 404 for every token that cannot be accepted, whatever the reason.
    static let invalid = Problem(
        .notFound, code: "SHARE_LINK_INVALID", detail: "this share link is not valid: it may have been used, revoked or have expired")

    // MARK: - Tokens

    /// A new token and the SHA-256 to store.
    static func makeToken() -> (token: String, hash: Data) {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 32)
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let token =
            "sl_"
            + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (token, hash(token))
    }

    /// The stored form of a token.
    static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }

    /// Whether `token` has the shape `makeToken()` gives (`sl_` and 43 base64url characters).
    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == 46 && token.hasPrefix("sl_")
            && token.utf8.dropFirst(3).allSatisfy { byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2D
                    || byte == 0x5F
            }
    }
}
