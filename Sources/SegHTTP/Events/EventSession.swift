import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import SegAuth
import SegStorage

/// One event socket's state: who it is authenticated as, until when, and what it answers to each message.
///
/// A socket starts unauthenticated. Its first message must be `{"type": "auth", "token": "<access JWT>"}` (or the
/// upgrade request carried a token, see `EventsController.upgradeToken(from:)`), within `authTimeout`. Any other
/// first message, a bad token, or no message in time is answered with an `error` message and closes the socket.
/// After `ready`, the socket receives events until the token expires; an `auth` message with a fresh token of the same
/// user extends it. Messages are rate limited (a token bucket of `burst` refilled at `perSecond`).
actor EventSession {
    private let services: AppServices
    private let hub: EventHub
    private let monitor: DatabaseMonitor?
    private let outbox: EventOutbox
    private let channel: any Channel
    private let logger: Logger
    private let authTimeout: Duration
    /// The per-account cap (`nil`: none).
    private let limits: EventSocketLimits?
    private var userID: UUID?
    private var subscription: Int?
    /// The latest expiry and issue time of the tokens presented.
    private var expiresAt: Date?
    private var issuedAt: Date?
    /// The session of the latest token presented (its `sid`), whose end (logout, a replayed refresh token) ends the
    /// socket too.
    private var sessionID: UUID?
    private var watcher: Task<Void, Never>?
    private var ended = false
    private var tokens: Double
    private var refilled = ContinuousClock.now
    private let burst = 20.0
    private let perSecond = 2.0

    init(
        services: AppServices, hub: EventHub, monitor: DatabaseMonitor?, outbox: EventOutbox, channel: any Channel, authTimeout: Duration,
        limits: EventSocketLimits? = nil, logger: Logger
    ) {
        self.services = services
        self.hub = hub
        self.monitor = monitor
        self.outbox = outbox
        self.channel = channel
        self.authTimeout = authTimeout
        self.limits = limits
        self.logger = logger
        self.tokens = burst
    }

    /// Starts the authentication deadline.
    func start() {
        let timeout = authTimeout
        watch { try? await Task.sleep(for: timeout) }
    }

    /// Handles one message from the client.
    func handle(_ message: WebSocketMessage) async {
        guard !outbox.isClosing, !ended else { return }
        guard takeToken() else {
            fail("RATE_LIMITED", "too many messages; at most \(Int(perSecond)) a second", close: EventCloseCode.rateLimited)
            return
        }
        guard case .text(let text) = message, let inbound = try? JSONDecoder().decode(EventMessage.Inbound.self, from: Data(text.utf8))
        else {
            fail("BAD_MESSAGE", #"messages are JSON objects such as {"type": "auth", "token": "…"}"#, close: EventCloseCode.badMessage)
            return
        }
        switch inbound.type {
        case "auth":
            guard let token = inbound.token, !token.isEmpty else {
                fail("BAD_MESSAGE", "an auth message needs a token", close: EventCloseCode.badMessage)
                return
            }
            await authenticate(token: token)
        case _ where userID == nil:
            fail("UNAUTHENTICATED", #"send {"type": "auth", "token": "<access token>"} first"#, close: EventCloseCode.unauthorized)
        case "ping":
            outbox.send(EventMessage.text(EventMessage.Pong()))
        default:
            outbox.send(EventMessage.text(EventMessage.Failure(code: "UNKNOWN_MESSAGE", detail: "unknown message type \(inbound.type.prefix(64))")))
        }
    }

    /// Authenticates (or extends the authentication of) the socket with an access token.
    func authenticate(token: String) async {
        if let monitor, !monitor.isUp {
            fail("SERVICE_UNAVAILABLE", "the database is unavailable; try again shortly", close: EventCloseCode.unavailable)
            return
        }
        let identity: Identity
        let claims: AccessClaims
        do {
            let verified = try await services.authenticate(accessToken: token, on: services.database(logger))
            identity = verified.identity
            claims = verified.claims
        } catch let error as AuthError {
            fail(error == .tokenExpired ? "TOKEN_EXPIRED" : "INVALID_TOKEN", "\(error)", close: EventCloseCode.unauthorized)
            return
        } catch let problem as Problem {
            fail(problem.code, problem.detail, close: EventCloseCode.unauthorized)
            return
        } catch {
            logger.notice("event socket authentication failed", metadata: ["error": "\(error)"])
            fail("SERVICE_UNAVAILABLE", "the database is unavailable; try again shortly", close: EventCloseCode.unavailable)
            return
        }
        guard !ended, !outbox.isClosing else { return }
        if let userID, userID != identity.userID {
            fail("USER_MISMATCH", "a socket stays with the user it first authenticated as", close: EventCloseCode.unauthorized)
            return
        }
        let expiry = claims.exp.value
        guard expiry > Date() else {
            fail("TOKEN_EXPIRED", "the access token has expired", close: EventCloseCode.unauthorized)
            return
        }
        let until = max(expiresAt ?? expiry, expiry)
        expiresAt = until
        issuedAt = max(issuedAt ?? claims.iat.value, claims.iat.value)
        sessionID = claims.sessionID
        let ready = EventMessage.text(EventMessage.Ready(userId: identity.userID, expiresAt: EventMessage.timestamp(until)))
        if subscription == nil {
            userID = identity.userID
            // The hub queues `ready` itself, so no event can come before it and none after it is missed.
            guard
                let id = await hub.subscribe(
                    userID: identity.userID, outbox: outbox, session: self, greeting: ready, limit: limits?.perUser ?? .max)
            else {
                userID = nil
                let limit = limits?.perUser ?? 0
                fail(
                    "TOO_MANY_SOCKETS", "this account has \(limit) event sockets open already (SEG_EVENTS_MAX_PER_USER)",
                    close: EventCloseCode.rateLimited)
                return
            }
            subscription = id
            logger.debug("event socket authenticated", metadata: ["user.id": "\(identity.userID)"])
        } else {
            outbox.send(ready)
        }
        watch { try? await Task.sleep(for: .seconds(max(0, until.timeIntervalSinceNow))) }
    }

    /// Re-checks the account after it changed (disabled, tokens revoked by a password change, a session ended by a
    /// logout or a replayed refresh token).
    func revalidate() async {
        guard let userID, let issuedAt, !ended else { return }
        do {
            guard let (user, sessionLive) = try await UserRepository.find(id: userID, session: sessionID, on: services.database(logger)),
                !user.isDisabled, sessionLive, AppServices.issued(issuedAt, after: user.tokensValidAfter)
            else {
                fail("TOKEN_REVOKED", "the access token was revoked; please sign in again", close: EventCloseCode.unauthorized)
                return
            }
        } catch {
            logger.notice("cannot re-check an event socket's account", metadata: ["error": "\(error)"])
        }
    }

    /// The hub dropped this socket because it fell too far behind; its outbox already holds the close frame. A client
    /// that does not read at all never takes that frame either, so the connection is cut after a grace period.
    func overflowed() async {
        subscription = nil
        logger.notice("event socket closed: the client fell too far behind")
        let channel = channel
        Task {
            try? await Task.sleep(for: .seconds(10))
            channel.close(promise: nil)
        }
    }

    /// Stops the timers and the subscription; called once the socket is closed.
    func end() async {
        ended = true
        watcher?.cancel()
        watcher = nil
        if let subscription {
            await hub.unsubscribe(subscription)
            self.subscription = nil
        }
    }

    // MARK: Helpers

    /// Replaces the deadline watcher: after `sleep`, the authentication or the token's expiry is checked.
    private func watch(_ sleep: @escaping @Sendable () async -> Void) {
        watcher?.cancel()
        watcher = Task {
            await sleep()
            guard !Task.isCancelled else { return }
            self.deadlinePassed()
        }
    }

    private func deadlinePassed() {
        guard !ended, !outbox.isClosing else { return }
        guard userID != nil, let expiresAt else {
            fail("AUTH_TIMEOUT", "no auth message within \(authTimeout.components.seconds) s", close: EventCloseCode.authTimeout)
            return
        }
        let remaining = expiresAt.timeIntervalSinceNow
        if remaining > 0 {
            // Woken early (clock adjustments): wait for the rest.
            watch { try? await Task.sleep(for: .seconds(remaining)) }
            return
        }
        fail("TOKEN_EXPIRED", "the access token has expired; send a fresh one in an auth message", close: EventCloseCode.unauthorized)
    }

    /// Sends an `error` message, then closes the socket with `close`.
    private func fail(_ code: String, _ detail: String, close: WebSocketErrorCode) {
        outbox.send(EventMessage.text(EventMessage.Failure(code: code, detail: detail)))
        outbox.close(close, reason: code)
    }

    private func takeToken() -> Bool {
        let now = ContinuousClock.now
        let elapsed = now - refilled
        refilled = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        tokens = min(burst, tokens + seconds * perSecond)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
