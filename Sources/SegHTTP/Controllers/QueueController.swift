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
        let projects = try await memberProjectIDs(identity.userID)
        let stats = try await projects.isEmpty ? QueueStats() : services.queue.stats(projects: projects)
        return StatsBody(queued: stats.queued, processing: stats.running, failed: stats.failed, workers: services.configuration.workers)
    }

    /// Every project `userID` is a member of. `ProjectRepository` has no id-only list, so this reads its member
    /// list in the largest pages it allows.
    private func memberProjectIDs(_ userID: UUID) async throws -> [UUID] {
        var ids: [UUID] = []
        var cursor: String?
        repeat {
            let page = try await services.projects.list(memberID: userID, page: PageRequest(limit: PageRequest.maximumLimit, cursor: cursor))
            ids += page.items.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        return ids
    }
}
