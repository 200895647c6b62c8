import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ShareLinksRepositoryTests {
    @Test func acceptingMakesAMemberOnce() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let guest = try await f.user("guest")
            let late = try await f.user("late")
            let project = try await f.project(owner: owner.id)
            let hash = AccountFixtures.hash()
            let link = try await ShareLinkRepository.create(
                projectID: project.id, tokenHash: hash, role: .editor, expiresAt: .now + 3600, createdBy: owner.id, on: f.database)
            #expect(link.state == .active && link.role == .editor && link.createdBy == owner.id && link.usedAt == nil)

            // MUT
            let accepted = try await ShareLinkRepository.accept(tokenHash: hash, userID: guest.id, on: f.database)
            let second = try await ShareLinkRepository.accept(tokenHash: hash, userID: late.id, on: f.database)

            // validate
            #expect(accepted == .accepted(projectID: project.id, role: .editor))
            #expect(second == .used)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: guest.id, on: f.database) == .editor)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: late.id, on: f.database) == nil)
            let listed = try await ShareLinkRepository.list(projectID: project.id, page: .first, on: f.database).items
            #expect(listed.count == 1 && listed[0].state == .used && listed[0].usedBy == guest.id && listed[0].usedAt != nil)
        }
    }

    @Test func expiredUnknownAndRevokedLinksAreRefused() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let guest = try await f.user("guest")
            let project = try await f.project(owner: owner.id)
            let expiredHash = AccountFixtures.hash()
            let expired = try await ShareLinkRepository.create(
                projectID: project.id, tokenHash: expiredHash, role: .viewer, expiresAt: .now - 1, createdBy: nil, on: f.database)
            #expect(expired.state == .expired)
            #expect(try await ShareLinkRepository.accept(tokenHash: expiredHash, userID: guest.id, on: f.database) == .expired)
            #expect(try await ShareLinkRepository.accept(tokenHash: AccountFixtures.hash(), userID: guest.id, on: f.database) == .unknown)

            let revokedHash = AccountFixtures.hash()
            let revoked = try await ShareLinkRepository.create(
                projectID: project.id, tokenHash: revokedHash, role: .viewer, expiresAt: .now + 60, createdBy: owner.id, on: f.database)
            let otherProject = try await f.project(owner: owner.id, name: "Other")
            let wrongProject = try await storageError {
                try await ShareLinkRepository.revoke(id: revoked.id, projectID: otherProject.id, on: f.database)
            }
            #expect(wrongProject == .notFound(entity: "share link", id: revoked.id.uuidString))
            try await ShareLinkRepository.revoke(id: revoked.id, projectID: project.id, on: f.database)
            #expect(try await ShareLinkRepository.accept(tokenHash: revokedHash, userID: guest.id, on: f.database) == .unknown)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: guest.id, on: f.database) == nil)
            #expect(try await ShareLinkRepository.list(projectID: project.id, page: .first, on: f.database).items.map(\.id) == [expired.id])
        }
    }

    @Test func acceptingNeverDowngradesARole() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let editor = try await f.user("editor")
            let viewer = try await f.user("viewer")
            let project = try await f.project(owner: owner.id)
            _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: editor.id, role: .editor, on: f.database)
            _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: viewer.id, role: .viewer, on: f.database)
            func link(_ role: ProjectRole) async throws -> Data {
                let hash = AccountFixtures.hash()
                _ = try await ShareLinkRepository.create(
                    projectID: project.id, tokenHash: hash, role: role, expiresAt: .now + 60, createdBy: owner.id, on: f.database)
                return hash
            }

            // MUT + validate
            #expect(
                try await ShareLinkRepository.accept(tokenHash: try await link(.viewer), userID: owner.id, on: f.database)
                    == .accepted(projectID: project.id, role: .owner))
            #expect(
                try await ShareLinkRepository.accept(tokenHash: try await link(.editor), userID: owner.id, on: f.database)
                    == .accepted(projectID: project.id, role: .owner))
            #expect(
                try await ShareLinkRepository.accept(tokenHash: try await link(.viewer), userID: editor.id, on: f.database)
                    == .accepted(projectID: project.id, role: .editor))
            #expect(
                try await ShareLinkRepository.accept(tokenHash: try await link(.editor), userID: viewer.id, on: f.database)
                    == .accepted(projectID: project.id, role: .editor))
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: owner.id, on: f.database) == .owner)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: editor.id, on: f.database) == .editor)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: viewer.id, on: f.database) == .editor)
            #expect(try await ProjectRepository.find(id: project.id, on: f.database)?.ownerID == owner.id)
        }
    }

    @Test func concurrentAcceptsOfOneLinkHaveExactlyOneWinner() async throws {
        try await withTestDatabase { client in
            // setup: 8 users race for one viewer link
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            var guests: [UUID] = []
            for index in 0..<8 {
                guests.append(try await f.user("guest\(index)").id)
            }
            let hash = AccountFixtures.hash()
            _ = try await ShareLinkRepository.create(
                projectID: project.id, tokenHash: hash, role: .viewer, expiresAt: .now + 60, createdBy: owner.id, on: f.database)

            // MUT
            let results = try await withThrowingTaskGroup(of: ShareLinkAcceptance.self) { group in
                for guest in guests {
                    group.addTask { try await ShareLinkRepository.accept(tokenHash: hash, userID: guest, on: f.database) }
                }
                var results: [ShareLinkAcceptance] = []
                for try await result in group { results.append(result) }
                return results
            }

            // validate
            #expect(results.filter { $0 == .accepted(projectID: project.id, role: .viewer) }.count == 1)
            #expect(results.filter { $0 == .used }.count == 7)
            let members = try await ProjectMemberRepository.list(projectID: project.id, page: .first, on: f.database).items
            #expect(members.count == 2)
        }
    }

    @Test func createRejectsOwnerLinksAndUnknownProjects() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            let ownerLink = try await storageError {
                _ = try await ShareLinkRepository.create(
                    projectID: project.id, tokenHash: AccountFixtures.hash(), role: .owner, expiresAt: .now + 60, createdBy: nil, on: f.database)
            }
            #expect(ownerLink == .invalidArgument("a share link grants editor or viewer, never owner"))
            let ghost = UUID()
            let unknown = try await storageError {
                _ = try await ShareLinkRepository.create(
                    projectID: ghost, tokenHash: AccountFixtures.hash(), role: .viewer, expiresAt: .now + 60, createdBy: nil, on: f.database)
            }
            #expect(unknown == .notFound(entity: "project", id: ghost.uuidString))
            let badHash = try await storageError {
                _ = try await ShareLinkRepository.create(
                    projectID: project.id, tokenHash: Data("token".utf8), role: .viewer, expiresAt: .now + 60, createdBy: nil, on: f.database)
            }
            if case .invalidArgument = badHash {} else { Issue.record("expected invalidArgument, got \(String(describing: badHash))") }
        }
    }

    @Test func listVisitsEveryLinkOnceNewestFirst() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            let other = try await f.project(owner: owner.id, name: "Other")
            var ids: [UUID] = []
            for _ in 0..<6 {
                let link = try await ShareLinkRepository.create(
                    projectID: project.id, tokenHash: AccountFixtures.hash(), role: .viewer, expiresAt: .now + 60, createdBy: owner.id, on: f.database
                )
                ids.append(link.id)
            }
            _ = try await ShareLinkRepository.create(
                projectID: other.id, tokenHash: AccountFixtures.hash(), role: .viewer, expiresAt: .now + 60, createdBy: owner.id, on: f.database)
            try await f.setCreatedAt("share_links", ids: Array(ids.prefix(5)))
            for limit in [1, 2, 4, 6] {
                let (links, pages) = try await AccountFixtures.allPages(limit: limit) {
                    try await ShareLinkRepository.list(projectID: project.id, page: $0, on: f.database)
                }
                #expect(links.count == 6 && Set(links.map(\.id)) == Set(ids), "limit \(limit)")
                #expect(links.first?.id == ids[5])
                #expect(links.allSatisfy { $0.projectID == project.id && $0.state == .active })
                #expect(pages == (6 + limit - 1) / limit)
            }
        }
    }
}
