import HTTPTypes
import Hummingbird

/// Registers routes on the router and records them in the `RouteTable`, public or behind `JWTAuthenticator`.
///
/// Paths are absolute (`/api/v1/projects/:id`); controllers call `add` for each endpoint.
public struct APIRoutes {
    let open: RouterGroup<AppRequestContext>
    let authenticated: RouterGroup<AppRequestContext>
    /// Every route added, for 405 answers and the API document.
    public let table: RouteTable

    /// Adds `handler` for `method` at `path`; `authenticated` routes require an access token.
    public func add<Output: ResponseGenerator>(
        _ method: HTTPRequest.Method,
        _ path: String,
        authenticated: Bool = true,
        use handler: @escaping @Sendable (Request, AppRequestContext) async throws -> Output
    ) {
        let group = authenticated ? self.authenticated : open
        group.on(RouterPath(stringLiteral: path), method: method, use: handler)
        table.add(method, path)
    }
}
