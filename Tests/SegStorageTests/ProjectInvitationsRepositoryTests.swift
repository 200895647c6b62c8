import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct ProjectInvitationsRepositoryTests {
    /// The invitations of `project`, oldest first.
    static func invitations(_ project: UUID, _ f: AccountFixtures) async throws -> [ProjectInvitationRecord] {
        try await ProjectInvitationRepository.list(projectID: project, page: .first, on: f.database).items
    }

    @Test func invitingAgainInAnyLetterCaseChangesTheRoleOfTheSameInvitation() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)

            // MUT
            let (first, before) = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "Bob@Lab.org", role: .viewer, invitedBy: owner.id, on: f.database)
            let (second, previous) = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "bob@LAB.ORG", role: .editor, invitedBy: owner.id, on: f.database)

            // validate: one row, the new role and spelling, the first creation time
            #expect(before == nil && previous == .viewer)
            #expect(first.role == .viewer && first.email == "Bob@Lab.org" && first.invitedBy == owner.id && first.projectID == project.id)
            #expect(second.id == first.id && second.role == .editor && second.email == "bob@LAB.ORG" && second.createdAt == first.createdAt)
            #expect(try await Self.invitations(project.id, f) == [second])
            let owned = try await storageError {
                _ = try await ProjectInvitationRepository.invite(
                    projectID: project.id, email: "eve@lab.org", role: .owner, invitedBy: owner.id, on: f.database)
            }
            #expect(owned == .invalidArgument("an invitation grants editor or viewer, never owner"))
            let ghost = UUID()
            let missing = try await storageError {
                _ = try await ProjectInvitationRepository.invite(
                    projectID: ghost, email: "eve@lab.org", role: .viewer, invitedBy: owner.id, on: f.database)
            }
            #expect(missing == .notFound(entity: "project", id: ghost.uuidString))
        }
    }

    @Test func signingUpActivatesEveryInvitationOfTheAddressOnce() async throws {
        try await withTestDatabase { client in
            // setup: two projects invite the address in different cases; a third invites someone else
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let first = try await f.project(owner: owner.id, name: "first")
            let second = try await f.project(owner: owner.id, name: "second")
            let third = try await f.project(owner: owner.id, name: "third")
            _ = try await ProjectInvitationRepository.invite(
                projectID: first.id, email: "carol@example.org", role: .editor, invitedBy: owner.id, on: f.database)
            _ = try await ProjectInvitationRepository.invite(
                projectID: second.id, email: "CAROL@example.org", role: .viewer, invitedBy: owner.id, on: f.database)
            _ = try await ProjectInvitationRepository.invite(
                projectID: third.id, email: "dave@example.org", role: .viewer, invitedBy: owner.id, on: f.database)

            // MUT
            let registration = try await UserRepository.register(NewUser(email: "Carol@Example.ORG", passwordHash: "h"), on: f.database)
            let again = try await ProjectInvitationRepository.activate(forUserID: registration.user.id, email: "carol@example.org", on: f.database)

            // validate
            let carol = registration.user.id
            #expect(registration.activated.map(\.projectID) == [first.id, second.id])
            #expect(registration.activated.map(\.role) == [.editor, .viewer])
            #expect(again.isEmpty)
            #expect(try await ProjectMemberRepository.role(projectID: first.id, userID: carol, on: f.database) == .editor)
            #expect(try await ProjectMemberRepository.role(projectID: second.id, userID: carol, on: f.database) == .viewer)
            #expect(try await ProjectMemberRepository.role(projectID: third.id, userID: carol, on: f.database) == nil)
            #expect(try await Self.invitations(first.id, f).isEmpty)
            #expect(try await Self.invitations(second.id, f).isEmpty)
            #expect(try await Self.invitations(third.id, f).map(\.email) == ["dave@example.org"])
        }
    }

    @Test func aTakenAddressActivatesNothingAndKeepsTheInvitations() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            _ = try await UserRepository.create(NewUser(email: "erin@example.org", passwordHash: "h"), on: f.database)
            _ = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "erin@example.org", role: .viewer, invitedBy: owner.id, on: f.database)

            // MUT: the second account with the address fails, and its transaction takes nothing with it
            let error = try await storageError {
                _ = try await UserRepository.register(NewUser(email: "ERIN@example.org", passwordHash: "h"), on: f.database)
            }

            #expect(error == .conflict(constraint: "users_email_lower_key"))
            #expect(try await Self.invitations(project.id, f).count == 1)
        }
    }

    @Test func activationNeverLowersARoleAndLeavesTheOwnerAlone() async throws {
        try await withTestDatabase { client in
            // setup: invitations written straight, as an older release's accounts would find them
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let member = try await f.user("member")
            let viewed = try await f.project(owner: owner.id, name: "viewed")
            let edited = try await f.project(owner: owner.id, name: "edited")
            let own = try await f.project(owner: member.id, name: "own")
            _ = try await ProjectMemberRepository.setRole(projectID: viewed.id, userID: member.id, role: .viewer, on: f.database)
            _ = try await ProjectMemberRepository.setRole(projectID: edited.id, userID: member.id, role: .editor, on: f.database)
            for (project, role) in [(viewed, ProjectRole.editor), (edited, .viewer), (own, .viewer)] {
                _ = try await ProjectInvitationRepository.invite(
                    projectID: project.id, email: member.email, role: role, invitedBy: owner.id, on: f.database)
            }

            // MUT
            let activated = try await ProjectInvitationRepository.activate(forUserID: member.id, email: member.email.uppercased(), on: f.database)

            // validate: raised where the invitation grants more, kept otherwise; every invitation is used up
            #expect(activated.count == 3)
            #expect(try await ProjectMemberRepository.role(projectID: viewed.id, userID: member.id, on: f.database) == .editor)
            #expect(try await ProjectMemberRepository.role(projectID: edited.id, userID: member.id, on: f.database) == .editor)
            #expect(try await ProjectMemberRepository.role(projectID: own.id, userID: member.id, on: f.database) == .owner)
            for project in [viewed, edited, own] { #expect(try await Self.invitations(project.id, f).isEmpty) }
            let ghost = UUID()
            _ = try await ProjectInvitationRepository.invite(
                projectID: own.id, email: "ghost@example.org", role: .viewer, invitedBy: nil, on: f.database)
            let unknown = try await storageError {
                _ = try await ProjectInvitationRepository.activate(forUserID: ghost, email: "ghost@example.org", on: f.database)
            }
            #expect(unknown == .notFound(entity: "user", id: ghost.uuidString))
            #expect(try await Self.invitations(own.id, f).count == 1)
        }
    }

    @Test func revokingDeletesOnlyThatProjectsInvitation() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            let other = try await f.project(owner: owner.id, name: "other")
            let (invitation, _) = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "frank@example.org", role: .editor, invitedBy: owner.id, on: f.database)

            // MUT + validate: another project's id does not reach it; the right one does, once
            let elsewhere = try await storageError {
                try await ProjectInvitationRepository.revoke(id: invitation.id, projectID: other.id, on: f.database)
            }
            #expect(elsewhere == .notFound(entity: "invitation", id: invitation.id.uuidString))
            #expect(try await ProjectInvitationRepository.revoke(id: invitation.id, projectID: project.id, on: f.database) == invitation)
            let again = try await storageError {
                try await ProjectInvitationRepository.revoke(id: invitation.id, projectID: project.id, on: f.database)
            }
            #expect(again == .notFound(entity: "invitation", id: invitation.id.uuidString))
            let registration = try await UserRepository.register(NewUser(email: "frank@example.org", passwordHash: "h"), on: f.database)
            #expect(registration.activated.isEmpty)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: registration.user.id, on: f.database) == nil)
        }
    }

    @Test func addOrInviteMakesAMemberOfAnAccountAndInvitesAnAddressWithoutOne() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let known = try await UserRepository.create(NewUser(email: "Gina@Example.org", name: "Gina", passwordHash: "h"), on: f.database)
            let project = try await f.project(owner: owner.id)
            func add(_ email: String, _ role: ProjectRole, limit: Int = 100) async throws -> MemberAddition {
                try await ProjectMemberRepository.addOrInvite(
                    email: email, role: role, projectID: project.id, invitedBy: owner.id, limit: limit, on: f.database)
            }

            // MUT + validate: an account in another letter case becomes a member; its role changes on a second add
            guard case .member(let member, nil) = try await add("gina@EXAMPLE.org", .viewer) else {
                Issue.record("expected a new member")
                return
            }
            #expect(member.userID == known.id && member.role == .viewer && member.name == "Gina")
            guard case .member(let changed, .viewer) = try await add("GINA@example.org", .editor) else {
                Issue.record("expected a changed member")
                return
            }
            #expect(changed.role == .editor)
            // an address without an account is invited, then its invitation's role changes
            guard case .invited(let invitation, nil) = try await add("Hank@Example.org", .editor) else {
                Issue.record("expected a new invitation")
                return
            }
            #expect(invitation.email == "Hank@Example.org" && invitation.role == .editor && invitation.invitedBy == owner.id)
            guard case .invited(let again, .editor) = try await add("hank@example.org", .viewer) else {
                Issue.record("expected a changed invitation")
                return
            }
            #expect(again.id == invitation.id && again.role == .viewer)
            // the owner's own address writes nothing
            #expect(try await add(owner.email.uppercased(), .viewer) == .owner)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: owner.id, on: f.database) == .owner)
            #expect(try await ProjectMemberRepository.count(projectID: project.id, on: f.database) == 2)
            #expect(try await Self.invitations(project.id, f).map(\.id) == [invitation.id])
        }
    }

    @Test func theEntryLimitRefusesNewAccountsAndNewAddressesAlike() async throws {
        try await withTestDatabase { client in
            // setup: owner, one member, one invitation: three entries
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let member = try await f.user("member")
            let outsider = try await f.user("outsider")
            let project = try await f.project(owner: owner.id)
            func add(_ email: String, _ role: ProjectRole) async throws -> MemberAddition {
                try await ProjectMemberRepository.addOrInvite(
                    email: email, role: role, projectID: project.id, invitedBy: owner.id, limit: 3, on: f.database)
            }
            _ = try await add(member.email, .viewer)
            _ = try await add("ivy@example.org", .viewer)

            // MUT + validate: new ones are refused whether or not they have an account; existing ones change
            #expect(try await add(outsider.email, .viewer) == .limitReached)
            #expect(try await add("jack@example.org", .viewer) == .limitReached)
            guard case .member(_, .viewer) = try await add(member.email, .editor) else {
                Issue.record("expected the member's role to change at the limit")
                return
            }
            guard case .invited(_, .viewer) = try await add("IVY@example.org", .editor) else {
                Issue.record("expected the invitation's role to change at the limit")
                return
            }
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: outsider.id, on: f.database) == nil)
            #expect(try await Self.invitations(project.id, f).map(\.email) == ["IVY@example.org"])
        }
    }

    @Test func addingAnAccountClearsAnInvitationLeftForItsAddress() async throws {
        try await withTestDatabase { client in
            // setup: an invitation written for an address that has an account (as an older release's sign-up leaves it)
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let kate = try await f.user("kate")
            let project = try await f.project(owner: owner.id)
            _ = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: kate.email, role: .viewer, invitedBy: owner.id, on: f.database)

            // MUT
            let addition = try await ProjectMemberRepository.addOrInvite(
                email: kate.email.uppercased(), role: .editor, projectID: project.id, invitedBy: owner.id, limit: 100, on: f.database)

            // validate: a member, and no pending row beside it
            guard case .member(let member, nil) = addition else {
                Issue.record("expected a new member, got \(addition)")
                return
            }
            #expect(member.userID == kate.id && member.role == .editor)
            #expect(try await Self.invitations(project.id, f).isEmpty)
        }
    }

    /// An invitation written while its address signs up is never left pending beside the new account: the address's
    /// lock orders the two, so the invitation is either activated by the sign-up or becomes a membership itself.
    @Test func anInvitationRacingTheSignUpOfItsAddressIsNeverLeftPending() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            for round in 0..<25 {
                // MUT: both at once
                let email = "race-\(round)-\(UUID().uuidString.prefix(6))@example.org"
                async let invited = ProjectMemberRepository.addOrInvite(
                    email: email, role: .editor, projectID: project.id, invitedBy: owner.id, limit: 1_000, on: f.database)
                async let registered = UserRepository.register(NewUser(email: email, passwordHash: "h"), on: f.database)
                let (addition, registration) = try await (invited, registered)

                // validate: a member with the role either way, and no invitation left
                let role = try await ProjectMemberRepository.role(projectID: project.id, userID: registration.user.id, on: f.database)
                #expect(role == .editor, "round \(round): \(addition)")
                let left = try await Self.invitations(project.id, f).filter { $0.email == email }
                #expect(left.isEmpty, "round \(round): \(addition)")
            }
        }
    }

    @Test func theMemberListMergesInvitationsForTheOwnerOnly() async throws {
        try await withTestDatabase { client in
            // setup: owner, an invitation, a member, another invitation, all at one instant so that ids break ties
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let member = try await f.user("member")
            let project = try await f.project(owner: owner.id)
            _ = try await ProjectMemberRepository.setRole(projectID: project.id, userID: member.id, role: .viewer, on: f.database)
            let (first, _) = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "liam@example.org", role: .editor, invitedBy: owner.id, on: f.database)
            let (second, _) = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "mia@example.org", role: .viewer, invitedBy: owner.id, on: f.database)
            try await f.setCreatedAt("project_invitations", ids: [first.id, second.id])
            try await f.setCreatedAt("project_members", column: "user_id", ids: [owner.id, member.id])

            // MUT: every page of two
            let (entries, pages) = try await AccountFixtures.allPages(limit: 2) { page in
                try await ProjectMemberRepository.list(projectID: project.id, includingInvitations: true, page: page, on: f.database)
            }
            let members = try await ProjectMemberRepository.list(projectID: project.id, includingInvitations: false, page: .first, on: f.database)

            // validate: ordered by id at the shared instant, every row once; without invitations only the members
            func id(_ entry: ProjectMemberEntry) -> UUID {
                switch entry {
                case .member(let member): member.userID
                case .invitation(let invitation): invitation.id
                }
            }
            #expect(pages == 2)
            #expect(entries.map(id) == [owner.id, member.id, first.id, second.id].sorted { $0.uuidString < $1.uuidString })
            let invited = entries.compactMap { entry -> ProjectInvitationRecord? in
                if case .invitation(let invitation) = entry { return invitation }
                return nil
            }
            #expect(Set(invited.map(\.email)) == ["liam@example.org", "mia@example.org"])
            #expect(Set(members.items.map(id)) == [owner.id, member.id])
        }
    }

    @Test func deletingTheProjectDeletesItsInvitationsAndDeletingTheInviterKeepsThem() async throws {
        try await withTestDatabase { client in
            // setup: a former owner invited; the project moved to another owner
            let f = AccountFixtures(client: client)
            let former = try await f.user("former")
            let owner = try await f.user("owner")
            let project = try await f.project(owner: former.id)
            let kept = try await f.project(owner: owner.id, name: "kept")
            let (invitation, _) = try await ProjectInvitationRepository.invite(
                projectID: kept.id, email: "nina@example.org", role: .viewer, invitedBy: former.id, on: f.database)
            _ = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "nina@example.org", role: .viewer, invitedBy: former.id, on: f.database)

            // MUT
            _ = try await ProjectRepository.delete(id: project.id, on: f.database)
            try await UserRepository.delete(id: former.id, on: f.database)

            // validate
            let rows = try await client.query("SELECT project_id, invited_by FROM project_invitations").collect()
            #expect(rows.count == 1)
            let (projectID, invitedBy) = try #require(rows.first).decode((UUID, UUID?).self)
            #expect(projectID == kept.id && invitedBy == nil)
            #expect(try await Self.invitations(kept.id, f).map(\.id) == [invitation.id])
        }
    }

    @Test func theSchemaRefusesOwnerInvitationsAndDuplicateAddresses() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            let insert = { (email: String, role: String) async throws -> Void in
                try await client.query("INSERT INTO project_invitations (project_id, email, role) VALUES (\(project.id), \(email), \(role))")
            }
            #expect(
                try await storageError(fromSQL: true) { try await insert("olga@example.org", "owner") }
                    == .constraintViolation(constraint: "project_invitations_role_check"))
            #expect(
                try await storageError(fromSQL: true) { try await insert("", "viewer") }
                    == .constraintViolation(constraint: "project_invitations_email_check"))
            try await insert("olga@example.org", "viewer")
            #expect(
                try await storageError(fromSQL: true) { try await insert("OLGA@example.org", "editor") }
                    == .conflict(constraint: "project_invitations_project_email_key"))
        }
    }
}
