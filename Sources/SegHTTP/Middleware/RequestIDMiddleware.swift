import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives each request an id (the client's `X-Request-Id` when it is short and plain, else a new one), puts it in
/// the logger's metadata and echoes it in the response, and writes one structured access-log line per request.
///
/// The log line has method, route, path (without the query string, which may carry tokens), status, duration, client
/// address, request id and the authenticated user's id; never headers or bodies.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let header = HTTPField.Name("X-Request-Id")!

    /// Works out the client's address behind trusted proxies.
    let clientAddress: ClientAddress

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id: String
        if let given = request.headers[Self.header], (1...64).contains(given.utf8.count),
            given.utf8.allSatisfy({
                $0 == 0x2D || $0 == 0x5F || $0 == 0x2E || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0)
            })
        {
            id = given
        } else {
            id = UUID().uuidString.lowercased()
        }
        var context = context
        context.clientAddress = clientAddress.resolve(request, peer: context.peerAddress)
        context.logger[metadataKey: "request.id"] = "\(id)"
        let started = ContinuousClock.now
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - started
            let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            var fields: Logger.Metadata = [
                "http.method": "\(request.method.rawValue)", "http.path": "\(Self.loggedPath(request.uri.path))", "http.status": "\(status)",
                "http.duration_ms": "\(String(format: "%.1f", milliseconds))", "client.address": "\(context.clientAddress ?? "-")",
            ]
            // The route's pattern (set by the router as it matched) and the caller (set by the authenticator).
            if let route = context.endpointPath { fields["http.route"] = "\(route)" }
            if let user = context.logFields.userID { fields["user.id"] = "\(user.uuidString.lowercased())" }
            context.logger.info("request", metadata: fields)
        }
        do {
            var response = try await next(request, context)
            response.headers[Self.header] = id
            status = response.status.code
            return response
        } catch let error as any HTTPResponseError {
            var response = try error.response(from: request, context: context)
            response.headers[Self.header] = id
            status = response.status.code
            return response
        }
    }

    /// The path as logged: a share-link token in the path is a secret and is replaced by `{token}`.
    static func loggedPath(_ path: String) -> String {
        let prefix = "/api/v1/share-links/"
        guard path.hasPrefix(prefix) else { return path }
        let rest = path.dropFirst(prefix.count)
        guard let slash = rest.firstIndex(of: "/") else { return prefix + "{token}" }
        return prefix + "{token}" + rest[slash...]
    }
}
