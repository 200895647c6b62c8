import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ProjectMembersRepositoryTests {
    @Test func setRoleAddsOrChangesAMember() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let member = try await UserRepository.create(NewUser(email: "Member@Example.org", name: "Mem", passwordHash: "h"), on: f.database)
            let project = try await f.project(owner: owner.id)

            let added = try await ProjectMemberRepository.setRole(projectID: project.id, userID: member.id, role: .viewer, on: f.database)
            #expect(added.projectID == project.id && added.userID == member.id && added.role == .viewer)
            #expect(added.email == "Member@Example.org" && added.name == "Mem")
            let promoted = try await ProjectMemberRepository.setRole(projectID: project.id, userID: member.id, role: .editor, on: f.database)
            #expect(promoted.role == .editor && promoted.createdAt == added.createdAt)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: member.id, on: f.database) == .editor)
            let demoted = try await ProjectMemberRepository.setRole(projectID: project.id, userID: member.id, role: .viewer, on: f.database)
            #expect(demoted.role == .viewer)
        }
    }

    @Test func theOwnerCannotBeChangedRemovedOrAdded() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let other = try await f.user("other")
            let project = try await f.project(owner: owner.id)

            let demote = try await storageError {
                _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: owner.id, role: .viewer, on: f.database)
            }
            #expect(demote == .invalidArgument("the owner's role cannot be changed; transfer the ownership instead"))
            let remove = try await storageError { try await ProjectMemberRepository.remove(projectID: project.id, userID: owner.id, on: f.database) }
            #expect(remove == .invalidArgument("the owner cannot be removed from a project; transfer the ownership first"))
            let second = try await storageError {
                _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: other.id, role: .owner, on: f.database)
            }
            if case .invalidArgument = second {} else { Issue.record("expected invalidArgument, got \(String(describing: second))") }
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: owner.id, on: f.database) == .owner)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: other.id, on: f.database) == nil)
            // The schema itself refuses a second owner row.
            let direct = try await storageError {
                try await withStorageErrors { () async throws -> Void in
                    _ = try await client.query("INSERT INTO project_members (project_id, user_id, role) VALUES (\(project.id), \(other.id), 'owner')")
                }
            }
            #expect(direct == .conflict(constraint: "project_members_one_owner_key"))
        }
    }

    @Test func removeDropsTheMembershipAndMissingOnesAreNotFound() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let member = try await f.user("member")
            let project = try await f.project(owner: owner.id)
            _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: member.id, role: .editor, on: f.database)

            try await ProjectMemberRepository.remove(projectID: project.id, userID: member.id, on: f.database)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: member.id, on: f.database) == nil)
            #expect(
                try await storageError { _ = try await ProjectRepository.get(id: project.id, memberID: member.id, on: f.database) }
                    == .notFound(entity: "project", id: project.id.uuidString)
            )
            let again = try await storageError { try await ProjectMemberRepository.remove(projectID: project.id, userID: member.id, on: f.database) }
            #expect(again == .notFound(entity: "project member", id: member.id.uuidString))

            let ghostProject = UUID()
            let ghostUser = UUID()
            #expect(
                try await storageError {
                    _ = try await ProjectMemberRepository.setRole(projectID: ghostProject, userID: member.id, role: .viewer, on: f.database)
                }
                    == .notFound(entity: "project", id: ghostProject.uuidString)
            )
            #expect(
                try await storageError {
                    _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: ghostUser, role: .viewer, on: f.database)
                }
                    == .notFound(entity: "user", id: ghostUser.uuidString)
            )
        }
    }

    @Test func listVisitsEveryMemberOnceInJoinOrder() async throws {
        try await withTestDatabase { client in
            // setup: owner plus 6 members, 5 of whom joined at the same instant
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            let elsewhere = try await f.project(owner: owner.id, name: "Elsewhere")
            var memberIDs: [UUID] = []
            for index in 0..<6 {
                let user = try await f.user("m\(index)")
                _ = try await ProjectMemberRepository.setRole(
                    projectID: project.id, userID: user.id, role: index.isMultiple(of: 2) ? .editor : .viewer, on: f.database)
                memberIDs.append(user.id)
            }
            try await f.setCreatedAt("project_members", column: "user_id", ids: Array(memberIDs.prefix(5)), to: "2030-01-01 00:00:00+00")

            // MUT + validate
            for limit in [1, 2, 3, 7] {
                let (members, pages) = try await AccountFixtures.allPages(limit: limit) {
                    try await ProjectMemberRepository.list(projectID: project.id, page: $0, on: f.database)
                }
                #expect(members.count == 7 && Set(members.map(\.userID)) == Set(memberIDs + [owner.id]), "limit \(limit)")
                #expect(members.first?.role == .owner && members.first?.email == owner.email)
                #expect(members[1].userID == memberIDs[5])  // joined before the five moved into the future
                #expect(pages == (7 + limit - 1) / limit)
            }
            #expect(try await ProjectMemberRepository.list(projectID: elsewhere.id, page: .first, on: f.database).items.map(\.userID) == [owner.id])
        }
    }
}
