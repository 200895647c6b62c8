import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt password hashing, run on NIO's blocking thread pool so it never stalls the cooperative pool.
///
/// bcrypt reads at most 72 bytes, so the input is base64(SHA-256(password)) (44 bytes): every character of a
/// long password counts. Verification of an unknown email runs against a dummy hash of the same cost, so the
/// answer takes as long as for a known one.
public struct PasswordHasher: Sendable {
    /// Accepted password lengths, in characters.
    public static let lengthRange = 8...128

    /// bcrypt's cost (log2 of the rounds); 12 in production.
    public let cost: UInt8
    private let threadPool: NIOThreadPool
    let dummyHash: String

    /// A hasher of the given cost.
    /// - Parameters:
    ///   - cost: bcrypt cost, `4...31` (12 by default; tests may use less).
    ///   - threadPool: Where hashing runs.
    public init(cost: UInt8 = 12, threadPool: NIOThreadPool = .singleton) {
        self.cost = min(max(cost, 4), 31)
        self.threadPool = threadPool
        self.dummyHash = Bcrypt.hash(Self.prehash("seghub dummy password for unknown accounts"), cost: self.cost)
    }

    /// Checks a new password's length.
    /// - Throws: `AuthError.invalidPassword` when it is shorter than 8 or longer than 128 characters.
    public static func validate(_ password: String) throws(AuthError) {
        let count = password.count
        if count < lengthRange.lowerBound {
            throw .invalidPassword("must be at least \(lengthRange.lowerBound) characters")
        }
        if count > lengthRange.upperBound {
            throw .invalidPassword("must be at most \(lengthRange.upperBound) characters")
        }
    }

    /// Hashes a new password after validating its length.
    /// - Throws: `AuthError.invalidPassword`, or `CancellationError` when the thread pool is shut down.
    public func hash(_ password: String) async throws -> String {
        try Self.validate(password)
        let input = Self.prehash(password)
        let cost = cost
        return try await threadPool.runIfActive { Bcrypt.hash(input, cost: cost) }
    }

    /// Whether `password` matches `hash`. A malformed hash never matches.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        // Overlong input cannot match a stored password (those were validated), but still costs a full check.
        let input = Self.prehash(String(password.prefix(Self.lengthRange.upperBound * 4)))
        return try await threadPool.runIfActive { Bcrypt.verify(input, hash: hash) }
    }

    /// Spends the time of one verification without a real hash (an unknown email), so timing reveals nothing.
    public func verifyDummy(_ password: String) async throws {
        _ = try await verify(password, against: dummyHash)
    }

    /// base64(SHA-256(UTF-8 of the password)): 44 ASCII bytes, under bcrypt's 72-byte limit, no NUL bytes.
    static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }
}
