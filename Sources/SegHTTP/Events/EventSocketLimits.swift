import Foundation
import HTTPTypes
import NIOCore
import Synchronization

/// How many event sockets a client may hold: per address (counted from the upgrade request until the connection
/// closes, authenticated or not) and per account (``EventHub`` counts those); upgrades also take a token from the API's
/// rate limiter. `SEG_EVENTS_MAX_PER_ADDRESS`, `SEG_EVENTS_MAX_PER_USER`.
final class EventSocketLimits: Sendable {
    /// Open sockets per client address at most.
    let perAddress: Int
    /// Authenticated sockets per account at most.
    let perUser: Int
    let clientAddress: ClientAddress
    let limiter: RateLimiter?
    private let open = Mutex<[String: Int]>([:])

    init(perAddress: Int, perUser: Int, clientAddress: ClientAddress, limiter: RateLimiter?) {
        self.perAddress = perAddress
        self.perUser = perUser
        self.clientAddress = clientAddress
        self.limiter = limiter
    }

    /// Admits an upgrade request (its `X-Forwarded-For` values) on `channel`, or answers the 429 to send instead:
    /// `RATE_LIMITED` when the address's rate limit is spent, `TOO_MANY_SOCKETS` when it holds `perAddress` sockets.
    /// An admitted socket counts until its connection closes, whether or not the upgrade completes.
    func admit(forwardedFor: [String], channel: any Channel) -> Problem? {
        let address = clientAddress.resolve(forwardedFor: forwardedFor, peer: channel.remoteAddress?.ipAddress) ?? "unknown"
        if let limiter, let wait = limiter.take("events:\(address)") {
            var headers = HTTPFields()
            headers[.retryAfter] = "\(wait)"
            return Problem(
                .tooManyRequests, code: "RATE_LIMITED", detail: "too many requests from this address; retry in \(wait) s", headers: headers)
        }
        let admitted = open.withLock { counts in
            guard counts[address, default: 0] < perAddress else { return false }
            counts[address, default: 0] += 1
            return true
        }
        guard admitted else {
            return Problem(
                .tooManyRequests, code: "TOO_MANY_SOCKETS",
                detail: "this address has \(perAddress) event sockets open already (SEG_EVENTS_MAX_PER_ADDRESS)")
        }
        channel.closeFuture.whenComplete { _ in
            self.open.withLock { counts in
                counts[address, default: 1] -= 1
                if counts[address] == 0 { counts[address] = nil }
            }
        }
        return nil
    }
}
