import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import SegHTTP
import Testing

@Suite(.timeLimit(.minutes(5))) struct QueueControllerTests {
    struct StatsJSON: Decodable, Equatable {
        var queued: Int
        var processing: Int
        var failed: Int
        var workers: Int
    }

    @Test func countsOnlyTheCallersProjects() async throws {
        // an API-only process still reports its configured workers
        try await withTestApp(environment: ["SEG_WORKERS": "3"]) { app in
            // setup: my project, one shared with me, one I cannot see
            let me = try await app.register()
            let other = try await app.register()
            let mine = try await app.createProject(as: me)
            let shared = try await app.createProject(as: other)
            let foreign = try await app.createProject(as: other)
            try await app.addMember(me, role: "viewer", to: shared.id, as: other)
            for state in ["queued", "queued", "running", "failed", "succeeded", "cancelled"] {
                try await app.insertJob(project: mine.id, state: state)
            }
            try await app.insertJob(project: shared.id, state: "queued")
            try await app.insertJob(project: shared.id, state: "running")
            for state in ["queued", "queued", "running", "failed"] {
                try await app.insertJob(project: foreign.id, state: state)
            }

            // MUT
            let response = try await app.request(.get, "/api/v1/queue", as: me)

            // validate
            #expect(response.status == .ok)
            #expect(try response.decode(StatsJSON.self) == StatsJSON(queued: 3, processing: 2, failed: 1, workers: 3))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            #expect(Set(object.keys) == ["queued", "processing", "failed", "workers"])
            let theirs = try await app.request(.get, "/api/v1/queue", as: other).decode(StatsJSON.self)
            #expect(theirs == StatsJSON(queued: 3, processing: 2, failed: 1, workers: 3))
        }
    }

    @Test func aCallerWithoutProjectsSeesAnEmptyQueue() async throws {
        try await withTestApp { app in
            let owner = try await app.register()
            let loner = try await app.register()
            let project = try await app.createProject(as: owner)
            try await app.insertJob(project: project.id, state: "queued")
            let response = try await app.request(.get, "/api/v1/queue", as: loner)
            #expect(response.status == .ok)
            #expect(try response.decode(StatsJSON.self) == StatsJSON(queued: 0, processing: 0, failed: 0, workers: 0))
            let owners = try await app.request(.get, "/api/v1/queue", as: owner).decode(StatsJSON.self)
            #expect(owners.queued == 1)
        }
    }

    @Test func anonymousCallersAreUnauthorized() async throws {
        try await withTestApp { app in
            let response = try await app.request(.get, "/api/v1/queue")
            #expect(response.status == .unauthorized)
            #expect(response.problemCode == "UNAUTHORIZED")
        }
    }
}

extension TestApp {
    /// Inserts an export job of `project` in `state` directly (a running one gets a lease).
    func insertJob(project: UUID, state: String) async throws {
        if state == "running" {
            try await database.query(
                """
                INSERT INTO jobs (kind, state, project_id, lease_id, lease_until)
                VALUES ('export', 'running', \(project), gen_random_uuid(), now() + interval '1 hour')
                """)
        } else {
            try await database.query("INSERT INTO jobs (kind, state, project_id) VALUES ('export', \(state), \(project))")
        }
    }
}
