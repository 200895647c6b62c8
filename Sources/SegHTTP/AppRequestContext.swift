import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of SegHub's routes: the caller's identity once authenticated, and the peer address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `JWTAuthenticator` on protected routes.
    public var identity: Identity?
    /// The TCP peer's address (the proxy's when behind nginx).
    public let peerAddress: String?
    /// The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer is a trusted proxy.
    public var clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        self.clientAddress = peerAddress
    }

    /// JSON bodies (polygons included) are collected up to 64 MiB; uploads stream and are limited separately.
    public var maxUploadSize: Int { 64 << 20 }

    /// The identity, or 401.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw Problem.unauthorized() }
        return identity
    }
}
