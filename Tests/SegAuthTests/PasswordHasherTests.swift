import Foundation
import Testing

@testable import SegAuth

@Suite struct PasswordHasherTests {
    /// Cost 4 keeps the suite fast; `productionCostIsTwelve` checks the real setting once.
    let hasher = PasswordHasher(cost: 4)

    @Test func hashVerifiesTheSamePasswordOnly() async throws {
        let hash = try await hasher.hash("correct horse battery")
        #expect(try await hasher.verify("correct horse battery", against: hash))
        #expect(try await !hasher.verify("correct horse batterY", against: hash))
        #expect(try await !hasher.verify("", against: hash))
    }

    @Test func productionCostIsTwelve() async throws {
        let hash = try await PasswordHasher().hash("long enough password")
        #expect(hash.hasPrefix("$2b$12$") || hash.hasPrefix("$2a$12$") || hash.hasPrefix("$2y$12$"))
    }

    /// bcrypt alone reads 72 bytes; two passwords equal in their first 100 characters must still differ.
    @Test func charactersBeyondSeventyTwoBytesCount() async throws {
        let stem = String(repeating: "a", count: 100)
        let hash = try await hasher.hash(stem + "1")
        #expect(try await hasher.verify(stem + "1", against: hash))
        #expect(try await !hasher.verify(stem + "2", against: hash))
    }

    @Test(arguments: [
        ("short12", false), ("8 chars!", true), (String(repeating: "x", count: 128), true), (String(repeating: "x", count: 129), false),
    ])
    func lengthIsEightToOneHundredTwentyEightCharacters(password: String, valid: Bool) {
        if valid {
            #expect(throws: Never.self) { try PasswordHasher.validate(password) }
        } else {
            #expect(throws: AuthError.self) { try PasswordHasher.validate(password) }
        }
    }

    /// Characters, not bytes: eight emoji are a valid password.
    @Test func lengthCountsCharactersNotBytes() throws {
        try PasswordHasher.validate(String(repeating: "🧫", count: 8))
        #expect(throws: AuthError.self) { try PasswordHasher.validate(String(repeating: "🧫", count: 7)) }
    }

    @Test func malformedHashNeverMatches() async throws {
        #expect(try await !hasher.verify("whatever password", against: "not a bcrypt hash"))
        #expect(try await !hasher.verify("whatever password", against: ""))
    }

    /// RELIABILITY P7 without a timing assertion: the dummy hash an unknown email is checked against has the
    /// hasher's own cost, so the same bcrypt work runs, and it is a real hash that rejects every password.
    @Test func dummyVerificationUsesARealHashOfTheSameCost() async throws {
        let slow = PasswordHasher(cost: 10)
        #expect(slow.dummyHash.dropFirst(4).hasPrefix("10$"))
        #expect(hasher.dummyHash.dropFirst(4).hasPrefix("04$"))
        #expect(try await !slow.verify("wrong password here", against: slow.dummyHash))
    }
}

@Suite struct RefreshTokensTests {
    @Test func tokensAreUniqueWellFormedAndHashedWithSHA256() {
        let a = RefreshTokens.make()
        let b = RefreshTokens.make()
        #expect(a.token != b.token)
        #expect(RefreshTokens.isWellFormed(a.token))
        #expect(a.hash == RefreshTokens.hash(a.token))
        #expect(a.hash.count == 32)
        #expect(!RefreshTokens.isWellFormed("rt_short"))
        #expect(!RefreshTokens.isWellFormed(a.token.replacingOccurrences(of: "rt_", with: "xx_")))
    }
}
