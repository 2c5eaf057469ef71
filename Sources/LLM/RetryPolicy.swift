import Foundation

/// When and how long to wait before sending a failed call again.
///
/// 429, 408 and 5xx responses and transport failures (refused, reset, timed out) are retried;
/// other 4xx are not, since the same request would be refused again. Waits grow exponentially
/// from `baseDelay`, capped at `maxDelay`, with "equal jitter" (half fixed, half random) so
/// sessions rate-limited together do not retry in lockstep. A `Retry-After` header, in seconds or
/// as an HTTP date, replaces the computed wait; one longer than `maxRetryAfter` ends the call
/// at once, because holding a customer's message that long is worse than handing it to a human.
public struct RetryPolicy: Sendable, Hashable {
    public static let defaultMaxAttempts = 4
    public static let defaultBaseDelay: Duration = .milliseconds(500)
    public static let defaultMaxDelay: Duration = .seconds(20)
    public static let defaultMaxRetryAfter: Duration = .seconds(60)

    /// Requests sent at most, the first included; 1 disables retries.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    public var maxRetryAfter: Duration

    public init(maxAttempts: Int = RetryPolicy.defaultMaxAttempts, baseDelay: Duration = RetryPolicy.defaultBaseDelay,
                maxDelay: Duration = RetryPolicy.defaultMaxDelay, maxRetryAfter: Duration = RetryPolicy.defaultMaxRetryAfter) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    public static let `default` = RetryPolicy()
    /// One attempt, no waiting.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Whether an HTTP status is worth retrying.
    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || (500...599).contains(status)
    }

    /// The wait after failed attempt `attempt` (1-based), given `random` in `0..<1`.
    public func backoff(afterAttempt attempt: Int, random: Double) -> Duration {
        let exponent = Double(min(max(0, attempt - 1), 30))
        let full = min(seconds(baseDelay) * pow(2, exponent), seconds(maxDelay))
        let jittered = full / 2 + full / 2 * min(max(random, 0), 1)
        return .milliseconds(Int64((jittered * 1000).rounded()))
    }

    /// The wait a `Retry-After` value asks for: delta-seconds (`"2"`, also `"1.5"`) or an HTTP
    /// date relative to `now`. `nil` when the value is neither; a date in the past is zero.
    public static func retryAfter(_ value: String, now: Date) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 {
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        for format in httpDateFormats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                let seconds = max(0, date.timeIntervalSince(now))
                return .milliseconds(Int64((seconds * 1000).rounded()))
            }
        }
        return nil
    }

    /// IMF-fixdate first (what servers send), then the two obsolete forms RFC 9110 says to accept.
    private static let httpDateFormats = ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"]

    private func seconds(_ duration: Duration) -> Double {
        let (whole, fraction) = duration.components
        return Double(whole) + Double(fraction) / 1e18
    }
}

/// The clock, sleep and randomness retries use; replaced in tests so a retry takes microseconds
/// and its waits can be asserted.
public struct RetryEnvironment: Sendable {
    public var sleep: @Sendable (Duration) async throws -> Void
    public var now: @Sendable () -> Date
    /// A number in `0..<1` for the jitter.
    public var random: @Sendable () -> Double

    public init(sleep: @escaping @Sendable (Duration) async throws -> Void, now: @escaping @Sendable () -> Date,
                random: @escaping @Sendable () -> Double) {
        self.sleep = sleep
        self.now = now
        self.random = random
    }

    public static let live = RetryEnvironment(
        sleep: { try await Task.sleep(for: $0) },
        now: { Date() },
        random: { Double.random(in: 0..<1) }
    )
}
