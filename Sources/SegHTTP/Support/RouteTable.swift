import HTTPTypes
import Hummingbird
import Synchronization

/// The API's routes as registered, for 405 answers (and the OpenAPI check of a later issue).
public final class RouteTable: Sendable {
    /// One route: a method and a path pattern with `{name}` or `:name` parameters.
    public struct Route: Sendable, Hashable {
        /// The method.
        public var method: HTTPRequest.Method
        /// The pattern, e.g. `/api/v1/projects/:id`.
        public var path: String
    }

    private let storage = Mutex<[Route]>([])

    /// An empty table.
    public init() {}

    /// Records a route.
    public func add(_ method: HTTPRequest.Method, _ path: String) {
        storage.withLock { $0.append(Route(method: method, path: path)) }
    }

    /// Every route.
    public var routes: [Route] { storage.withLock { $0 } }

    /// The methods registered for patterns that match `path`.
    public func methods(matching path: String) -> Set<HTTPRequest.Method> {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        return Set(
            routes.filter { route in
                let pattern = route.path.split(separator: "/", omittingEmptySubsequences: true)
                guard pattern.count == segments.count else { return false }
                return zip(pattern, segments).allSatisfy { p, s in p.hasPrefix(":") || p.hasPrefix("{") || p == s }
            }.map(\.method))
    }
}
