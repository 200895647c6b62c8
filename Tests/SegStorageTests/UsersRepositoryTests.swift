import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct UsersRepositoryTests {
    @Test func emailIsKeptAsTypedAndFoundRegardlessOfCase() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let created = try await f.users.create(NewUser(email: "Ada.Lovelace@Example.ORG", name: "Ada", passwordHash: "h1"))
            #expect(created.email == "Ada.Lovelace@Example.ORG")
            #expect(created.role == .user)
            #expect(!created.mustChangePassword && !created.isDisabled)

            let byEmail = try await f.users.find(email: "ada.lovelace@example.org")
            #expect(byEmail == created)
            #expect(try await f.users.find(id: created.id) == created)
            #expect(try await f.users.find(email: "ada@example.org") == nil)
        }
    }

    @Test func duplicateEmailInAnyCaseConflictsWithoutLeakingIt() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            _ = try await f.users.create(NewUser(email: "grace.hopper@example.org", passwordHash: "h"))
            let error = try await storageError {
                _ = try await f.users.create(NewUser(email: "GRACE.Hopper@EXAMPLE.org", passwordHash: "h"))
            }
            #expect(error == .conflict(constraint: "users_email_lower_key"))
            let text = String(describing: error).lowercased()
            #expect(!text.contains("grace") && !text.contains("insert") && !text.contains("users (") && !text.contains("$1"))
            #expect(try await f.users.count(.all) == 1)
        }
    }

    @Test func errorsAndRecordsNeverShowEmailsHashesOrSQL() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let email = "private.person@example.org"
            let user = try await f.users.create(NewUser(email: email, passwordHash: "$2b$12$secrethashvalue"))
            _ = try await f.project(owner: user.id)

            // MUT: every kind of failure a caller can provoke with an account
            var errors: [StorageError?] = []
            errors.append(try await storageError { _ = try await f.users.create(NewUser(email: email.uppercased(), passwordHash: "h")) })
            errors.append(try await storageError { _ = try await f.users.create(NewUser(email: "", passwordHash: "h")) })
            errors.append(try await storageError { try await f.users.delete(id: user.id) })
            errors.append(try await storageError { _ = try await f.users.get(id: UUID()) })

            // validate
            #expect(errors.allSatisfy { $0 != nil })
            let texts =
                errors.map { String(describing: $0) } + [
                    String(describing: user), String(reflecting: user), "\(NewUser(email: email, passwordHash: "x"))",
                ]
            for text in texts {
                let lowered = text.lowercased()
                #expect(!lowered.contains("private.person") && !lowered.contains("secrethash"), "\(text)")
                for keyword in ["insert into", "select ", "delete from", "values (", "where ", "$1"] {
                    #expect(!lowered.contains(keyword), "\(text)")
                }
            }
        }
    }

    @Test func missingUsersAreNilOrNotFound() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let id = UUID()
            let notFound = StorageError.notFound(entity: "user", id: id.uuidString)
            let found = try await f.users.find(id: id)
            #expect(found == nil)
            #expect(try await storageError { _ = try await f.users.get(id: id) } == notFound)
            #expect(try await storageError { _ = try await f.users.updateName(id: id, name: "x") } == notFound)
            #expect(try await storageError { _ = try await f.users.setRole(id: id, role: .admin) } == notFound)
            #expect(
                try await storageError { _ = try await f.users.setPasswordHash(id: id, passwordHash: "h", mustChangePassword: false) }
                    == notFound
            )
            #expect(try await storageError { _ = try await f.users.setDisabled(id: id, disabled: true) } == notFound)
            #expect(try await storageError { _ = try await f.users.setDisabled(id: id, disabled: false) } == notFound)
            #expect(try await storageError { try await f.users.delete(id: id) } == notFound)
        }
    }

    @Test func updatesChangeOnlyTheirColumn() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let user = try await f.user("alan")
            let renamed = try await f.users.updateName(id: user.id, name: "Alan Turing")
            #expect(renamed.name == "Alan Turing" && renamed.email == user.email && renamed.passwordHash == user.passwordHash)
            let admin = try await f.users.setRole(id: user.id, role: .admin)
            #expect(admin.role == .admin && admin.name == "Alan Turing")
            #expect(try await f.users.get(id: user.id) == admin)
        }
    }

    @Test func listVisitsEveryRowOnceAcrossEqualTimestamps() async throws {
        try await withTestDatabase { client in
            // setup: 9 users, 7 of them created at the same instant, two admins, two disabled
            let f = AccountFixtures(client: client)
            var ids: [UUID] = []
            for index in 0..<9 {
                ids.append(try await f.user("u\(index)", role: index < 2 ? .admin : .user).id)
            }
            try await f.setCreatedAt("users", ids: Array(ids.prefix(7)))
            _ = try await f.users.setDisabled(id: ids[1], disabled: true)
            _ = try await f.users.setDisabled(id: ids[5], disabled: true)

            // MUT
            for limit in [1, 2, 3, 4, 9, 10] {
                let (users, pages) = try await AccountFixtures.allPages(limit: limit) { try await f.users.list(.all, page: $0) }
                // validate: each row exactly once, in (created_at, id) order
                #expect(users.count == 9, "limit \(limit)")
                #expect(Set(users.map(\.id)) == Set(ids), "limit \(limit)")
                #expect(pages == (9 + limit - 1) / limit, "limit \(limit)")
                let keys = users.map { ($0.createdAt, $0.id.uuidString) }
                #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.0 <= $1.0 }, "limit \(limit)")
            }
            let admins = try await AccountFixtures.allPages(limit: 1) { try await f.users.list(UserFilter(role: .admin), page: $0) }.items
            #expect(Set(admins.map(\.id)) == [ids[0], ids[1]])
            let disabled = try await AccountFixtures.allPages(limit: 1) { try await f.users.list(UserFilter(disabled: true), page: $0) }.items
            #expect(Set(disabled.map(\.id)) == [ids[1], ids[5]])
            let enabledAdmins = try await f.users.list(UserFilter(role: .admin, disabled: false), page: .first).items
            #expect(enabledAdmins.map(\.id) == [ids[0]])
            #expect(try await f.users.count() == 9)
            #expect(try await f.users.list(page: .first).items.count == 9)
            #expect(try await f.users.count(UserFilter(role: .admin)) == 2)
            #expect(try await f.users.count(UserFilter(disabled: false)) == 7)
        }
    }

    @Test func passwordChangeInvalidatesTokensAndClearsTheFlag() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let user = try await f.users.create(NewUser(email: "reset@example.org", passwordHash: "old", mustChangePassword: true))
            let token = try await f.tokens.issue(
                userID: user.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 3600, absoluteExpiresAt: .now + 7200)
            try await Task.sleep(for: .milliseconds(5))

            // MUT
            let changed = try await f.users.setPasswordHash(id: user.id, passwordHash: "new")

            // validate
            #expect(changed.passwordHash == "new" && !changed.mustChangePassword)
            #expect(changed.tokensValidAfter > user.tokensValidAfter)
            let revoked = try await client.query("SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE id = \(token.id)")
                .collect().first?.decode(Bool.self)
            #expect(revoked == true)
            let reset = try await f.users.setPasswordHash(id: user.id, passwordHash: "temp", mustChangePassword: true)
            #expect(reset.mustChangePassword)
        }
    }

    @Test func disablingRevokesRefreshTokensAndEnablingClears() async throws {
        try await withTestDatabase { client in
            // setup: two tokens of the user, one of someone else
            let f = AccountFixtures(client: client)
            let user = try await f.user("mallory")
            let other = try await f.user("alice")
            let hashes = (0..<3).map { _ in AccountFixtures.hash() }
            for (index, hash) in hashes.enumerated() {
                _ = try await f.tokens.issue(
                    userID: index < 2 ? user.id : other.id, hash: hash, family: nil, expiresAt: .now + 3600, absoluteExpiresAt: .now + 7200)
            }
            try await Task.sleep(for: .milliseconds(5))

            // MUT
            let disabled = try await f.users.setDisabled(id: user.id, disabled: true)

            // validate
            #expect(disabled.isDisabled && disabled.tokensValidAfter > user.tokensValidAfter)
            #expect(try await f.tokens.find(hash: hashes[0])?.revokedAt != nil)
            #expect(try await f.tokens.find(hash: hashes[1])?.revokedAt != nil)
            #expect(try await f.tokens.find(hash: hashes[2])?.revokedAt == nil)
            let rotation = try await f.tokens.rotate(presentedHash: hashes[0], newHash: AccountFixtures.hash(), newExpiresAt: .now + 3600)
            #expect(rotation == .revoked(userID: user.id))
            // A token issued to the disabled account anyway is refused too.
            let late = AccountFixtures.hash()
            _ = try await f.tokens.issue(userID: user.id, hash: late, family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60)
            #expect(
                try await f.tokens.rotate(presentedHash: late, newHash: AccountFixtures.hash(), newExpiresAt: .now + 60) == .revoked(userID: user.id))
            // Disabling again keeps the first instant.
            #expect(try await f.users.setDisabled(id: user.id, disabled: true).disabledAt == disabled.disabledAt)
            let enabled = try await f.users.setDisabled(id: user.id, disabled: false)
            #expect(!enabled.isDisabled)
        }
    }

    @Test func deletingAnOwnerIsRefusedUntilItsProjectsAreGone() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            _ = try await f.tokens.issue(
                userID: owner.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60)
            #expect(try await f.users.ownedProjectCount(id: owner.id) == 1)

            // MUT + validate
            let error = try await storageError { try await f.users.delete(id: owner.id) }
            #expect(error == .invalidArgument("the user still owns projects; transfer or delete them first"))
            #expect(try await f.users.find(id: owner.id) != nil)
            _ = try await f.projects.delete(id: project.id)
            #expect(try await f.users.ownedProjectCount(id: owner.id) == 0)
            try await f.users.delete(id: owner.id)
            #expect(try await f.users.find(id: owner.id) == nil)
            let tokens = try await client.query("SELECT count(*)::int8 FROM refresh_tokens").collect().first?.decode(Int.self)
            #expect(tokens == 0)
        }
    }

    @Test func insertOnAConnectionJoinsTheCallersTransaction() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let logger = AccountFixtures.logger
            struct Abort: Error {}
            // A failure after both inserts rolls both back (postgres-nio wraps it in PostgresTransactionError).
            await #expect(throws: (any Error).self) {
                try await client.withTransaction(logger: logger) { connection in
                    let user = try await UserPostgresRepository.insert(
                        NewUser(email: "tx@example.org", passwordHash: "h"), on: connection, logger: logger)
                    _ = try await RefreshTokenPostgresRepository.insert(
                        userID: user.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60,
                        on: connection, logger: logger)
                    throw Abort()
                }
            }
            #expect(try await f.users.find(email: "tx@example.org") == nil)
            // Committed, both are there.
            let hash = AccountFixtures.hash()
            let user = try await client.withTransaction(logger: logger) { connection in
                let user = try await UserPostgresRepository.insert(
                    NewUser(email: "tx@example.org", passwordHash: "h"), on: connection, logger: logger)
                _ = try await RefreshTokenPostgresRepository.insert(
                    userID: user.id, hash: hash, family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60, on: connection, logger: logger)
                return user
            }
            #expect(try await f.tokens.find(hash: hash)?.userID == user.id)
        }
    }
}
