import Foundation
import Logging
import SegStorage

/// Fans the database's events out to this process's authenticated event sockets.
///
/// One hub per segserver process, fed by one `DatabaseEventListener`. For each event about a project it finds the
/// project's members and queues the message on the sockets of those members; it never waits for a socket, so a slow
/// client cannot hold up the others (each socket's `EventOutbox` is bounded).
///
/// **Who sees what.** A socket receives the events of every project its user is a member of, checked per event:
/// the members of a project are cached for at most `memberCacheLifetime`, and the cache entry is dropped as soon as
/// a `member.changed` notification arrives (the trigger on `project_members` sends one for every join, role
/// change, removal and project deletion, from any process). Notifications arrive in commit order, so an event
/// committed after a removal is never sent to the removed user. The whole cache is dropped whenever the listener
/// reconnects, because notifications sent while it was away are lost.
///
/// **queue.stats** is computed after `image.status` events (which is when the queue of a project changes), at most
/// once per `statsInterval` per project, and only while a member of the project is connected.
public actor EventHub: DatabaseEventHandler {
    private struct Subscriber {
        var userID: UUID
        var outbox: EventOutbox
        var session: EventSession
    }

    private struct Members {
        var ids: Set<UUID>
        var fetched: ContinuousClock.Instant
    }

    private let services: AppServices
    private let workers: Int
    private let logger: Logger
    private var subscribers: [Int: Subscriber] = [:]
    private var nextID = 0
    private var members: [UUID: Members] = [:]
    private var statsScheduled: Set<UUID> = []
    private var lastStats: [UUID: ContinuousClock.Instant] = [:]
    private var sockets = 0
    /// Counts cache invalidations, so that a member list read while one happened is not cached.
    private var invalidations = 0
    /// How long a project's member list is trusted without a `member.changed` notification.
    let memberCacheLifetime: Duration = .seconds(60)
    /// The shortest time between two `queue.stats` of one project.
    let statsInterval: Duration = .milliseconds(250)

    /// A hub for the application `services`; `workers` is reported in `queue.stats`.
    public init(services: AppServices, workers: Int, logger: Logger) {
        self.services = services
        self.workers = workers
        self.logger = logger
    }

    /// Open event sockets in this process (authenticated or not).
    public var connectionCount: Int { sockets }

    /// Authenticated sockets in this process.
    public var subscriberCount: Int { subscribers.count }

    /// Counts a newly opened socket.
    func opened() {
        sockets += 1
        services.metrics.setGauge("seghub_websocket_connections", help: "Open event sockets in this process", to: Double(sockets))
    }

    /// Counts a closed socket.
    func closed() {
        sockets -= 1
        services.metrics.setGauge("seghub_websocket_connections", help: "Open event sockets in this process", to: Double(sockets))
    }

    /// Queues `greeting` on `outbox`, then sends it the events of `userID`'s projects; returns the id to
    /// `unsubscribe` with, or `nil` (sending nothing) when `userID` already has `limit` subscriptions. Both happen in
    /// one step of the hub, so no event precedes the greeting and none after it is missed.
    func subscribe(userID: UUID, outbox: EventOutbox, session: EventSession, greeting: String, limit: Int = .max) -> Int? {
        guard subscribers.values.lazy.filter({ $0.userID == userID }).count < limit else { return nil }
        outbox.send(greeting)
        let id = nextID
        nextID += 1
        subscribers[id] = Subscriber(userID: userID, outbox: outbox, session: session)
        return id
    }

    /// Stops sending to the subscriber `id`.
    func unsubscribe(_ id: Int) {
        subscribers[id] = nil
    }

    // MARK: DatabaseEventHandler

    public func listenerConnected() async {
        members.removeAll()
        invalidations += 1
    }

    public func listenerDisconnected() async {
        members.removeAll()
        invalidations += 1
    }

    public func receive(_ event: DatabaseEvent) async {
        switch event {
        case .imageStatus(let project, let image, let status, let at):
            await deliver(
                EventMessage.text(
                    EventMessage.ImageStatus(projectId: project, imageId: image, status: status.rawValue, at: EventMessage.timestamp(at))),
                to: project)
            scheduleStats(for: project)
        case .exportStatus(let export, let project, let status, let progress):
            await deliver(
                EventMessage.text(EventMessage.ExportStatus(exportId: export, projectId: project, status: status.rawValue, progress: progress)),
                to: project)
        case .membershipChanged(let project, _):
            members[project] = nil
            invalidations += 1
        case .accountChanged(let user):
            for subscriber in subscribers.values where subscriber.userID == user {
                let session = subscriber.session
                Task { await session.revalidate() }
            }
        }
    }

    // MARK: Delivery

    /// Queues `text` on the sockets of `project`'s members.
    private func deliver(_ text: String, to project: UUID) async {
        guard !subscribers.isEmpty, let audience = await memberIDs(of: project) else { return }
        for (id, subscriber) in subscribers where audience.contains(subscriber.userID) {
            if subscriber.outbox.send(text) == .overflowed {
                subscribers[id] = nil
                let session = subscriber.session
                Task { await session.overflowed() }
            }
        }
    }

    /// The project's members, cached; `nil` when the database cannot say (the event is then not delivered: sending
    /// it to someone who may have lost access would be worse than a missed update).
    private func memberIDs(of project: UUID) async -> Set<UUID>? {
        let now = ContinuousClock.now
        if let cached = members[project], now - cached.fetched < memberCacheLifetime {
            return cached.ids
        }
        let before = invalidations
        do {
            let ids = try await ProjectMemberRepository.memberIDs(projectID: project, on: services.database(logger))
            // A change noticed while the query ran may or may not be in its answer: use it once, do not keep it.
            if invalidations == before { members[project] = Members(ids: ids, fetched: now) }
            return ids
        } catch {
            logger.notice("cannot read a project's members for its events", metadata: ["project.id": "\(project)", "error": "\(error)"])
            return nil
        }
    }

    private func scheduleStats(for project: UUID) {
        guard !statsScheduled.contains(project), !subscribers.isEmpty else { return }
        statsScheduled.insert(project)
        let delay = lastStats[project].map { max(.zero, statsInterval - (ContinuousClock.now - $0)) } ?? .zero
        Task {
            if delay > .zero { try? await Task.sleep(for: delay) }
            await self.publishStats(for: project)
        }
    }

    private func publishStats(for project: UUID) async {
        // Cleared before the query: changes during it schedule the next publication.
        statsScheduled.remove(project)
        lastStats[project] = ContinuousClock.now
        if lastStats.count > 10_000 {
            let cutoff = ContinuousClock.now - statsInterval
            lastStats = lastStats.filter { $0.value > cutoff }
        }
        guard let audience = await memberIDs(of: project), subscribers.values.contains(where: { audience.contains($0.userID) }) else {
            return
        }
        do {
            let stats = try await services.queue.stats(projects: [project], on: services.database(logger))
            let text = EventMessage.text(
                EventMessage.QueueStats(
                    projectId: project, queued: stats.queued, processing: stats.running, failed: stats.failed, workers: workers))
            await deliver(text, to: project)
        } catch {
            logger.notice("cannot count a project's queue for its events", metadata: ["project.id": "\(project)", "error": "\(error)"])
        }
    }
}
