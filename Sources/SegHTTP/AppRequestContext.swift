import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The request context of SegHub's routes: the caller's identity once authenticated, and the peer address.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `JWTAuthenticator` on protected routes.
    public var identity: Identity?
    /// The TCP peer's address (the proxy's when behind nginx).
    public let peerAddress: String?
    /// The client's address: the peer, or the last untrusted hop of `X-Forwarded-For` when the peer is a trusted proxy.
    public var clientAddress: String?

    /// What the access log line names besides the request itself (the caller, once authenticated), shared by every copy
    /// of this context: the line is written by the outermost middleware, after the inner ones have run.
    public let logFields = RequestLogFields()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
        self.clientAddress = peerAddress
    }

    /// The largest JSON body this route reads (``JSONBody``): 1 MiB unless the route sets its own (the sign-in routes
    /// less, the polygon PUT `SEG_MAX_POLYGON_BODY_BYTES`). Uploads stream and are limited separately.
    public var bodyLimit = AppRequestContext.defaultBodyLimit
    /// The default ``bodyLimit``.
    public static let defaultBodyLimit = 1 << 20
    /// What Hummingbird's own body collection uses: ``bodyLimit``.
    public var maxUploadSize: Int { bodyLimit }
    /// JSON bodies are read by ``JSONBody``: limited, checked for control characters, decoded.
    public var requestDecoder: JSONBodyDecoder { JSONBodyDecoder() }

    /// This context with a ``bodyLimit`` of `bytes`, for a route whose bodies are smaller or larger than most.
    func limitingBody(to bytes: Int) -> AppRequestContext {
        var copy = self
        copy.bodyLimit = bytes
        return copy
    }

    /// The identity, or 401.
    public func requireIdentity() throws -> Identity {
        guard let identity else { throw Problem.unauthorized() }
        return identity
    }
}

extension AppRequestContext {
    /// The UUID path parameter `name`.
    /// - Throws: 404 `NOT_FOUND` naming `what` when the parameter is missing or not a UUID: a malformed id is as
    ///   unknown as a missing resource, so callers cannot tell the two apart.
    func pathID(_ name: String = "id", naming what: String) throws -> UUID {
        guard let id = parameters.get(name).flatMap(UUID.init(uuidString:)) else { throw Problem.notFound(what) }
        return id
    }
}

/// Fields of a request's access log line that inner stages learn (``AppRequestContext/logFields``).
public final class RequestLogFields: Sendable {
    private let user = Mutex<UUID?>(nil)

    /// The authenticated caller, if any.
    public var userID: UUID? {
        get { user.withLock { $0 } }
        set { user.withLock { $0 = newValue } }
    }
}
