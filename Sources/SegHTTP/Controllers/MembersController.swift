import Foundation
import HTTPTypes
import Hummingbird
import SegAuth
import SegStorage

/// `/api/v1/projects/:id/members`: list the members, add one or change a role, remove one or leave; and
/// `/api/v1/projects/:id/invitations/:invitationId`: revoke a pending invitation.
///
/// Any member lists; only the owner adds, changes roles, removes others and revokes invitations; any member but the
/// owner may leave. The owner's own membership never changes here (ownership is transferred, not edited): 409
/// `OWNER_ROLE_FIXED`, `OWNER_CANNOT_LEAVE`.
///
/// Adding answers the same whether or not the address has an account, so that the call does not tell an owner which
/// addresses have accounts (issue 15, point 9; what the member list still shows: docs/decisions.md): an account becomes
/// a member at once, an address without one (or whose account has not confirmed it) gets a pending invitation that
/// becomes a membership when an account proves the address. Both take the same path through the database
/// (`ProjectMemberRepository.addOrInvite`), both write one message in the same transaction (a new member is told it
/// was added; an invitee is mailed a link to `/invitations?token=…`, at most once in `InvitationsController.mailThrottle`
/// per project and address), and both answer 201 with the address and role the request gave. The owner's member list
/// shows a pending invitee by address only (no name, no user id).
struct MembersController {
    let services: AppServices

    /// The most members and pending invitations a project may have: bounds what one owner can make the database hold
    /// with addresses nobody uses. Role changes of existing ones are never refused.
    static let maximumEntries = 1_000

    struct AddRequest: Decodable {
        var email: String
        var role: String
    }

    /// What adding answers, whether the address has an account or not: the address as the request gave it (trimmed)
    /// and the role. Nothing in it comes from the database, so nothing in it tells the two apart.
    struct AddedBody: ResponseEncodable {
        var email: String
        var role: String
    }

    /// A row of the member list: a member, or (for the owner) a pending invitation, told apart by `pending`.
    enum EntryBody: ResponseEncodable {
        /// `{userId, email, name, role, createdAt, pending: false}`.
        case member(ProjectMemberRecord)
        /// `{invitationId, email, role, createdAt, pending: true}`: the address only.
        case invitation(ProjectInvitationRecord)

        init(_ entry: ProjectMemberEntry) {
            switch entry {
            case .member(let member): self = .member(member)
            case .invitation(let invitation): self = .invitation(invitation)
            }
        }

        enum CodingKeys: String, CodingKey {
            case userId, invitationId, email, name, role, createdAt, pending
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            switch self {
            case .member(let member):
                try container.encode(member.userID, forKey: .userId)
                try container.encode(member.email, forKey: .email)
                try container.encode(member.name, forKey: .name)
                try container.encode(member.role.rawValue, forKey: .role)
                try container.encode(member.createdAt, forKey: .createdAt)
                try container.encode(false, forKey: .pending)
            case .invitation(let invitation):
                try container.encode(invitation.id, forKey: .invitationId)
                try container.encode(invitation.email, forKey: .email)
                try container.encode(invitation.role.rawValue, forKey: .role)
                try container.encode(invitation.createdAt, forKey: .createdAt)
                try container.encode(true, forKey: .pending)
            }
        }
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/api/v1/projects/:id/members") { request, context in try await list(request, context) }
        routes.add(.post, "/api/v1/projects/:id/members") { request, context in
            EditedResponse(status: .created, response: try await add(request, context))
        }
        routes.add(.delete, "/api/v1/projects/:id/members/:userId") { _, context in try await remove(context) }
        routes.add(.delete, "/api/v1/projects/:id/invitations/:invitationId") { _, context in try await revokeInvitation(context) }
    }

    /// Members in the order they joined; the owner also sees the pending invitations, in the order they were made.
    func list(_ request: Request, _ context: AppRequestContext) async throws -> PageBody<EntryBody> {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        let myRole = try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        let page = try request.pageRequest()
        return PageBody(
            try await ProjectMemberRepository.list(
                projectID: projectID, includingInvitations: myRole == .owner, page: page, on: services.database(context.logger)),
            EntryBody.init)
    }

