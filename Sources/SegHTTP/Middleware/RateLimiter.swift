import Foundation
import Synchronization

/// Token buckets per client key (RELIABILITY U4): each key starts with `capacity` tokens that refill at
/// `refillPerSecond`; a request takes one, or is refused with the time until the next token.
///
/// Buckets idle long enough to be full again are dropped when the table grows, so memory stays bounded by the
/// number of clients active in the last `capacity / refillPerSecond` seconds.
public final class RateLimiter: Sendable {
    /// The bucket size and refill rate.
    public let limit: RateLimit
    private let now: @Sendable () -> ContinuousClock.Instant
    private let buckets = Mutex<[String: Bucket]>([:])

    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// A limiter for `limit`.
    public init(limit: RateLimit, now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.limit = limit
        self.now = now
    }

    /// Takes a token for `key`.
    /// - Returns: `nil` when the request may go ahead, else the seconds until a token is available (at least 1).
    public func take(_ key: String) -> Int? {
        let instant = now()
        let limit = limit
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: Double(limit.capacity), updated: instant)
            let elapsed = Self.seconds(instant - bucket.updated)
            bucket.tokens = min(Double(limit.capacity), bucket.tokens + elapsed * limit.refillPerSecond)
            bucket.updated = instant
            defer {
                buckets[key] = bucket
                if buckets.count > 10_000 { Self.dropFull(&buckets, at: instant, limit: limit) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / limit.refillPerSecond).rounded(.up)))
        }
    }

    private static func dropFull(_ buckets: inout [String: Bucket], at instant: ContinuousClock.Instant, limit: RateLimit) {
        buckets = buckets.filter { _, bucket in
            bucket.tokens + seconds(instant - bucket.updated) * limit.refillPerSecond < Double(limit.capacity)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
