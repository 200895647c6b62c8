import Foundation
import PostgresNIO
import SegAuth
import SegTestSupport
import Testing

@testable import SegStorage

/// `segctl users|projects|queue|check|stats` against real PostgreSQL.
@Suite(.timeLimit(.minutes(10))) struct AdminCommandTests {
    static let hasher = PasswordHasher(cost: 4)

    static func auditActions(_ client: PostgresClient) async throws -> [String] {
        var actions: [String] = []
        for try await action in try await client.query("SELECT action FROM audit_log ORDER BY id").decode(String.self) { actions.append(action) }
        return actions
    }

    static func user(_ email: String, _ client: PostgresClient) async throws -> UserRecord? {
        try await UserRepository.find(email: email, on: Database(client: client, logger: AdminFixtures.logger))
    }

    @Test func createMakesTheAccountAMemberOfTheProjectsThatInvitedItsAddress() async throws {
        try await withTestDatabaseURL { client, url in
            // setup: a project that invited the address in another letter case
            let database = Database(client: client, logger: AdminFixtures.logger)
            let owner = try await UserRepository.create(NewUser(email: "owner@example.org", passwordHash: "h"), on: database)
            let project = try await ProjectRepository.create(ownerID: owner.id, name: "Invited", description: "", on: database)
            _ = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "Quinn@Example.org", role: .editor, invitedBy: owner.id, on: database)

            // MUT
            let created = try await AdminFixtures.run(
                ["users", "create", "quinn@example.ORG", "--database-url", url], stdin: Data("correct horse battery\n".utf8))

            // validate: an editor, the invitation used up, both audited
            #expect(created.status == 0, "stderr: \(created.stderr)")
            #expect(created.stdoutText.contains("member of 1 project(s) through pending invitations"))
            let quinn = try #require(try await Self.user("quinn@example.org", client))
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: quinn.id, on: database) == .editor)
            #expect(try await ProjectInvitationRepository.list(projectID: project.id, page: .first, on: database).items.isEmpty)
            #expect(try await Self.auditActions(client).suffix(2) == ["user.create", "invitation.activate"])
        }
    }

    @Test func verifyConfirmsAnAddressAndJoinsWhatInvitedIt() async throws {
        try await withTestDatabaseURL { client, url in
            // setup: a self-service account that never confirmed its address, and a project that invited it
            let database = Database(client: client, logger: AdminFixtures.logger)
            let owner = try await UserRepository.create(NewUser(email: "owner@example.org", passwordHash: "h"), on: database)
            let project = try await ProjectRepository.create(ownerID: owner.id, name: "Invited", description: "", on: database)
            let rory = try await UserRepository.register(NewUser(email: "Rory@example.org", passwordHash: "h", emailVerified: false), on: database)
            #expect(rory.activated.isEmpty && !rory.user.isEmailVerified)
            _ = try await ProjectInvitationRepository.invite(
                projectID: project.id, email: "rory@example.org", role: .viewer, invitedBy: owner.id, on: database)
            let listed = try await AdminFixtures.run(["users", "list", "--database-url", url])
            #expect(listed.stdoutText.contains("unverified"))

            // MUT
            let verified = try await AdminFixtures.run(["users", "verify", "RORY@example.org", "--database-url", url])
            let again = try await AdminFixtures.run(["users", "verify", "rory@example.org", "--database-url", url])
            let unknown = try await AdminFixtures.run(["users", "verify", "nobody@example.org", "--database-url", url])

            // validate: confirmed, a viewer, audited once; a second run changes nothing; an unknown address fails
            #expect(verified.status == 0, "stderr: \(verified.stderr)")
            #expect(verified.stdoutText == "Rory@example.org is confirmed; it joined 1 project(s) that invited it\n")
            #expect(again.status == 0 && again.stdoutText == "Rory@example.org was already confirmed\n")
            #expect(unknown.status != 0 && unknown.stderr.contains("nobody@example.org"))
            let user = try #require(try await Self.user("rory@example.org", client))
            #expect(user.isEmailVerified)
            #expect(try await ProjectMemberRepository.role(projectID: project.id, userID: user.id, on: database) == .viewer)
            #expect(try await Self.auditActions(client) == ["user.email.verify", "invitation.activate"])
        }
    }

    @Test func createTakesThePasswordFromStdinAndRefusesBadInput() async throws {
        try await withTestDatabaseURL { client, url in
            // MUT
            let created = try await AdminFixtures.run(
                ["users", "create", "Ada@Example.org", "--name", "Ada", "--role", "admin", "--database-url", url, "--json"],
                stdin: Data("correct horse battery\n".utf8))

            // validate: stored with a bcrypt hash of the given password, no forced change, audited, no password echoed
            #expect(created.status == 0, "stderr: \(created.stderr)")
            let user = try #require(try await Self.user("ada@example.org", client))
            #expect(user.email == "Ada@Example.org" && user.name == "Ada" && user.role == .admin && !user.mustChangePassword)
            #expect(user.passwordHash.hasPrefix("$2b$12$"))
            #expect(try await Self.hasher.verify("correct horse battery", against: user.passwordHash))
            #expect(!created.stdoutText.contains("correct horse battery"))
            let json = try #require(try AdminFixtures.json(created) as? [String: Any])
            #expect(json["password"] == nil)
            #expect(try await Self.auditActions(client) == ["user.create"])

            // the same email in another case, a short password, no password line, a bad role, no email
            let taken = try await AdminFixtures.run(
                ["users", "create", "ADA@example.org", "--database-url", url], stdin: Data("another password\n".utf8))
            #expect(taken.status == 1 && taken.stderr.contains("already registered"))
            let short = try await AdminFixtures.run(["users", "create", "bob@example.org", "--database-url", url], stdin: Data("short\n".utf8))
            #expect(short.status == 1 && short.stderr.contains("at least 8"), "stderr: \(short.stderr)")
            let empty = try await AdminFixtures.run(["users", "create", "bob@example.org", "--database-url", url], stdin: Data())
            #expect(empty.status == 1 && empty.stderr.contains("no password"))
            let role = try await AdminFixtures.run(
                ["users", "create", "bob@example.org", "--role", "root", "--database-url", url], stdin: Data("long enough pw\n".utf8))
            #expect(role.status == 64)
            let noEmail = try await AdminFixtures.run(["users", "create", "--database-url", url])
            #expect(noEmail.status == 64)
            let notAnEmail = try await AdminFixtures.run(["users", "create", "bob", "--database-url", url], stdin: Data("long enough pw\n".utf8))
            #expect(notAnEmail.status == 64)
            #expect(try await Self.user("bob@example.org", client) == nil)
            #expect(try await UserRepository.count(on: Database(client: client, logger: AdminFixtures.logger)) == 1)
        }
    }

    /// On a terminal (a pseudo-terminal from util-linux `script`) `create` generates the password and shows it once.
    @Test func createOnATerminalGeneratesAOneTimePassword() async throws {
        try await withTestDatabaseURL { client, url in
            // MUT
            let binary = try SegCtlRunner.binary.path
            let output: String = try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    do {
                        let process = Process()
                        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
                        process.arguments = ["-qec", "'\(binary)' users create term@example.org --database-url '\(url)'", "/dev/null"]
                        let pipe = Pipe()
                        process.standardOutput = pipe
                        process.standardInput = FileHandle.nullDevice
                        try process.run()
                        let data = pipe.fileHandleForReading.readDataToEndOfFile()
                        process.waitUntilExit()
                        continuation.resume(returning: "status \(process.terminationStatus)\n" + String(decoding: data, as: UTF8.self))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
            }

            // validate: exit 0, the password printed once, stored as a bcrypt hash, to be changed at the first login
            #expect(output.hasPrefix("status 0\n"), "\(output)")
            let match = try #require(output.firstMatch(of: /one-time password: ([A-Za-z0-9]{20})/), "\(output)")
            let password = String(match.1)
            #expect(output.components(separatedBy: password).count == 2, "shown exactly once")
            let user = try #require(try await Self.user("term@example.org", client))
            #expect(user.mustChangePassword)
            #expect(try await Self.hasher.verify(password, against: user.passwordHash))
            #expect(!output.contains("warning"), "\(output)")
        }
    }

    @Test func resetPasswordGeneratesAOneTimePasswordAndEndsSessions() async throws {
        try await withTestDatabaseURL { client, url in
            // setup: a user with a live refresh token
            let database = Database(client: client, logger: AdminFixtures.logger)
            let user = try await UserRepository.create(
                NewUser(email: "eve@example.org", passwordHash: try await Self.hasher.hash("old password 1")), on: database)
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: Data(repeating: 7, count: 32), expiresAt: Date().addingTimeInterval(3600),
                absoluteExpiresAt: Date().addingTimeInterval(7200), on: Database(client: client, logger: AdminFixtures.logger))

            // MUT
            let reset = try await AdminFixtures.run(["users", "reset-password", "eve@example.org", "--database-url", url, "--json"])

            // validate
            #expect(reset.status == 0, "stderr: \(reset.stderr)")
            let json = try #require(try AdminFixtures.json(reset) as? [String: Any])
            let password = try #require(json["password"] as? String)
            #expect(password.count == 20)
            let after = try #require(try await UserRepository.find(id: user.id, on: database))
            #expect(after.mustChangePassword)
            #expect(try await Self.hasher.verify(password, against: after.passwordHash))
            let oldPasswordWorks = try await Self.hasher.verify("old password 1", against: after.passwordHash)
            #expect(!oldPasswordWorks)
            #expect(after.tokensValidAfter > user.tokensValidAfter)
            var live = -1
            for try await count in try await client.query("SELECT count(*)::int8 FROM refresh_tokens WHERE revoked_at IS NULL").decode(Int64.self) {
                live = Int(count)
            }
            #expect(live == 0)
            // two resets never give the same password
            let again = try await AdminFixtures.run(["users", "reset-password", "eve@example.org", "--database-url", url, "--json"])
            let second = try AdminFixtures.json(again) as? [String: Any]
            #expect(second?["password"] as? String != password)
            let unknown = try await AdminFixtures.run(["users", "reset-password", "nobody@example.org", "--database-url", url])
            #expect(unknown.status == 1 && unknown.stderr.contains("no user nobody@example.org"))
        }
    }

    @Test func disableRevokesTokensAndTheLastAdminIsProtected() async throws {
        try await withTestDatabaseURL { client, url in
            let database = Database(client: client, logger: AdminFixtures.logger)
            let admin = try await UserRepository.create(NewUser(email: "root@example.org", passwordHash: "$2b$04$a", role: .admin), on: database)
            let user = try await UserRepository.create(NewUser(email: "user@example.org", passwordHash: "$2b$04$b"), on: database)
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: Data(repeating: 9, count: 32), expiresAt: Date().addingTimeInterval(3600),
                absoluteExpiresAt: Date().addingTimeInterval(7200), on: Database(client: client, logger: AdminFixtures.logger))

            let disabled = try await AdminFixtures.run(["users", "disable", "user@example.org", "--database-url", url])
            #expect(disabled.status == 0, "stderr: \(disabled.stderr)")
            #expect(try await UserRepository.find(id: user.id, on: database)?.isDisabled == true)
            var revoked = 0
            for try await count in try await client.query("SELECT count(*)::int8 FROM refresh_tokens WHERE revoked_at IS NOT NULL").decode(Int64.self)
            {
                revoked = Int(count)
            }
            #expect(revoked == 1)
            let shown = try await AdminFixtures.run(["users", "show", "USER@example.org", "--database-url", url, "--json"])
            let summary = try #require(try AdminFixtures.json(shown) as? [String: Any])
            #expect(summary["disabled"] as? Bool == true && summary["ownedProjects"] as? Int == 0 && summary["role"] as? String == "user")
            #expect(summary["passwordHash"] == nil)
            let enabled = try await AdminFixtures.run(["users", "enable", user.id.uuidString, "--database-url", url])
            let reenabled = try await UserRepository.find(id: user.id, on: database)
            #expect(enabled.status == 0 && reenabled?.isDisabled == false)

            // the only admin can be neither demoted, disabled nor deleted; with a second admin it can
            for command in [["set-role", "root@example.org", "user"], ["disable", "root@example.org"], ["delete", "root@example.org"]] {
                let refused = try await AdminFixtures.run(["users"] + command + ["--database-url", url])
                #expect(refused.status == 1 && refused.stderr.contains("last enabled admin"), "\(command): \(refused.stderr)")
            }
            #expect(try await UserRepository.find(id: admin.id, on: database)?.role == .admin)
            let promoted = try await AdminFixtures.run(["users", "set-role", "user@example.org", "admin", "--database-url", url])
            #expect(promoted.status == 0)
            let demoted = try await AdminFixtures.run(["users", "set-role", "root@example.org", "user", "--database-url", url])
            let former = try await UserRepository.find(id: admin.id, on: database)
            #expect(demoted.status == 0 && former?.role == .user)

            let listed = try await AdminFixtures.run(["users", "list", "--database-url", url, "--json"])
            let entries = try #require(try AdminFixtures.json(listed) as? [[String: Any]])
            #expect(entries.map { $0["email"] as? String } == ["root@example.org", "user@example.org"])
            #expect(entries.allSatisfy { $0["passwordHash"] == nil })
            #expect(
                try await Self.auditActions(client) == ["user.disable", "user.enable", "user.set_role", "user.set_role"])
        }
    }

    @Test func deleteRefusesAnOwnerUnlessProjectsAreTransferredOrDeleted() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        try await withTestDatabaseURL { client, url in
            let first = try await AdminFixtures.seed(client: client, store: store, images: 2, tag: "a")
            let second = try await AdminFixtures.seed(client: client, store: store, images: 2, tag: "b")
            let database = Database(client: client, logger: AdminFixtures.logger)

            // refused while owning
            let refused = try await AdminFixtures.run(["users", "delete", "owner-a@example.org", "--database-url", url])
            #expect(refused.status == 1 && refused.stderr.contains("owns 1 project"), "stderr: \(refused.stderr)")
            #expect(try await UserRepository.find(id: first.owner.id, on: database) != nil)
            let both = try await AdminFixtures.run(
                [
                    "users", "delete", "owner-a@example.org", "--transfer-to", "viewer-a@example.org", "--delete-projects", "--database-url", url,
                    "--data-dir", root.path,
                ])
            #expect(both.status == 64)

            // --transfer-to
            let transferred = try await AdminFixtures.run(
                ["users", "delete", "owner-a@example.org", "--transfer-to", "viewer-a@example.org", "--database-url", url])
            #expect(transferred.status == 0, "stderr: \(transferred.stderr)")
            #expect(try await UserRepository.find(id: first.owner.id, on: database) == nil)
            let viewer = try #require(try await Self.user("viewer-a@example.org", client))
            #expect(try await ProjectRepository.find(id: first.project.id, on: database)?.ownerID == viewer.id)

            // --delete-projects removes the project, its rows and its files (files written in the last
            // ten minutes are spared for a concurrent upload of the same content: these are made older)
            let hourAgo = Date().addingTimeInterval(-3600)
            for image in second.images {
                try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: store.url(for: image.objectKey).path)
            }
            let deleted = try await AdminFixtures.run(
                ["users", "delete", "owner-b@example.org", "--delete-projects", "--database-url", url, "--data-dir", root.path])
            #expect(deleted.status == 0, "stderr: \(deleted.stderr)")
            #expect(try await ProjectRepository.find(id: second.project.id, on: database) == nil)
            for image in second.images { #expect(!store.exists(image.objectKey)) }
            for image in first.images { #expect(store.exists(image.objectKey)) }
            let actions = try await Self.auditActions(client).filter { $0.hasPrefix("user.") }
            #expect(actions == ["user.delete", "user.delete"])
        }
    }

    @Test func projectsListShowAndTransfer() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        try await withTestDatabaseURL { client, url in
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 3)
            let listed = try await AdminFixtures.run(["projects", "list", "--database-url", url, "--json"])
            let entries = try #require(try AdminFixtures.json(listed) as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["ownerEmail"] as? String == "owner-a@example.org")
            #expect((entries.first?["imageCounts"] as? [String: Int])?["new"] == 3)

            let id = seeded.project.id.uuidString.lowercased()
            let shown = try await AdminFixtures.run(["projects", "show", id, "--database-url", url])
            #expect(shown.status == 0 && shown.stdoutText.contains("members:     2"), "\(shown.stdoutText)")
            // The owner's storage: the three seeded images of 2,048 bytes each (what SEG_USER_QUOTA_BYTES counts).
            let owner = try await AdminFixtures.run(["users", "show", "owner-a@example.org", "--database-url", url])
            #expect(owner.stdoutText.contains("storage used:         6144 bytes"), "\(owner.stdoutText)")

            let moved = try await AdminFixtures.run(["projects", "transfer", id, "viewer-a@example.org", "--database-url", url])
            #expect(moved.status == 0, "stderr: \(moved.stderr)")
            let viewer = try #require(try await Self.user("viewer-a@example.org", client))
            #expect(
                try await ProjectRepository.find(id: seeded.project.id, on: Database(client: client, logger: AdminFixtures.logger))?.ownerID
                    == viewer.id)
            #expect(try await Self.auditActions(client).last == "project.transfer")

            let unknown = try await AdminFixtures.run(["projects", "show", UUID().uuidString, "--database-url", url])
            #expect(unknown.status == 1 && unknown.stderr.contains("no project"))
            let badID = try await AdminFixtures.run(["projects", "show", "not-a-uuid", "--database-url", url])
            #expect(badID.status == 64)
        }
    }

    @Test func queueStatsRetryAndCancel() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        try await withTestDatabaseURL { client, url in
            // setup: three queued segmentations, one of which fails for good
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 3)
            let queue = JobQueue()
            let database = Database(client: client, logger: AdminFixtures.logger)
            let ids = seeded.images.map(\.id)
            _ = try await ImageRepository.setStatus(.queued, ids: ids, on: Database(client: client, logger: AdminFixtures.logger))
            _ = try await queue.enqueue(ids.map { NewJob(kind: .segment, projectID: seeded.project.id, imageID: $0) }, on: database)
            let claimed = try #require(try await queue.claim(worker: "test", on: database))
            _ = try await queue.fail(claimed.lease, error: "decoder exploded", permanent: true, on: database)

            let stats = try await AdminFixtures.run(["queue", "stats", "--database-url", url, "--json"])
            #expect(stats.status == 0)
            #expect(try AdminFixtures.json(stats) as? [String: Int] == ["queued": 2, "running": 0, "failed": 1])
            let failedList = try await AdminFixtures.run(["queue", "list", "--state", "failed", "--database-url", url, "--json"])
            let failed = try #require(try AdminFixtures.json(failedList) as? [[String: Any]])
            #expect(failed.count == 1 && failed.first?["lastError"] as? String == "decoder exploded")

            // retry every failed job
            let retried = try await AdminFixtures.run(["queue", "retry", "--all", "--database-url", url])
            #expect(retried.status == 0 && retried.stdoutText.contains("1 job(s)"), "stderr: \(retried.stderr)")
            #expect(try await queue.stats(on: database) == QueueStats(queued: 3, running: 0, failed: 0))

            // cancel the project's jobs: images go back to `new` (those with a segmentation to `segmented`)
            let cancelled = try await AdminFixtures.run(["queue", "cancel", "--project", seeded.project.id.uuidString, "--database-url", url])
            #expect(cancelled.status == 0 && cancelled.stdoutText.contains("3 job(s) cancelled"), "stderr: \(cancelled.stderr)")
            #expect(try await queue.stats(on: database) == QueueStats())
            for (index, id) in ids.enumerated() {
                #expect(try await ImageRepository.get(id: id, on: database).status == (index % 2 == 0 ? .segmented : .new))
            }

            // bad usage and unknown jobs
            let nothing = try await AdminFixtures.run(["queue", "retry", "--database-url", url])
            #expect(nothing.status == 64)
            let two = try await AdminFixtures.run(["queue", "cancel", UUID().uuidString, "--all", "--database-url", url])
            #expect(two.status == 64)
            let unknown = try await AdminFixtures.run(["queue", "cancel", UUID().uuidString, "--database-url", url])
            #expect(unknown.status == 1 && unknown.stderr.contains("not found"))

            // prune: of the three cancelled jobs, the one that finished 40 days ago goes; a queued one never does
            try await client.query("UPDATE jobs SET finished_at = now() - interval '40 days' WHERE image_id = \(ids[0])")
            _ = try await queue.enqueue([NewJob(kind: .export, projectID: seeded.project.id)], on: database)
            try await client.query("UPDATE jobs SET created_at = now() - interval '40 days' WHERE kind = 'export'")
            #expect(try await AdminFixtures.run(["queue", "prune", "--older-than-days", "0", "--database-url", url]).status == 64)
            let pruned = try await AdminFixtures.run(["queue", "prune", "--database-url", url, "--json"])
            #expect(pruned.status == 0, "stderr: \(pruned.stderr)")
            #expect(try AdminFixtures.json(pruned) as? [String: Int] == ["deleted": 1])
            #expect(try await queue.count(state: .cancelled, on: database) == 2)
            #expect(try await queue.count(state: .queued, on: database) == 1)

            let actions = try await Self.auditActions(client).filter { $0.hasPrefix("queue.") }
            #expect(actions == ["queue.retry", "queue.cancel", "queue.prune"])
        }
    }

    @Test func checkNamesWhatIsWrong() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try await withTestDatabaseURL { _, url in
            let ok = try await AdminFixtures.run(["check", "--database-url", url, "--data-dir", root.path])
            #expect(ok.status == 0 && ok.stdoutText.hasPrefix("ok"), "stderr: \(ok.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: root.path).isEmpty, "the probe file is removed")

            let noDirectory = try await AdminFixtures.run(["check", "--database-url", url, "--data-dir", root.appendingPathComponent("missing").path])
            #expect(noDirectory.status == 1 && noDirectory.stderr.contains("no such directory"))

            let unreachable = try await AdminFixtures.run(
                [
                    "check", "--database-url", "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable", "--data-dir", root.path, "--json",
                    "--timeout", "2",
                ])
            #expect(unreachable.status == 1)
            let report = try #require(try AdminFixtures.json(unreachable) as? [String: Any])
            #expect(report["ok"] as? Bool == false)
            #expect((report["problems"] as? [String])?.first?.hasPrefix("database") == true, "\(report)")
        }
        try await withTestDatabaseURL(migrated: false) { _, url in
            let unmigrated = try await AdminFixtures.run(["check", "--database-url", url, "--data-dir", root.path])
            #expect(unmigrated.status == 1 && unmigrated.stderr.contains("not migrated"), "stderr: \(unmigrated.stderr)")
        }
        let noDatabase = try await AdminFixtures.run(["check", "--data-dir", root.path])
        #expect(noDatabase.status == 64)
    }

    @Test func statsCountsUsersProjectsImagesAndStorage() async throws {
        let root = try SegCtlRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try LocalObjectStore(root: root)
        try await withTestDatabaseURL { client, url in
            let seeded = try await AdminFixtures.seed(client: client, store: store, images: 4)
            _ = try await ImageRepository.setStatus(.failed, id: seeded.images[0].id, on: Database(client: client, logger: AdminFixtures.logger))
            let output = try await AdminFixtures.run(["stats", "--database-url", url, "--data-dir", root.path, "--json"])
            #expect(output.status == 0, "stderr: \(output.stderr)")
            let stats = try #require(try AdminFixtures.json(output) as? [String: Any])
            #expect(stats["users"] as? Int == 2 && stats["projects"] as? Int == 1 && stats["segmentations"] as? Int == 2)
            #expect(stats["images"] as? [String: Int] == ["new": 3, "queued": 0, "processing": 0, "segmented": 0, "failed": 1])
            #expect(stats["imageBytes"] as? Int == 4 * 2048)
            #expect(stats["storedObjects"] as? Int == 8)
            var onDisk = 0
            for key in try store.allKeys() { onDisk += try store.readBlocking(key).count }
            #expect(stats["storedBytes"] as? Int == onDisk)
            #expect(stats["lastBackupAt"] == nil)
        }
    }
}
