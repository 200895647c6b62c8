import Foundation
import Hummingbird

/// `/api/v1/segmenters`: the segmenters a segmentation request may name, with their live readiness.
struct SegmentersController {
    let services: AppServices

    struct ListBody: ResponseEncodable {
        var items: [Segmenters.Description]
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/api/v1/segmenters") { _, context in try await list(context) }
    }

    /// The built-in segmenter and every configured model, each with its kind, description, accepted parameters and
    /// readiness (a model's server is asked at most every few seconds).
    func list(_ context: AppRequestContext) async throws -> ListBody {
        _ = try context.requireIdentity()
        return ListBody(items: await services.segmenters.descriptions())
    }
}
