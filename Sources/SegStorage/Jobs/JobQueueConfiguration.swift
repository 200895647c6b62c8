/// Timing of the job queue: leases and retry backoff.
public struct JobQueueConfiguration: Sendable, Hashable {
    /// How long a claim lasts without a heartbeat. Workers extend it every third of this.
    public var leaseDuration: Duration
    /// The delay before the second attempt; each further attempt doubles it.
    public var retryBaseDelay: Duration
    /// The longest delay between attempts.
    public var retryMaximumDelay: Duration
    /// The `LISTEN/NOTIFY` channel that wakes idle workers.
    public var notificationChannel: String

    /// The defaults: 60 s leases, retries after 5 s, 10 s, 20 s … up to 10 min (each with jitter).
    public init(
        leaseDuration: Duration = .seconds(60),
        retryBaseDelay: Duration = .seconds(5),
        retryMaximumDelay: Duration = .seconds(600),
        notificationChannel: String = "seghub_jobs"
    ) {
        self.leaseDuration = leaseDuration
        self.retryBaseDelay = retryBaseDelay
        self.retryMaximumDelay = retryMaximumDelay
        self.notificationChannel = notificationChannel
    }

    /// The delay before the attempt after `attempt` failed: exponential, capped, with "equal jitter"
    /// (uniform between half and all of it) so that jobs that failed together do not retry together.
    /// - Parameters:
    ///   - attempt: The attempt that failed, from 1.
    ///   - unit: A random number in `0..<1` (injected for tests).
    public func retryDelay(afterAttempt attempt: Int, unit: Double = Double.random(in: 0..<1)) -> Duration {
        let base = retryBaseDelay.milliseconds
        let cap = max(retryMaximumDelay.milliseconds, base)
        let exponent = min(max(attempt - 1, 0), 40)
        let full = min(Double(base) * pow2(exponent), Double(cap))
        let jittered = full / 2 + full / 2 * min(max(unit, 0), 1)
        return .milliseconds(Int64(jittered.rounded()))
    }

    private func pow2(_ exponent: Int) -> Double {
        var value = 1.0
        for _ in 0..<exponent { value *= 2 }
        return value
    }
}

extension Duration {
    /// Whole milliseconds (rounded down), at least 0.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
