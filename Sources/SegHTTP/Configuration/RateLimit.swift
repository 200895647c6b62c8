import Foundation

/// A token bucket's size and refill rate; `nil` where rate limiting is disabled.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    /// Requests allowed in a burst.
    public var capacity: Int
    /// Tokens added per second.
    public var refillPerSecond: Double

    /// A bucket of `capacity` refilled at `refillPerSecond`.
    public init(capacity: Int, refillPerSecond: Double) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
    }

    /// Parses `CAPACITY:RATE/UNIT` (`30:10/min`, `600:20/s`, `100:1/h`), or `0` for "disabled" (returns `.none`).
    /// - Returns: `nil` when `text` is malformed; `.some(nil)` for `0`.
    public static func parse(_ text: String) -> RateLimit?? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "0" { return .some(nil) }
        let halves = trimmed.split(separator: ":")
        guard halves.count == 2, let capacity = Int(halves[0]), capacity > 0 else { return nil }
        let rate = halves[1].split(separator: "/")
        guard rate.count == 2, let amount = Double(rate[0]), amount > 0, amount.isFinite else { return nil }
        let seconds: Double
        switch rate[1] {
        case "s", "sec", "second": seconds = 1
        case "m", "min", "minute": seconds = 60
        case "h", "hour": seconds = 3600
        default: return nil
        }
        return .some(RateLimit(capacity: capacity, refillPerSecond: amount / seconds))
    }

    public var description: String {
        refillPerSecond >= 1 ? "\(capacity):\(Self.format(refillPerSecond))/s" : "\(capacity):\(Self.format(refillPerSecond * 60))/min"
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
