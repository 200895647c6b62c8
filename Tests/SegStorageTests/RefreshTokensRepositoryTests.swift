import Foundation
import PostgresNIO
import SegStorage
import SegTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct RefreshTokensRepositoryTests {
    @Test func issueStartsOrContinuesAFamilyWithinItsAbsoluteExpiry() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let absolute = Date.now + 30 * 86_400
            let first = try await RefreshTokenRepository.issue(
                userID: user.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 3600, absoluteExpiresAt: absolute, on: f.database)
            let second = try await RefreshTokenRepository.issue(
                userID: user.id, hash: AccountFixtures.hash(), expiresAt: .now + 3600, absoluteExpiresAt: absolute, on: f.database)
            #expect(first.family != second.family)
            let same = try await RefreshTokenRepository.issue(
                userID: user.id, hash: AccountFixtures.hash(), family: first.family, expiresAt: absolute + 86_400, absoluteExpiresAt: absolute,
                on: f.database)
            #expect(same.family == first.family)
            #expect(abs(same.expiresAt.timeIntervalSince(absolute)) < 0.001)  // clamped to the absolute expiry
            #expect(first.userID == user.id && first.usedAt == nil && first.revokedAt == nil && first.replacedBy == nil)
        }
    }

    @Test func hashesMustBeSHA256DigestsAndUnique() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let short = try await storageError {
                _ = try await RefreshTokenRepository.issue(
                    userID: user.id, hash: Data([1, 2, 3]), family: nil, expiresAt: .now, absoluteExpiresAt: .now, on: f.database)
            }
            #expect(short == .invalidArgument("a token hash must be a SHA-256 digest (32 bytes)"))
            let hash = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: hash, family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60, on: f.database)
            let duplicate = try await storageError {
                _ = try await RefreshTokenRepository.issue(
                    userID: user.id, hash: hash, family: nil, expiresAt: .now + 60, absoluteExpiresAt: .now + 60, on: f.database)
            }
            #expect(duplicate == .conflict(constraint: "refresh_tokens_hash_key"))
            let unknownUser = try await storageError {
                _ = try await RefreshTokenRepository.issue(
                    userID: UUID(), hash: AccountFixtures.hash(), family: nil, expiresAt: .now, absoluteExpiresAt: .now, on: f.database)
            }
            #expect(unknownUser == .invalidReference(constraint: "refresh_tokens_user_id_fkey"))
        }
    }

    @Test func rotationMarksTheTokenUsedAndIssuesItsSuccessor() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let (old, new) = (AccountFixtures.hash(), AccountFixtures.hash())
            let absolute = Date.now + 3600
            let issued = try await RefreshTokenRepository.issue(
                userID: user.id, hash: old, family: nil, expiresAt: .now + 600, absoluteExpiresAt: absolute, on: f.database)

            // MUT
            let result = try await RefreshTokenRepository.rotate(presentedHash: old, newHash: new, newExpiresAt: .now + 7200, on: f.database)

            // validate
            guard case .rotated(let userID, let successor) = result else {
                Issue.record("expected a rotation, got \(result)")
                return
            }
            #expect(userID == user.id)
            #expect(successor.family == issued.family && successor.userID == user.id)
            #expect(abs(successor.expiresAt.timeIntervalSince(absolute)) < 0.001)  // never past the family's end
            #expect(try await RefreshTokenRepository.find(hash: new, on: f.database) == successor)
            let presented = try #require(try await RefreshTokenRepository.find(hash: old, on: f.database))
            #expect(presented.usedAt != nil && presented.replacedBy == successor.id && presented.revokedAt == nil)
        }
    }

    @Test func reusingARotatedTokenRevokesTheWholeFamily() async throws {
        try await withTestDatabase { client in
            // setup: a → b → c, plus another login of the same user
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let (a, b, c, other) = (AccountFixtures.hash(), AccountFixtures.hash(), AccountFixtures.hash(), AccountFixtures.hash())
            let first = try await RefreshTokenRepository.issue(
                userID: user.id, hash: a, family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: other, family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            guard case .rotated = try await RefreshTokenRepository.rotate(presentedHash: a, newHash: b, newExpiresAt: .now + 600, on: f.database)
            else {
                Issue.record("first rotation failed")
                return
            }
            guard case .rotated = try await RefreshTokenRepository.rotate(presentedHash: b, newHash: c, newExpiresAt: .now + 600, on: f.database)
            else {
                Issue.record("second rotation failed")
                return
            }

            // MUT: the stolen first token comes back
            let reuse = try await RefreshTokenRepository.rotate(
                presentedHash: a, newHash: AccountFixtures.hash(), newExpiresAt: .now + 600, on: f.database)

            // validate
            #expect(reuse == .reused(userID: user.id, family: first.family))
            for hash in [a, b, c] {
                #expect(try await RefreshTokenRepository.find(hash: hash, on: f.database)?.revokedAt != nil)
            }
            #expect(
                try await RefreshTokenRepository.rotate(presentedHash: c, newHash: AccountFixtures.hash(), newExpiresAt: .now + 600, on: f.database)
                    == .revoked(userID: user.id))
            #expect(try await RefreshTokenRepository.find(hash: other, on: f.database)?.revokedAt == nil)  // other logins are untouched
        }
    }

    @Test func expiredRevokedAndUnknownTokensAreNotRotated() async throws {
        try await withTestDatabase { client in
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let expired = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: expired, family: nil, expiresAt: .now - 1, absoluteExpiresAt: .now + 3600, on: f.database)
            let pastAbsolute = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: pastAbsolute, family: nil, expiresAt: .now - 10, absoluteExpiresAt: .now - 1, on: f.database)
            let loggedOut = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: loggedOut, family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            #expect(try await RefreshTokenRepository.revoke(hash: loggedOut, on: f.database))
            #expect(try await RefreshTokenRepository.revoke(hash: loggedOut, on: f.database) == false)

            let newHash = AccountFixtures.hash()
            #expect(
                try await RefreshTokenRepository.rotate(presentedHash: expired, newHash: newHash, newExpiresAt: .now + 600, on: f.database)
                    == .expired(userID: user.id))
            #expect(
                try await RefreshTokenRepository.rotate(presentedHash: pastAbsolute, newHash: newHash, newExpiresAt: .now + 600, on: f.database)
                    == .expired(userID: user.id))
            #expect(
                try await RefreshTokenRepository.rotate(presentedHash: loggedOut, newHash: newHash, newExpiresAt: .now + 600, on: f.database)
                    == .revoked(userID: user.id))
            #expect(
                try await RefreshTokenRepository.rotate(
                    presentedHash: AccountFixtures.hash(), newHash: newHash, newExpiresAt: .now + 600, on: f.database) == .unknown)
            // None of them issued anything or was marked used.
            #expect(try await RefreshTokenRepository.find(hash: newHash, on: f.database) == nil)
            #expect(try await RefreshTokenRepository.find(hash: expired, on: f.database)?.usedAt == nil)
        }
    }

    @Test func loggingOutWithAStaleTokenEndsTheWholeSession() async throws {
        try await withTestDatabase { client in
            // setup: a → b (a is stale, b is live); another session of the same user
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let (a, b, other) = (AccountFixtures.hash(), AccountFixtures.hash(), AccountFixtures.hash())
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: a, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: other, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            _ = try await RefreshTokenRepository.rotate(presentedHash: a, newHash: b, newExpiresAt: .now + 600, on: f.database)

            // MUT
            let revoked = try await RefreshTokenRepository.revokeFamily(containingHash: a, on: f.database)

            // validate
            #expect(revoked == 2)
            #expect(
                try await RefreshTokenRepository.rotate(presentedHash: b, newHash: AccountFixtures.hash(), newExpiresAt: .now + 600, on: f.database)
                    == .revoked(userID: user.id))
            #expect(try await RefreshTokenRepository.find(hash: other, on: f.database)?.revokedAt == nil)
            #expect(try await RefreshTokenRepository.revokeFamily(containingHash: AccountFixtures.hash(), on: f.database) == 0)
        }
    }

    @Test func concurrentRotationsOfOneTokenHaveExactlyOneWinner() async throws {
        try await withTestDatabase { client in
            // setup
            let f = AccountFixtures(client: client)
            let user = try await f.user()
            let presented = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: user.id, hash: presented, family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)

            // MUT: 8 clients present the same token at once
            let results = try await withThrowingTaskGroup(of: RefreshTokenRotation.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await RefreshTokenRepository.rotate(
                            presentedHash: presented, newHash: AccountFixtures.hash(), newExpiresAt: .now + 600, on: f.database)
                    }
                }
                var results: [RefreshTokenRotation] = []
                for try await result in group { results.append(result) }
                return results
            }

            // validate: one rotation; the next caller replays a used token and revokes the family, so the rest find
            // it revoked
            let rotated = results.filter { if case .rotated = $0 { true } else { false } }
            #expect(rotated.count == 1)
            #expect(results.filter { if case .reused = $0 { true } else { false } }.count == 1)
            #expect(results.filter { $0 == .revoked(userID: user.id) }.count == 6)
            let successors = try await client.query("SELECT count(*)::int8 FROM refresh_tokens WHERE hash <> \(presented)")
                .collect().first?.decode(Int.self)
            #expect(successors == 1)
        }
    }

    @Test func revokeFamilyAllAndDeleteExpired() async throws {
        try await withTestDatabase { client in
            // setup: user A has two families (one of two tokens), user B one token; one expired token
            let f = AccountFixtures(client: client)
            let a = try await f.user("a")
            let b = try await f.user("b")
            let first = try await RefreshTokenRepository.issue(
                userID: a.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            _ = try await RefreshTokenRepository.issue(
                userID: a.id, hash: AccountFixtures.hash(), family: first.family, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600,
                on: f.database)
            _ = try await RefreshTokenRepository.issue(
                userID: a.id, hash: AccountFixtures.hash(), family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            let bToken = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: b.id, hash: bToken, family: nil, expiresAt: .now + 600, absoluteExpiresAt: .now + 3600, on: f.database)
            let old = AccountFixtures.hash()
            _ = try await RefreshTokenRepository.issue(
                userID: b.id, hash: old, family: nil, expiresAt: .now - 60, absoluteExpiresAt: .now + 3600, on: f.database)

            // MUT + validate
            #expect(try await RefreshTokenRepository.revokeFamily(first.family, on: f.database) == 2)
            #expect(try await RefreshTokenRepository.revokeFamily(first.family, on: f.database) == 0)
            #expect(try await RefreshTokenRepository.revokeAll(userID: a.id, on: f.database) == 1)
            #expect(try await RefreshTokenRepository.deleteExpired(on: f.database) == 1)
            #expect(try await RefreshTokenRepository.find(hash: old, on: f.database) == nil)
            #expect(try await RefreshTokenRepository.find(hash: bToken, on: f.database)?.revokedAt == nil)
        }
    }
}
