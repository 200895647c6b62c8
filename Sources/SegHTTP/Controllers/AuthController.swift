import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegAuth
import SegStorage

/// `/api/v1/auth`: register, login, refresh, logout, me, password.
///
/// Login never reveals whether an email is registered: an unknown email runs a dummy bcrypt and gets the same
/// answer as a wrong password. Refresh tokens rotate on every use; a reused one revokes its family.
struct AuthController {
    let services: AppServices
    /// The largest body of an account route (email, name, passwords, a refresh token): 16 KiB, so that nobody can
    /// make the unauthenticated routes hold megabytes per connection.
    static let bodyLimit = 16 << 10

    static let refreshLifetime: TimeInterval = 7 * 24 * 3600
    static let rememberedRefreshLifetime: TimeInterval = 30 * 24 * 3600

    struct RegisterRequest: Decodable {
        var email: String
        var password: String
        var name: String?
        /// The token of an invitation mailed to `email` (`/invitations?token=…`): it proves the address, so the account
        /// starts verified and joins the invitation's project at once.
        var invitationToken: String?
    }

    /// What a sign-up answers: a session (201), or, when addresses must be confirmed first, 202 with this body, the
    /// same whether the address was new or already had an account (which is then mailed instead).
    enum Registered {
        case session(SessionBody)
        case confirmationSent(ConfirmationSentBody)
    }

    /// 202 to a sign-up while `SEG_REQUIRE_EMAIL_VERIFICATION` is on.
    struct ConfirmationSentBody: ResponseEncodable {
        var status = "confirmation_sent"
        var email: String
        var detail = "check your mailbox: follow the link in the message we sent to confirm the address, then sign in"
    }

    struct LoginRequest: Decodable {
        var email: String
        var password: String
        var rememberMe: Bool?
    }

    struct RefreshRequest: Decodable {
        var refreshToken: String
    }

    struct PasswordRequest: Decodable {
        var currentPassword: String
        var newPassword: String
    }

    struct UserBody: ResponseEncodable {
        var id: UUID
        var email: String
        var name: String
        var role: String
        var mustChangePassword: Bool
        var emailVerified: Bool
        var createdAt: Date

        init(_ user: UserRecord) {
            id = user.id
            email = user.email
            name = user.name
            role = user.role.rawValue
            mustChangePassword = user.mustChangePassword
            emailVerified = user.isEmailVerified
            createdAt = user.createdAt
        }
    }

    struct SessionBody: ResponseEncodable {
        var user: UserBody
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
        /// Whether the session was opened with "remember me" (not encoded: it sets the refresh cookie's lifetime).
        var remembered = false

        enum CodingKeys: String, CodingKey {
            case user, accessToken, refreshToken, expiresIn
        }
    }

