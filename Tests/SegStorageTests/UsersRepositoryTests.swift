import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct UsersRepositoryTests {
    @Test func emailIsKeptAsTypedAndFoundRegardlessOfCase() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let created = try await UserRepository.create(NewUser(email: "Ada.Lovelace@Example.ORG", name: "Ada", passwordHash: "h1"), on: f.database)
            #expect(created.email == "Ada.Lovelace@Example.ORG")
            #expect(created.role == .user)
            #expect(!created.mustChangePassword && !created.isDisabled)

            let byEmail = try await UserRepository.find(email: "ada.lovelace@example.org", on: f.database)
            #expect(byEmail == created)
            #expect(try await UserRepository.find(id: created.id, on: f.database) == created)
            #expect(try await UserRepository.find(email: "ada@example.org", on: f.database) == nil)
        }
    }

    @Test func duplicateEmailInAnyCaseConflictsWithoutLeakingIt() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            _ = try await UserRepository.create(NewUser(email: "grace.hopper@example.org", passwordHash: "h"), on: f.database)
            let error = try await storageError {
                _ = try await UserRepository.create(NewUser(email: "GRACE.Hopper@EXAMPLE.org", passwordHash: "h"), on: f.database)
            }
            #expect(error == .conflict(constraint: "users_email_lower_key"))
            let text = String(describing: error).lowercased()
            #expect(!text.contains("grace") && !text.contains("insert") && !text.contains("users (") && !text.contains("$1"))
            #expect(try await UserRepository.count(.all, on: f.database) == 1)
        }
    }

    @Test func errorsAndRecordsNeverShowEmailsHashesOrSQL() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let email = "private.person@example.org"
            let user = try await UserRepository.create(NewUser(email: email, passwordHash: "$2b$12$secrethashvalue"), on: f.database)
            _ = try await f.project(owner: user.id)

            // MUT: every kind of failure a caller can provoke with an account
            var errors: [StorageError?] = []
            errors.append(
                try await storageError { _ = try await UserRepository.create(NewUser(email: email.uppercased(), passwordHash: "h"), on: f.database) })
            errors.append(try await storageError { _ = try await UserRepository.create(NewUser(email: "", passwordHash: "h"), on: f.database) })
            errors.append(try await storageError { try await UserRepository.delete(id: user.id, on: f.database) })
            errors.append(try await storageError { _ = try await UserRepository.get(id: UUID(), on: f.database) })

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
            let found = try await UserRepository.find(id: id, on: f.database)
            #expect(found == nil)
            #expect(try await storageError { _ = try await UserRepository.get(id: id, on: f.database) } == notFound)
            #expect(try await storageError { _ = try await UserRepository.updateName(id: id, name: "x", on: f.database) } == notFound)
            #expect(try await storageError { _ = try await UserRepository.setRole(id: id, role: .admin, on: f.database) } == notFound)
            #expect(
                try await storageError {
                    _ = try await UserRepository.setPasswordHash(id: id, passwordHash: "h", mustChangePassword: false, on: f.database)
                }
                    == notFound
            )
            #expect(try await storageError { _ = try await UserRepository.setDisabled(id: id, disabled: true, on: f.database) } == notFound)
            #expect(try await storageError { _ = try await UserRepository.setDisabled(id: id, disabled: false, on: f.database) } == notFound)
            #expect(try await storageError { try await UserRepository.delete(id: id, on: f.database) } == notFound)
        }
    }

    @Test func updatesChangeOnlyTheirColumn() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let user = try await f.user("alan")
            let renamed = try await UserRepository.updateName(id: user.id, name: "Alan Turing", on: f.database)
            #expect(renamed.name == "Alan Turing" && renamed.email == user.email && renamed.passwordHash == user.passwordHash)
            let admin = try await UserRepository.setRole(id: user.id, role: .admin, on: f.database)
            #expect(admin.role == .admin && admin.name == "Alan Turing")
            #expect(try await UserRepository.get(id: user.id, on: f.database) == admin)
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
            _ = try await UserRepository.setDisabled(id: ids[1], disabled: true, on: f.database)
            _ = try await UserRepository.setDisabled(id: ids[5], disabled: true, on: f.database)

            // MUT
            for limit in [1, 2, 3, 4, 9, 10] {
                let (users, pages) = try await AccountFixtures.allPages(limit: limit) {
                    try await UserRepository.list(.all, page: $0, on: f.database)
                }
                // validate: each row exactly once, in (created_at, id) order
                #expect(users.count == 9, "limit \(limit)")
                #expect(Set(users.map(\.id)) == Set(ids), "limit \(limit)")
                #expect(pages == (9 + limit - 1) / limit, "limit \(limit)")
                let keys = users.map { ($0.createdAt, $0.id.uuidString) }
                #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.0 <= $1.0 }, "limit \(limit)")
            }
            let admins = try await AccountFixtures.allPages(limit: 1) {
                try await UserRepository.list(UserFilter(role: .admin), page: $0, on: f.database)
            }.items
            #expect(Set(admins.map(\.id)) == [ids[0], ids[1]])
            let disabled = try await AccountFixtures.allPages(limit: 1) {
                try await UserRepository.list(UserFilter(disabled: true), page: $0, on: f.database)
            }.items
            #expect(Set(disabled.map(\.id)) == [ids[1], ids[5]])
            let enabledAdmins = try await UserRepository.list(UserFilter(role: .admin, disabled: false), page: .first, on: f.database).items
            #expect(enabledAdmins.map(\.id) == [ids[0]])
            #expect(try await UserRepository.count(on: f.database) == 9)
            #expect(try await UserRepository.list(page: .first, on: f.database).items.count == 9)
            #expect(try await UserRepository.count(UserFilter(role: .admin), on: f.database) == 2)
            #expect(try await UserRepository.count(UserFilter(disabled: false), on: f.database) == 7)
        }
    }

    @Test func passwordChangeInvalidatesTokensAndClearsTheFlag() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let user = try await UserRepository.create(
                NewUser(email: "reset@example.org", passwordHash: "old", mustChangePassword: true), on: f.database)
            let token = try await RefreshTokenRepository.issue(
                userID: user.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 3600, absoluteExpiresAt: .now + 7200, on: f.database)
            try await Task.sleep(for: .milliseconds(5))

            // MUT
            let changed = try await UserRepository.setPasswordHash(id: user.id, passwordHash: "new", on: f.database)

            // validate
            #expect(changed.passwordHash == "new" && !changed.mustChangePassword)
            #expect(changed.tokensValidAfter > user.tokensValidAfter)
            let revoked = try await client.query("SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE id = \(token.id)")
                .collect().first?.decode(Bool.self)
            #expect(revoked == true)
            let reset = try await UserRepository.setPasswordHash(id: user.id, passwordHash: "temp", mustChangePassword: true, on: f.database)
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
                _ = try await RefreshTokenRepository.issue(
                    userID: index < 2 ? user.id : other.id, hash: hash, family: nil, expiresAt: .now + 3600, absoluteExpiresAt: .now + 7200,
                    on: f.database)
            }
            try await Task.sleep(for: .milliseconds(5))

            // MUT
            let disabled = try await UserRepository.setDisabled(id: user.id, disabled: true, on: f.database)

            // validate
            #expect(disabled.isDisabled && disabled.tokensValidAfter > user.tokensValidAfter)
            #expect(try await RefreshTokenRepository.find(hash: hashes[0], on: f.database)?.revokedAt != nil)
            #expect(try await RefreshTokenRepository.find(hash: hashes[1], on: f.database)?.revokedAt != nil)
            #expect(try await RefreshTokenRepository.find(hash: hashes[2], on: f.database)?.revokedAt == nil)
            let rotation = try await RefreshTokenRepository.rotate(
                presentedHash: hashes[0], newHash: AccountFixtures.hash(), newExpiresAt: .now + 3600, on: f.database)
            #expect(rotation == .revoked(userID: user.id))
            // A token issued to the disabled account anyway is refused too.
            let late = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: late, family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60, on: f.database)
            #expect(
                try await RefreshTokenRepository.rotate(presentedHash: late, newHash: AccountFixtures.hash(), newExpiresAt: .now + 60, on: f.database)
                    == .revoked(userID: user.id))
            // Disabling again keeps the first instant.
            #expect(try await UserRepository.setDisabled(id: user.id, disabled: true, on: f.database).disabledAt == disabled.disabledAt)
            let enabled = try await UserRepository.setDisabled(id: user.id, disabled: false, on: f.database)
            #expect(!enabled.isDisabled)
        }
    }

    @Test func deletingAnOwnerIsRefusedUntilItsProjectsAreGone() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let owner = try await f.user("owner")
            let project = try await f.project(owner: owner.id)
            _ = try await RefreshTokenRepository.issue(
                userID: owner.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60, on: f.database)
            #expect(try await UserRepository.ownedProjectCount(id: owner.id, on: f.database) == 1)

            // MUT + validate
            let error = try await storageError { try await UserRepository.delete(id: owner.id, on: f.database) }
            #expect(error == .invalidArgument("the user still owns projects; transfer or delete them first"))
            #expect(try await UserRepository.find(id: owner.id, on: f.database) != nil)
            _ = try await ProjectRepository.delete(id: project.id, on: f.database)
            #expect(try await UserRepository.ownedProjectCount(id: owner.id, on: f.database) == 0)
            try await UserRepository.delete(id: owner.id, on: f.database)
            #expect(try await UserRepository.find(id: owner.id, on: f.database) == nil)
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
                try await Database(client: client, logger: logger).transaction { transaction in
                    let user = try await UserRepository.create(
                        NewUser(email: "tx@example.org", passwordHash: "h"), on: transaction)
                    _ = try await RefreshTokenRepository.issue(
                        userID: user.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60,
                        on: transaction)
                    throw Abort()
                }
            }
            #expect(try await UserRepository.find(email: "tx@example.org", on: f.database) == nil)
            // Committed, both are there.
            let hash = AccountFixtures.hash()
            let user = try await Database(client: client, logger: logger).transaction { transaction in
                let user = try await UserRepository.create(
                    NewUser(email: "tx@example.org", passwordHash: "h"), on: transaction)
                _ = try await RefreshTokenRepository.issue(
                    userID: user.id, hash: hash, family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60, on: transaction)
                return user
            }
            #expect(try await RefreshTokenRepository.find(hash: hash, on: f.database)?.userID == user.id)
        }
    }
}