    /// Adds the account with `email` as editor or viewer (or changes a member's role), or invites the address when no
    /// account has it (or changes its invitation's role): 201 with the same body either way.
    func add(_ request: Request, _ context: AppRequestContext) async throws -> AddedBody {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: projectID, for: identity, on: services.database(context.logger))
        let body = try await ProjectsController.decodeBody(request, as: AddRequest.self, context: context)
        var errors: [Problem.FieldError] = []
        let email = Self.validAddress(body.email)
        if email == nil {
            errors.append(.init(field: "email", detail: "not a valid address"))
        }
        let role = ProjectRole(rawValue: body.role)
        if role == nil || role == .owner {
            errors.append(.init(field: "role", detail: "must be editor or viewer"))
        }
        guard errors.isEmpty, let email, let role else { throw Problem.validation("the member is not valid", errors: errors) }
        let database = services.database(context.logger)
        // Both messages are rendered before the transaction, whichever is sent: the two cases do the same work.
        let mails = try await memberMails(to: email, role: role, projectID: projectID, by: identity, on: database)
        let addition = try await database.transaction { tx -> MemberAddition in
            let addition = try await ProjectMemberRepository.addOrInvite(
                email: email, role: role, projectID: projectID, invitedBy: identity.userID, limit: Self.maximumEntries, on: tx)
            switch addition {
            case .invited(let invitation, _):
                if try await ProjectInvitationRepository.attachMailToken(
                    id: invitation.id, hash: Data(mails.token.hash), validFor: InvitationsController.validity,
                    throttle: InvitationsController.mailThrottle, on: tx)
                {
                    _ = try await MailOutboxRepository.enqueue(mails.invitation, on: tx)
                }
            case .member(_, previousRole: nil):
                _ = try await MailOutboxRepository.enqueue(mails.added, on: tx)
            case .member, .owner, .limitReached:
                break
            }
            return addition
        }
        switch addition {
        case .owner:
            // The caller is the owner: the one membership that only a transfer of ownership changes.
            throw Self.ownerIsFixed
        case .limitReached:
            throw Self.limitReached
        case .member(let member, let previous):
            if previous == nil {
                await services.recordAudit(
                    "member.add", by: identity, targetType: "project", targetID: projectID,
                    details: ["userId": member.userID.uuidString.lowercased(), "role": role.rawValue], logger: context.logger)
            } else if let previous, previous != role {
                await services.recordAudit(
                    "member.role", by: identity, targetType: "project", targetID: projectID,
                    details: ["userId": member.userID.uuidString.lowercased(), "from": previous.rawValue, "to": role.rawValue],
                    logger: context.logger)
            }
        case .invited(let invitation, let previous):
            if previous == nil {
                await services.recordAudit(
                    "invitation.create", by: identity, targetType: "project", targetID: projectID,
                    details: ["invitationId": invitation.id.uuidString.lowercased(), "email": invitation.email, "role": role.rawValue],
                    logger: context.logger)
            } else if let previous, previous != role {
                await services.recordAudit(
                    "invitation.role", by: identity, targetType: "project", targetID: projectID,
                    details: ["invitationId": invitation.id.uuidString.lowercased(), "from": previous.rawValue, "to": role.rawValue],
                    logger: context.logger)
            }
        }
        return AddedBody(email: email, role: role.rawValue)
    }

    /// The two messages adding `email` may send: the invitation (with a new token for its link) and the notice to an
    /// account that it was added.
    private func memberMails(
        to email: String, role: ProjectRole, projectID: UUID, by identity: Identity, on database: Database
    ) async throws -> (token: (token: String, hash: [UInt8]), invitation: OutgoingMail, added: OutgoingMail) {
        let values = try await services.sharingValues(to: email, role: role, projectID: projectID, by: identity, on: database)
        let token = RefreshTokens.make()
        var invitationValues = values
        invitationValues["link"] = services.mailLink("/invitations", token: token.token)
        invitationValues["days"] = "\(Int(InvitationsController.validity / 86400))"
        var addedValues = values
        addedValues["link"] = "\(services.configuration.linkBase)/#/projects/\(projectID.uuidString.lowercased())"
        return (
            token, try services.mail("invitation", to: email, invitationValues), try services.mail("member-added", to: email, addedValues)
        )
    }

    /// The owner revokes a pending invitation: the address no longer joins when it signs up.
    func revokeInvitation(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        try await services.requireRole(.owner, in: projectID, for: identity, on: services.database(context.logger))
        let invitationID = try context.pathID("invitationId", naming: "invitation")
        let revoked = try await ProjectInvitationRepository.revoke(id: invitationID, projectID: projectID, on: services.database(context.logger))
        await services.recordAudit(
            "invitation.revoke", by: identity, targetType: "project", targetID: projectID,
            details: ["invitationId": invitationID.uuidString.lowercased(), "email": revoked.email, "role": revoked.role.rawValue],
            logger: context.logger)
        return .noContent
    }

    /// Trims `text` and checks the shape of an address: at most 254 bytes, an `@` with something on either side, no
    /// white space. Looser than registration's (`AuthController.validEmail`) so that every account `segctl users create`
    /// can make can be added; the same rule whether or not the address has an account.
    static func validAddress(_ text: String) -> String? {
        let email = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard email.utf8.count <= 254, let at = email.firstIndex(of: "@"), at != email.startIndex, email.index(after: at) != email.endIndex,
            !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else { return nil }
        return email
    }

    /// The owner removes any member but themself; any other member may remove themself (leave).
    func remove(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let projectID = try context.pathID(naming: "project")
        let myRole = try await services.requireRole(.viewer, in: projectID, for: identity, on: services.database(context.logger))
        let userID = try context.pathID("userId", naming: "project member")
        let leaving = userID == identity.userID
        if leaving {
            guard myRole != .owner else { throw Self.ownerCannotLeave }
        } else {
            guard myRole == .owner else { throw Problem.forbidden("only the project's owner may remove other members") }
        }
        do {
            try await ProjectMemberRepository.remove(projectID: projectID, userID: userID, on: services.database(context.logger))
        } catch {
            if case .invalidArgument = error { throw Self.ownerCannotLeave }
            throw error
        }
        await services.recordAudit(
            "member.remove", by: identity, targetType: "project", targetID: projectID,
            details: ["userId": userID.uuidString.lowercased(), "left": leaving ? "true" : "false"], logger: context.logger)
        return .noContent
    }

    /// 409: the owner cannot leave or be removed; ownership has to be transferred first.
    static let ownerCannotLeave = Problem(
        .conflict, code: "OWNER_CANNOT_LEAVE", detail: "the owner cannot leave or be removed; transfer the ownership first")

    /// 409: the owner's role is not set through the member list.
    static let ownerIsFixed = Problem(
        .conflict, code: "OWNER_ROLE_FIXED", detail: "the owner's role cannot be changed; transfer the ownership instead")

    /// 409: the project has `maximumEntries` members and pending invitations; the same for an address with an account
    /// and one without.
    static let limitReached = Problem(
        .conflict, code: "MEMBER_LIMIT_REACHED",
        detail: "the project has \(maximumEntries) members and pending invitations; remove some before adding more")
}
