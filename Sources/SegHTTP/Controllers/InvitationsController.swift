import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegAuth
import SegStorage

/// The page behind an invitation mail's link (`/invitations?token=…`, docs/members.md).
///
/// `POST /api/v1/invitations/preview` shows, to whoever holds the token, what it invites to (project, role, inviter,
/// the invited address); `POST /api/v1/invitations/accept` lets a signed-in account whose address is the invited one
/// accept it: the token reached that mailbox, so the address counts as verified and every pending invitation of it
/// becomes a membership. A sign-up can present the token too (`invitationToken` of `POST /api/v1/auth/register`).
/// An unknown, replaced, expired, revoked or activated token gets one answer, 404 `INVITATION_INVALID`.
struct InvitationsController {
    let services: AppServices

    /// How long the link in an invitation mail works (the invitation itself stays pending until revoked).
    static let validity: Double = 14 * 24 * 3600
    /// Inviting one address to one project again mails it at most this often.
    static let mailThrottle: Double = 600

    struct TokenRequest: Decodable {
        var token: String
    }

    /// What an invitation offers.
    struct PreviewBody: ResponseEncodable {
        var email: String
        var projectId: UUID
        var projectName: String
        var role: String
        var invitedByName: String?
        var invitedByEmail: String?
    }

    /// The membership an accepted invitation gave.
    struct AcceptedBody: ResponseEncodable {
        var projectId: UUID
        var role: String
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/invitations/preview", authenticated: false) { request, context in try await preview(request, context) }
        routes.add(.post, "/api/v1/invitations/accept") { request, context in try await accept(request, context) }
    }

    func preview(_ request: Request, _ context: AppRequestContext) async throws -> PreviewBody {
        let body = try await JSONBody.decode(TokenRequest.self, from: request, context: context.limitingBody(to: AuthController.bodyLimit))
        let found = try await Self.mailedInvitation(body.token, on: services.database(context.logger))
        return PreviewBody(
            email: found.invitation.email, projectId: found.invitation.projectID, projectName: found.projectName,
            role: found.invitation.role.rawValue, invitedByName: found.inviterName, invitedByEmail: found.inviterEmail)
    }

    func accept(_ request: Request, _ context: AppRequestContext) async throws -> AcceptedBody {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(TokenRequest.self, from: request, context: context.limitingBody(to: AuthController.bodyLimit))
        let database = services.database(context.logger)
        let found = try await Self.mailedInvitation(body.token, on: database)
        let user = try await UserRepository.get(id: identity.userID, on: database)
        guard user.email.lowercased() == found.invitation.email.lowercased() else { throw Self.otherAddress }
        let registration = try await UserRepository.markEmailVerified(id: user.id, on: database)
        if !user.isEmailVerified {
            await services.recordAudit(
                "user.email.verify", actorID: user.id, targetType: "user", targetID: user.id, details: ["verifiedBy": "invitation"],
                logger: context.logger)
        }
        await services.recordActivations(registration.activated, by: registration.user, logger: context.logger)
        // Activation never lowers a role the account has; the answer is the role it has now.
        let role = try await ProjectMemberRepository.role(projectID: found.invitation.projectID, userID: user.id, on: database)
        return AcceptedBody(projectId: found.invitation.projectID, role: (role ?? found.invitation.role).rawValue)
    }

    /// The pending invitation the token of a mail names.
    /// - Throws: 404 `INVITATION_INVALID` when there is none (malformed, unknown, replaced, expired, revoked or used).
    static func mailedInvitation(_ token: String, on database: Database) async throws -> MailedInvitation {
        guard RefreshTokens.isWellFormed(token),
            let found = try await ProjectInvitationRepository.find(tokenHash: Data(RefreshTokens.hash(token)), on: database)
        else { throw invalid }
        return found
    }

    /// 404 for every token that does not name a pending invitation, whatever the reason.
    static let invalid = Problem(
        .notFound, code: "INVITATION_INVALID",
        detail: "this invitation is not valid: it may have been accepted, revoked or replaced by a newer one, or have expired")

    /// 403: the signed-in account (or the sign-up) has another address than the invited one.
    static let otherAddress = Problem(
        .forbidden, code: "INVITATION_OTHER_ADDRESS",
        detail: "this invitation is for another address: sign in (or sign up) with the address it was sent to")
}
