import Foundation
import Hummingbird

/// `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, bundled with SegHTTP (`Resources/openapi.json`).
///
/// The document is written by hand and kept in step with the routes by `OpenAPITests` (every route has an entry and
/// every entry a route, every problem code in the sources is listed) and by schemathesis against a live server
/// (`scripts/checks/schemathesis.sh`).
struct OpenAPIController {
    /// The document's bytes, read once.
    let document: ByteBuffer

    /// Reads the bundled document.
    /// - Throws: when the resource is missing (a broken build), so that segserver does not start without it.
    init() throws {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw Problem(.internalServerError, code: "INTERNAL_ERROR", detail: "the OpenAPI document is not bundled")
        }
        document = ByteBuffer(bytes: try Data(contentsOf: url))
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/api/v1/openapi.json", authenticated: false) { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json; charset=utf-8"
            headers[.cacheControl] = "no-cache"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: document))
        }
    }
}
