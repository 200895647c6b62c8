import Foundation
import Hummingbird
import SegStorage

/// `/api/v1/queue`: the job queue as the caller may see it.
struct QueueController {
    let services: AppServices

    /// `processing` is the queue's `running`; `workers` is this process's configured worker count.
    struct StatsBody: ResponseEncodable {
        var queued: Int
        var processing: Int
        var failed: Int
        var workers: Int
    }

    func addRoutes(to routes: APIRoutes) {
        routes.add(.get, "/api/v1/queue") { _, context in try await stats(context) }
    }

    /// Counts the jobs of the projects the caller is a member of.
    func stats(_ context: AppRequestContext) async throws -> StatsBody {
        let identity = try context.requireIdentity()
        let stats = try await services.queue.stats(memberID: identity.userID, on: services.database(context.logger))
        return StatsBody(queued: stats.queued, processing: stats.running, failed: stats.failed, workers: services.configuration.workers)
    }
}
