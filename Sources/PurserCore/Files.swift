#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file replacement, the one implementation for the real file system.
///
/// Durability order: write `<path>.tmp`, fsync it, rename it over `path`, fsync the directory.
/// A crash at any point leaves either the old file or the new one, never a mix or an empty file,
/// and once the call returns the new file survives a crash.
public enum AtomicFile {
    /// Replaces `path` with `bytes`. `permissions` apply to the new file (0600 for secrets).
    public static func replace(_ path: String, with bytes: [UInt8], directory: String? = nil,
                               permissions: mode_t = 0o644) throws(SystemCallError) {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions)
        if fd < 0 { throw SystemCallError(call: "open", path: tmp, errno: errno) }
        do throws(SystemCallError) {
            defer { close(fd) }
            try writeAll(fd, bytes, path: tmp)
            if fsync(fd) != 0 { throw SystemCallError(call: "fsync", path: tmp, errno: errno) }
        } catch {
            unlink(tmp)
            throw error
        }
        do throws(SystemCallError) {
            try moveDurably(from: tmp, to: path, directory: directory ?? Self.directory(of: path), syncSource: false)
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Renames a complete file over `path` durably: fsyncs it (unless the caller already did),
    /// renames it, fsyncs the directory. Readers see the old file until the rename, the new one after.
    public static func moveDurably(from source: String, to path: String, directory: String? = nil,
                                   syncSource: Bool = true) throws(SystemCallError) {
        if syncSource { try sync(source) }
        if rename(source, path) != 0 { throw SystemCallError(call: "rename", path: "\(source) -> \(path)", errno: errno) }
        try syncDirectory(directory ?? Self.directory(of: path))
    }

    /// fsyncs a file by path.
    public static func sync(_ path: String) throws(SystemCallError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SystemCallError(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw SystemCallError(call: "fsync", path: path, errno: errno) }
    }

    /// Makes a directory's entries (creates, renames, removes) durable.
    public static func syncDirectory(_ path: String) throws(SystemCallError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw SystemCallError(call: "open", path: path, errno: errno) }
        defer { close(fd) }
        if fsync(fd) != 0 { throw SystemCallError(call: "fsync", path: path, errno: errno) }
    }

    /// Writes all of `bytes` to `fd`, retrying on EINTR and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    /// The directory part of `path` (`.` for a bare name).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// An exclusive `flock` on a lock file, held until `unlock()` or deinit. Locks serialize
/// processes (and separately opened descriptors in one process); they are advisory.
public final class ExclusiveFileLock: @unchecked Sendable {
    /// The open lock file, for a holder that records who it is (the event log writes its pid).
    public let fd: Int32
    public let path: String
    private let released = Locked(false)

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Waits until the lock is free, then takes it. EINTR is retried.
    public static func acquire(_ path: String, permissions: mode_t = 0o644) throws(SystemCallError) -> ExclusiveFileLock {
        let fd = try openLockFile(path, permissions: permissions)
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            throw SystemCallError(call: "flock", path: path, errno: e)
        }
        return ExclusiveFileLock(fd: fd, path: path)
    }

    /// Takes the lock if it is free; `nil` when someone else holds it. `holder` is then called with
    /// the lock file's first bytes (what the holder wrote there) before the file is closed.
    public static func tryAcquire(_ path: String, permissions: mode_t = 0o644,
                                  holder: ((String) -> Void)? = nil) throws(SystemCallError) -> ExclusiveFileLock? {
        let fd = try openLockFile(path, permissions: permissions)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EINTR { continue }
            if e == EWOULDBLOCK {
                if let holder {
                    var buffer = [UInt8](repeating: 0, count: 64)
                    let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 64, 0) }
                    holder(n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : "")
                }
                close(fd)
                return nil
            }
            close(fd)
            throw SystemCallError(call: "flock", path: path, errno: e)
        }
        return ExclusiveFileLock(fd: fd, path: path)
    }

    private static func openLockFile(_ path: String, permissions: mode_t) throws(SystemCallError) -> Int32 {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, permissions)
        if fd < 0 { throw SystemCallError(call: "open", path: path, errno: errno) }
        return fd
    }

    /// Replaces the lock file's contents (who holds it), best effort.
    public func record(_ text: String) {
        let bytes = Array(text.utf8)
        _ = ftruncate(fd, 0)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    public func unlock() {
        let first = released.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        guard first else { return }
        _ = flock(fd, LOCK_UN)
        close(fd)
    }

    /// Runs `body` holding the lock at `path`, waiting for it if needed.
    public static func withLock<T>(_ path: String, permissions: mode_t = 0o644, _ body: () throws -> T) throws -> T {
        let lock = try acquire(path, permissions: permissions)
        defer { lock.unlock() }
        return try body()
    }

    deinit { unlock() }
}
