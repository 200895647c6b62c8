import Foundation
import PostgresNIO
import SegTestSupport
import Testing

@testable import SegStorage

/// `AuditLogRepository`: recording, newest-first pagination, filters and what survives deletion.
@Suite(.timeLimit(.minutes(5))) struct AuditLogRepositoryTests {
    static let logger = Logger(label: "seg.test.audit")

    @Test func recordReadsBack() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let actor = try await insertUser(email: "admin@example.org", client: client)
            let target = UUID()
            let entry = try await AuditLogRepository.record(
                actorID: actor,
                action: "project.delete",
                targetType: "project",
                targetID: target,
                details: Array(#"{"name": "Spheroids", "images": 12}"#.utf8), on: database
            )
            let system = try await AuditLogRepository.record(
                actorID: nil, action: "export.expire", targetType: nil, targetID: nil, details: Array("{}".utf8), on: database)
            #expect(entry.actorID == actor)
            #expect(entry.action == "project.delete")
            #expect(entry.targetType == "project" && entry.targetID == target)
            let details = try JSONSerialization.jsonObject(with: Data(entry.details)) as? [String: Any]
            #expect(details?["name"] as? String == "Spheroids")
            #expect(details?["images"] as? Int == 12)
            #expect(system.id > entry.id)
            #expect(try await AuditLogRepository.list(filter: .all, page: .first, on: database).items == [system, entry])
        }
    }

    @Test(arguments: [1, 2, 4, 50])
    func paginationIsNewestFirstAndVisitsEveryEntryOnce(limit: Int) async throws {
        try await withTestDatabase { client in
            // setup: 9 entries, 6 of them at the same instant
            let database = Database(client: client, logger: Self.logger)
            var ids: [Int64] = []
            for index in 0..<9 {
                ids.append(
                    try await AuditLogRepository.record(
                        actorID: nil, action: "test.\(index)", targetType: nil, targetID: nil, details: Array("{}".utf8), on: database
                    ).id)
            }
            try await client.query("UPDATE audit_log SET created_at = '2026-07-07 07:07:07.777777+00' WHERE id <= \(ids[5])")
            try await client.query("UPDATE audit_log SET created_at = '2026-07-08 00:00:00+00' WHERE id IN (\(ids[6]), \(ids[7]))")
            try await client.query("UPDATE audit_log SET created_at = '2026-07-01 00:00:00+00' WHERE id = \(ids[8])")

            // MUT
            let seen = try await ImagesRepositoryTests.readAll(limit: limit) { page in
                try await AuditLogRepository.list(filter: .all, page: page, on: database)
            }

            // validate
            #expect(seen.map(\.id) == [ids[7], ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0], ids[8]])
        }
    }

    @Test func filtersByActorTargetAndAction() async throws {
        try await withTestDatabase { client in
            // setup
            let database = Database(client: client, logger: Self.logger)
            let alice = try await insertUser(email: "alice@example.org", client: client)
            let bob = try await insertUser(email: "bob@example.org", client: client)
            let project = UUID()
            let image = UUID()
            let a = try await AuditLogRepository.record(
                actorID: alice, action: "project.create", targetType: "project", targetID: project, details: Array("{}".utf8), on: database)
            let b = try await AuditLogRepository.record(
                actorID: bob, action: "image.delete", targetType: "image", targetID: image, details: Array("{}".utf8), on: database)
            let c = try await AuditLogRepository.record(
                actorID: alice, action: "image.delete", targetType: "image", targetID: image, details: Array("{}".utf8), on: database)
            let d = try await AuditLogRepository.record(
                actorID: bob, action: "project.rename", targetType: "project", targetID: project, details: Array("{}".utf8), on: database)

            // MUT + validate
            let list = { (filter: AuditLogFilter) async throws -> [Int64] in
                try await ImagesRepositoryTests.readAll(limit: 1) { page in
                    try await AuditLogRepository.list(filter: filter, page: page, on: database)
                }.map(\.id)
            }
            #expect(try await list(AuditLogFilter(actorID: alice)) == [c.id, a.id])
            #expect(try await list(AuditLogFilter(actorID: bob)) == [d.id, b.id])
            #expect(try await list(AuditLogFilter(targetID: project)) == [d.id, a.id])
            #expect(try await list(AuditLogFilter(targetType: "image")) == [c.id, b.id])
            #expect(try await list(AuditLogFilter(action: "image.delete")) == [c.id, b.id])
            #expect(try await list(AuditLogFilter(actorID: bob, action: "image.delete")) == [b.id])
            #expect(try await list(AuditLogFilter(actorID: UUID())).isEmpty)
            #expect(try await list(.all) == [d.id, c.id, b.id, a.id])
        }
    }

    @Test func entriesSurviveDeletingTheActor() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let actor = try await insertUser(email: "leaving@example.org", client: client)
            let entry = try await AuditLogRepository.record(
                actorID: actor, action: "user.delete", targetType: "user", targetID: actor, details: Array("{}".utf8), on: database)
            try await client.query("DELETE FROM users WHERE id = \(actor)")
            let entries = try await AuditLogRepository.list(filter: .all, page: .first, on: database).items
            #expect(entries.count == 1)
            #expect(entries.first?.id == entry.id)
            #expect(entries.first?.actorID == nil)
            #expect(entries.first?.targetID == actor)
        }
    }

    @Test func entryCommitsOrRollsBackWithItsChange() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            let user = try await insertUser(email: "owner@example.org", client: client)
            // The same entry, in a transaction that is rolled back and then in one that commits.
            func recordRename(on transaction: Database) async throws {
                _ = try await AuditLogRepository.record(
                    actorID: user,
                    action: "user.rename",
                    targetType: "user",
                    targetID: user,
                    details: Array("{}".utf8),
                    on: transaction
                )
            }
            struct Abort: Error {}
            await #expect(throws: (any Error).self) {
                try await Database(client: client, logger: Self.logger).transaction { transaction in
                    try await transaction.query("UPDATE users SET name = 'Renamed' WHERE id = \(user)")
                    try await recordRename(on: transaction)
                    throw Abort()
                }
            }
            #expect(try await AuditLogRepository.list(filter: .all, page: .first, on: database).items.isEmpty)
            try await Database(client: client, logger: Self.logger).transaction { transaction in
                try await recordRename(on: transaction)
            }
            #expect(try await AuditLogRepository.list(filter: .all, page: .first, on: database).items.map(\.action) == ["user.rename"])
        }
    }

    @Test func badInputIsRejected() async throws {
        try await withTestDatabase { client in
            let database = Database(client: client, logger: Self.logger)
            await #expect(throws: StorageError.invalidArgument("details must be valid JSON")) {
                try await AuditLogRepository.record(actorID: nil, action: "x", targetType: nil, targetID: nil, details: Array("{".utf8), on: database)
            }
            await #expect(throws: StorageError.constraintViolation(constraint: "audit_log_details_check")) {
                try await AuditLogRepository.record(
                    actorID: nil, action: "x", targetType: nil, targetID: nil, details: Array("[]".utf8), on: database)
            }
            await #expect(throws: StorageError.constraintViolation(constraint: "audit_log_action_check")) {
                try await AuditLogRepository.record(actorID: nil, action: "", targetType: nil, targetID: nil, details: Array("{}".utf8), on: database)
            }
            await #expect(throws: StorageError.invalidReference(constraint: "audit_log_actor_id_fkey")) {
                try await AuditLogRepository.record(
                    actorID: UUID(), action: "x", targetType: nil, targetID: nil, details: Array("{}".utf8), on: database)
            }
            // A cursor of a UUID-keyed list is not a position in the audit log.
            let foreign = PageCursor(timestamp: Timestamp(microseconds: 1), id: UUID()).encoded
            await #expect(throws: StorageError.invalidCursor) {
                try await AuditLogRepository.list(filter: .all, page: try PageRequest(limit: 5, cursor: foreign), on: database)
            }
        }
    }
}
