import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegAuth
import SegStorage

/// `POST /api/v1/auth/password-reset` and `…/confirm`: a password reset by mail (docs/mail.md).
///
/// The request answers 202 whatever the address: for an active account it writes a single-use token (its SHA-256
/// only, valid an hour) and the message with the link in one transaction, at most once a minute per account; for any
/// other address it does nothing. Confirming with the token sets the new password and ends every session of the
/// account, and confirms the account's address (the link reached its mailbox); an unknown, used or expired token gets
/// one answer, 400 `RESET_TOKEN_INVALID`.
struct PasswordResetController {
    let services: AppServices

    /// How long a reset link works.
    static let validity: Double = 3600
    /// At most one reset message per account in this many seconds (more requests answer the same and send nothing).
    static let throttle: Double = 60

    struct ResetRequest: Decodable {
        var email: String
    }

    struct ConfirmRequest: Decodable {
        var token: String
        var password: String
    }

    struct Accepted: ResponseEncodable {
        var status = "accepted"
        var detail = "if an account has this address, a message with a link to choose a new password is on its way"
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/auth/password-reset", authenticated: false) { request, context in
            EditedResponse(status: .accepted, response: try await requestReset(request, context))
        }
        routes.add(.post, "/api/v1/auth/password-reset/confirm", authenticated: false) { request, context in
            try await confirm(request, context)
        }
    }

    func requestReset(_ request: Request, _ context: AppRequestContext) async throws -> Accepted {
        let body = try await JSONBody.decode(ResetRequest.self, from: request, context: context.limitingBody(to: AuthController.bodyLimit))
        let email = try AuthController.validEmail(body.email)
        let database = services.database(context.logger)
        guard let user = try await UserRepository.find(email: email, on: database), user.disabledAt == nil else { return Accepted() }
        let token = RefreshTokens.make()
        let message = try services.mail(
            "password-reset", to: user.email, ["email": user.email, "link": services.mailLink("/reset-password", token: token.token), "hours": "1"])
        let sent = try await services.mailToken(
            token, to: user.id, purpose: .passwordReset, validFor: Self.validity, throttle: Self.throttle, message: message, on: database)
        if sent {
            await services.recordAudit(
                "user.password.reset_requested", actorID: nil, targetType: "user", targetID: user.id, details: [:], logger: context.logger)
        }
        return Accepted()
    }

    func confirm(_ request: Request, _ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let body = try await JSONBody.decode(ConfirmRequest.self, from: request, context: context.limitingBody(to: AuthController.bodyLimit))
        guard RefreshTokens.isWellFormed(body.token) else { throw Self.invalidToken }
        // The hash first (a bad password answers before the token is used up, so it can be tried again).
        let hash = try await services.passwords.hash(body.password)
        let database = services.database(context.logger)
        let registration = try await database.transaction { tx -> Registration? in
            guard let userID = try await AccountTokenRepository.consume(purpose: .passwordReset, hash: Data(RefreshTokens.hash(body.token)), on: tx)
            else { return nil }
            // Also revokes every refresh token and the access tokens issued before now.
            _ = try await UserRepository.setPasswordHash(id: userID, passwordHash: hash, mustChangePassword: false, on: tx)
            // The link reached the account's mailbox: that proves the address as a verification link would.
            return try await UserRepository.markEmailVerified(id: userID, on: tx)
        }
        guard let registration else { throw Self.invalidToken }
        let user = registration.user
        await services.recordAudit(
            "user.password.reset", actorID: user.id, targetType: "user", targetID: user.id, details: [:], logger: context.logger)
        await services.recordActivations(registration.activated, by: user, logger: context.logger)
        return .noContent
    }

    /// 400: the token is unknown, used or expired (one answer for all).
    static let invalidToken = Problem(
        .badRequest, code: "RESET_TOKEN_INVALID", detail: "the reset link is unknown, used or expired: ask for a new one")
}
