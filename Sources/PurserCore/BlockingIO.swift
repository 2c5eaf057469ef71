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

    /// The other direction: blocks the calling thread until async `work` is done, for blocking
    /// code (a read model's catch-up, a synchronous command) that must use an async API.
    ///
    /// Safe only on a thread that is not one of the cooperative pool's — the main thread of a
    /// synchronous command, `queue`, a thread of its own: the work runs on the pool, which keeps
    /// all its threads for it. Called from a task it could hold the pool thread the work needs.
    public static func wait<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
        let result = Locked<Result<T, any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            let outcome: Result<T, any Error>
            do { outcome = .success(try await work()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