    struct TokensBody: ResponseEncodable {
        var accessToken: String
        var refreshToken: String
        var expiresIn: Int
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.post, "/api/v1/auth/register", authenticated: false) { request, context in
            switch try await register(request, context) {
            case .session(let session):
                return try answer(session, status: .created, request, context)
            case .confirmationSent(let body):
                return try EditedResponse(status: .accepted, response: body).response(from: request, context: context)
            }
        }
        routes.add(.post, "/api/v1/auth/login", authenticated: false) { request, context in
            try answer(try await login(request, context), status: .ok, request, context)
        }
        routes.add(.post, "/api/v1/auth/refresh", authenticated: false) { request, context in try await refreshAnswer(request, context) }
        routes.add(.post, "/api/v1/auth/logout", authenticated: false) { request, context in try await logoutAnswer(request, context) }
        routes.add(.get, "/api/v1/auth/me") { _, context in try await me(context) }
        routes.add(.post, "/api/v1/auth/password") { request, context in try await changePassword(request, context) }
    }

    /// Creates an account (docs/mail.md, "Address verification").
    ///
    /// A sign-up with a valid invitation token for its address starts verified and joins the invitation's project. Any
    /// other starts unverified: the account, its verification token and the message with the link are written in one
    /// transaction. While `SEG_REQUIRE_EMAIL_VERIFICATION` is on, such a sign-up answers 202 without a session, and an
    /// address that already has an account answers the same: its owner is mailed instead (with a password reset link),
    /// so the route does not tell who has an account. Without the setting, a taken address is 409 `EMAIL_TAKEN` as
    /// before (a sign-up that opens a session at once cannot hide that).
    func register(_ request: Request, _ context: AppRequestContext) async throws -> Registered {
        let body = try await JSONBody.decode(RegisterRequest.self, from: request, context: context.limitingBody(to: Self.bodyLimit))
        let email = try Self.validEmail(body.email)
        let name = (body.name ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard name.count <= 200 else {
            throw Problem.validation("name is too long", errors: [.init(field: "name", detail: "at most 200 characters")])
        }
        let database = services.database(context.logger)
        var invited = false
        if let token = body.invitationToken {
            let invitation = try await InvitationsController.mailedInvitation(token, on: database)
            guard invitation.invitation.email.lowercased() == email.lowercased() else { throw InvitationsController.otherAddress }
            invited = true
        }
        let hash = try await services.passwords.hash(body.password)
        let verification = RefreshTokens.make()
        let message = try services.mail(
            "verify-email", to: email,
            ["email": email, "link": services.mailLink("/verify-email", token: verification.token), "hours": "24"])
        let confirmFirst = services.configuration.requireEmailVerification && !invited
        // The account, the memberships a proven address was invited to, or else its verification token and message:
        // one transaction.
        let created = await Self.result { () async throws(StorageError) -> Registration in
            try await database.transaction { tx in
                let registration = try await UserRepository.register(
                    NewUser(email: email, name: name, passwordHash: hash, emailVerified: invited), on: tx)
                if !invited {
                    try await AccountTokenRepository.issue(
                        userID: registration.user.id, purpose: .verifyEmail, hash: Data(verification.hash),
                        validFor: EmailVerificationController.validity, on: tx)
                    _ = try await MailOutboxRepository.enqueue(message, on: tx)
                }
                return registration
            }
        }
        let registration: Registration
        switch created {
        case .success(let made):
            registration = made
        case .failure(.conflict(constraint: "users_email_lower_key")) where confirmFirst:
            await mailTakenAddress(email, logger: context.logger)
            return .confirmationSent(ConfirmationSentBody(email: email))
        case .failure(let error):
            throw error
        }
        let user = registration.user
        await services.recordAudit(
            "user.register", actorID: user.id, targetType: "user", targetID: user.id, details: invited ? ["verifiedBy": "invitation"] : [:],
            logger: context.logger)
        await services.recordActivations(registration.activated, by: user, logger: context.logger)
        if confirmFirst { return .confirmationSent(ConfirmationSentBody(email: email)) }
        return .session(try await session(for: user, remember: false, on: database))
    }

    /// The outcome of `body` as a value (a typed `catch` with a pattern crashes this compiler in async code).
    private static func result<Value>(_ body: () async throws(StorageError) -> Value) async -> Result<Value, StorageError> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    /// Someone signed up with an address that has an account, while sign-ups must confirm their address: the answer was
    /// the same as for a new address, and the account's owner is told by mail, with a link to choose a new password in
    /// case that was them (at most one such message a minute, as for a password reset). Failures are logged only: the
    /// answer must not differ.
    private func mailTakenAddress(_ email: String, logger: Logger) async {
        do {
            let database = services.database(logger)
            guard let user = try await UserRepository.find(email: email, on: database), !user.isDisabled else { return }
            let reset = RefreshTokens.make()
            let message = try services.mail(
                "account-exists", to: user.email,
                ["email": user.email, "link": services.mailLink("/reset-password", token: reset.token), "signin": services.configuration.linkBase])
            try await services.mailToken(
                reset, to: user.id, purpose: .passwordReset, validFor: PasswordResetController.validity,
                throttle: PasswordResetController.throttle, message: message, on: database)
        } catch {
            logger.error("the sign-up notice to an existing account was not queued", metadata: ["error": "\(error)"])
        }
    }

    func login(_ request: Request, _ context: AppRequestContext) async throws -> SessionBody {
        let body = try await JSONBody.decode(LoginRequest.self, from: request, context: context.limitingBody(to: Self.bodyLimit))
        let email = body.email.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let user = email.utf8.count <= 254 ? try await UserRepository.find(email: email, on: services.database(context.logger)) : nil else {
            try await services.passwords.verifyDummy(body.password)
            throw AuthError.invalidCredentials
        }
        guard try await services.passwords.verify(body.password, against: user.passwordHash), !user.isDisabled else {
            throw AuthError.invalidCredentials
        }
        // Only after the password was checked: an unknown address and a wrong password still look alike.
        try requireVerifiedAddress(user)
        await activateLeftInvitations(of: user, logger: context.logger)
        return try await session(for: user, remember: body.rememberMe ?? false, on: services.database(context.logger))
    }

    /// While `SEG_REQUIRE_EMAIL_VERIFICATION` is on, an account that has not confirmed its address gets no session:
    /// 403 `EMAIL_NOT_VERIFIED`.
    private func requireVerifiedAddress(_ user: UserRecord) throws {
        guard services.configuration.requireEmailVerification, !user.isEmailVerified else { return }
        throw Problem(
            .forbidden, code: "EMAIL_NOT_VERIFIED",
            detail: "confirm your address first: follow the link in the message we sent, or ask for a new one")
    }

    /// Activates invitations left for a verified account that was created without activating them: by an older release
    /// during a blue-green switch, which does not know invitations. Only after the password was checked, so that
    /// it changes nothing about how an unknown address and a wrong password look. A failure is logged and does not
    /// stop the login; the next one tries again.
    private func activateLeftInvitations(of user: UserRecord, logger: Logger) async {
        guard user.isEmailVerified else { return }
        do {
            let activated = try await ProjectInvitationRepository.activate(forUserID: user.id, email: user.email, on: services.database(logger))
            await services.recordActivations(activated, by: user, logger: logger)
        } catch {
            logger.warning("invitations not activated", metadata: ["user.id": "\(user.id)", "error": "\(error)"])
        }
    }

    func refresh(_ request: Request, _ context: AppRequestContext) async throws -> TokensBody {
        let body = try await JSONBody.decode(RefreshRequest.self, from: request, context: context.limitingBody(to: Self.bodyLimit))
        return try await rotate(body.refreshToken, context)
    }

    /// Rotates a presented refresh token.
    private func rotate(_ presented: String, _ context: AppRequestContext) async throws -> TokensBody {
        let body = RefreshRequest(refreshToken: presented)
        guard RefreshTokens.isWellFormed(body.refreshToken) else { throw AuthError.invalidRefreshToken }
        let next = RefreshTokens.make()
        let rotation = try await RefreshTokenRepository.rotate(
            presentedHash: Data(RefreshTokens.hash(body.refreshToken)), newHash: Data(next.hash),
            newExpiresAt: Date().addingTimeInterval(Self.rememberedRefreshLifetime), on: services.database(context.logger))
        switch rotation {
        case .rotated(let userID, let token):
            guard let user = try await UserRepository.find(id: userID, on: services.database(context.logger)), !user.isDisabled else {
                throw AuthError.invalidRefreshToken
            }
            try requireVerifiedAddress(user)
            let access = try await services.tokens.issue(userID: user.id, role: user.role.rawValue, session: token.family)
            return TokensBody(accessToken: access.token, refreshToken: next.token, expiresIn: access.expiresIn)
        case .reused(let userID, _):
            context.logger.warning("refresh token reused; its family was revoked", metadata: ["user.id": "\(userID)"])
            throw AuthError.refreshTokenReused
        case .expired, .revoked, .unknown:
            throw AuthError.invalidRefreshToken
        }
    }

    func logout(_ request: Request, _ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let body = try await JSONBody.decode(RefreshRequest.self, from: request, context: context.limitingBody(to: Self.bodyLimit))
        if RefreshTokens.isWellFormed(body.refreshToken) {
            _ = try await RefreshTokenRepository.revokeFamily(
                containingHash: Data(RefreshTokens.hash(body.refreshToken)), on: services.database(context.logger))
        }
        // Unknown tokens get the same answer: logout reveals nothing.
        return .noContent
    }

    /// Cookie mode's session answer: the user and the access token's lifetime, the tokens only as cookies.
    struct CookieSessionBody: ResponseEncodable {
        var user: UserBody
        var expiresIn: Int
    }

    /// Cookie mode's refresh answer.
    struct CookieTokensBody: ResponseEncodable {
        var expiresIn: Int
    }

    /// Encodes a new session: in the body, or with `X-Auth-Mode: cookie` as cookies (`WebSession`).
    func answer(_ session: SessionBody, status: HTTPResponse.Status, _ request: Request, _ context: AppRequestContext) throws -> Response {
        guard WebSession.wantsCookies(request) else {
            var response = try session.response(from: request, context: context)
            response.status = status
            return response
        }
        var response = try CookieSessionBody(user: session.user, expiresIn: session.expiresIn).response(from: request, context: context)
        response.status = status
        WebSession.setCookies(
            on: &response, request: request, accessToken: session.accessToken, accessLifetime: session.expiresIn,
            refreshToken: session.refreshToken, refreshLifetime: Int(refreshLifetime(remember: session.remembered)))
        return response
    }

    /// The refresh token a cookie-mode request presents: from the `seg_refresh` cookie, with the CSRF header checked.
    private func cookieRefreshToken(_ request: Request) throws -> String {
        try WebSession.checkCSRF(request)
        guard let token = request.cookies[WebSession.refreshCookie]?.value, !token.isEmpty else { throw AuthError.invalidRefreshToken }
        return token
    }

    func refreshAnswer(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard WebSession.wantsCookies(request) else { return try await refresh(request, context).response(from: request, context: context) }
        let tokens = try await rotate(try cookieRefreshToken(request), context)
        var response = try CookieTokensBody(expiresIn: tokens.expiresIn).response(from: request, context: context)
        WebSession.setCookies(
            on: &response, request: request, accessToken: tokens.accessToken, accessLifetime: tokens.expiresIn, refreshToken: tokens.refreshToken,
            refreshLifetime: Int(Self.rememberedRefreshLifetime))
        return response
    }

    func logoutAnswer(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        guard WebSession.wantsCookies(request) else { return Response(status: try await logout(request, context)) }
        // Without a refresh cookie there is nothing to revoke; the cookies are cleared all the same.
        try WebSession.checkCSRF(request)
        let token = request.cookies[WebSession.refreshCookie]?.value ?? ""
        if RefreshTokens.isWellFormed(token) {
            _ = try await RefreshTokenRepository.revokeFamily(containingHash: Data(RefreshTokens.hash(token)), on: services.database(context.logger))
        }
        var response = Response(status: .noContent)
        WebSession.clearCookies(on: &response, request: request)
        return response
    }

    private func refreshLifetime(remember: Bool) -> TimeInterval {
        remember ? Self.rememberedRefreshLifetime : Self.refreshLifetime
    }

    func me(_ context: AppRequestContext) async throws -> UserBody {
        let identity = try context.requireIdentity()
        return UserBody(try await UserRepository.get(id: identity.userID, on: services.database(context.logger)))
    }

    func changePassword(_ request: Request, _ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(PasswordRequest.self, from: request, context: context.limitingBody(to: Self.bodyLimit))
        let user = try await UserRepository.get(id: identity.userID, on: services.database(context.logger))
        guard try await services.passwords.verify(body.currentPassword, against: user.passwordHash) else {
            throw Problem(.forbidden, code: "INVALID_CURRENT_PASSWORD", detail: "the current password is wrong")
        }
        let hash = try await services.passwords.hash(body.newPassword)
        // Also revokes every refresh token and access tokens issued before now, in one transaction.
        _ = try await UserRepository.setPasswordHash(
            id: user.id, passwordHash: hash, mustChangePassword: false, on: services.database(context.logger))
        _ = try? await AuditLogRepository.record(
            actorID: user.id, action: "user.password.change", targetType: "user", targetID: user.id, details: Array("{}".utf8),
            on: services.database(context.logger))
        return .noContent
    }

    private func session(for user: UserRecord, remember: Bool, on database: Database) async throws -> SessionBody {
        let lifetime = remember ? Self.rememberedRefreshLifetime : Self.refreshLifetime
        let expires = Date().addingTimeInterval(lifetime)
        let refresh = RefreshTokens.make()
        let token = try await RefreshTokenRepository.issue(
            userID: user.id, hash: Data(refresh.hash), family: nil, expiresAt: expires, absoluteExpiresAt: expires, on: database)
        let access = try await services.tokens.issue(userID: user.id, role: user.role.rawValue, session: token.family)
        return SessionBody(
            user: UserBody(user), accessToken: access.token, refreshToken: refresh.token, expiresIn: access.expiresIn, remembered: remember)
    }

    /// Trims and checks an email's shape (one `@`, a dot in the domain, no spaces, at most 254 bytes).
    static func validEmail(_ text: String) throws -> String {
        let email = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: { $0.isWhitespace || $0.isNewline })
        else {
            throw Problem.validation("email is not a valid address", errors: [.init(field: "email", detail: "not a valid address")])
        }
        return email
    }
}

extension AppServices {
    /// An audit entry `invitation.activate` by `user` on each project an invitation made it a member of.
    func recordActivations(_ invitations: [ProjectInvitationRecord], by user: UserRecord, logger: Logger) async {
        for invitation in invitations {
            var details = ["invitationId": invitation.id.uuidString.lowercased(), "userId": user.id.uuidString.lowercased()]
            details["role"] = invitation.role.rawValue
            details["invitedBy"] = invitation.invitedBy?.uuidString.lowercased()
            await recordAudit(
                "invitation.activate", actorID: user.id, targetType: "project", targetID: invitation.projectID, details: details, logger: logger)
        }
    }
}
