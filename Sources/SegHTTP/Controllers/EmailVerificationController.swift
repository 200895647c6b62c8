import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegAuth
import SegStorage

/// `POST /api/v1/auth/verify-email` and `…/resend`: confirming an account's address (docs/mail.md).
///
/// A sign-up is mailed a single-use link (its token stored as a SHA-256, valid 24 hours). Following it marks the address
/// verified and turns the address's pending invitations into memberships; an unknown, used or expired token gets one
/// answer, 400 `VERIFICATION_TOKEN_INVALID`. Asking for a new link answers 202 whatever the address, and mails one only
/// to an enabled account that still has to confirm, at most once a minute per account (and the auth rate limit per
/// client, `SEG_RATE_AUTH`).
struct EmailVerificationController {
    let services: AppServices

    /// How long a verification link works.
    static let validity: Double = 24 * 3600
    /// At most one new link per account in this many seconds.
    static let throttle: Double = 60

    struct VerifyRequest: Decodable {
        var token: String
    }

    struct ResendRequest: Decodable {
        var email: String
    }

    struct Accepted: ResponseEncodable {
        var status = "accepted"
        var detail = "if an account with this address still has to confirm it, a message with a new link is on its way"
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/auth/verify-email", authenticated: false) { request, context in try await verify(request, context) }
        routes.add(.post, "/api/v1/auth/verify-email/resend", authenticated: false) { request, context in
            EditedResponse(status: .accepted, response: try await resend(request, context))
        }
    }

    func verify(_ request: Request, _ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let body = try await JSONBody.decode(VerifyRequest.self, from: request, context: context.limitingBody(to: AuthController.bodyLimit))
        guard RefreshTokens.isWellFormed(body.token) else { throw Self.invalidToken }
        let registration = try await services.database(context.logger).transaction { tx -> Registration? in
            guard let userID = try await AccountTokenRepository.consume(purpose: .verifyEmail, hash: Data(RefreshTokens.hash(body.token)), on: tx)
            else { return nil }
            return try await UserRepository.markEmailVerified(id: userID, on: tx)
        }
        guard let registration else { throw Self.invalidToken }
        let user = registration.user
        await services.recordAudit("user.email.verify", actorID: user.id, targetType: "user", targetID: user.id, details: [:], logger: context.logger)
        await services.recordActivations(registration.activated, by: user, logger: context.logger)
        return .noContent
    }

    func resend(_ request: Request, _ context: AppRequestContext) async throws -> Accepted {
        let body = try await JSONBody.decode(ResendRequest.self, from: request, context: context.limitingBody(to: AuthController.bodyLimit))
        let email = try AuthController.validEmail(body.email)
        let database = services.database(context.logger)
        guard let user = try await UserRepository.find(email: email, on: database), !user.isDisabled, !user.isEmailVerified else {
            return Accepted()
        }
        let token = RefreshTokens.make()
        let message = try services.mail(
            "verify-email", to: user.email,
            ["email": user.email, "link": services.mailLink("/verify-email", token: token.token), "hours": "24"])
        try await services.mailToken(
            token, to: user.id, purpose: .verifyEmail, validFor: Self.validity, throttle: Self.throttle, message: message, on: database)
        return Accepted()
    }

    /// 400: the token is unknown, used or expired (one answer for all).
    static let invalidToken = Problem(
        .badRequest, code: "VERIFICATION_TOKEN_INVALID",
        detail: "the confirmation link is unknown, used or expired: sign in or ask for a new one")
}
