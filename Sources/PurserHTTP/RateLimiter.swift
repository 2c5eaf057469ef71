import Foundation
import PurserCore

/// Per-key token buckets (a key per org on the API, per channel on the webhooks): a burst is
/// allowed, the sustained rate is bounded, and a refused request learns when to retry.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let state = Locked<[String: Bucket]>([:])
    let ratePerSecond: Double
    let burst: Double

    public init(ratePerSecond: Double = HTTPLimits.orgRequestsPerSecond, burst: Double = HTTPLimits.orgBurstRequests) {
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    /// Takes one request's token; nil when allowed, else the whole seconds to wait (Retry-After).
    public func take(_ key: String, now: Double = ProcessInfo.processInfo.systemUptime) -> Int? {
        state.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * ratePerSecond)
            bucket.updated = now
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[key] = bucket
                return nil
            }
            buckets[key] = bucket
            return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
        }
    }
}
