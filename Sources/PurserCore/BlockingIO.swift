import Dispatch

/// Where blocking reads run (SQLite, segment files, small files such as the token list): a
/// dispatch queue, never the cooperative thread pool, whose few threads must stay free for tasks
/// that do not block. The caller's task waits without holding a thread.
public enum BlockingIO {
    /// Concurrent: each SQLite connection serializes its own work, so reads of different models
    /// (or of one model through a pool) may overlap.
    static let queue = DispatchQueue(label: "purser.blocking-io", attributes: .concurrent)

    /// Runs `body` on the blocking queue and hands its result (or typed error) back.
    public static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Result { () throws(E) -> T in try body() })
            }
        }
        return try result.get()
    }
}
