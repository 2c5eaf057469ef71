import Foundation

/// A value behind a lock, for state that is read and changed in short synchronous steps (no
/// `await` while holding it), which an actor would only make slower. The one such box of the
/// engine, the server and the command line. (`NSLock` rather than `Synchronization.Mutex`, which
/// needs macOS 15; the package supports macOS 14.)
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

extension Locked where Value == Void {
    /// A bare lock, for a class whose guarded state is too spread out to move into one value
    /// (the simulated file system's tables and nodes); prefer `Locked(value)` otherwise.
    public convenience init() {
        self.init(())
    }

    public func withLock<R>(_ body: () throws -> R) rethrows -> R {
        try withLock { (_: inout Void) in try body() }
    }
}
