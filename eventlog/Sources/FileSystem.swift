#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PurserCore

/// The small I/O layer every byte of the log goes through, so tests can inject faults
/// (EIO, ENOSPC) and simulate crashes that drop or tear writes that were never synced.
///
/// Paths are plain strings; the log only ever uses paths below its own directory.
public protocol FileSystem: Sendable {
    /// Opens a file. `create` makes it if missing (exclusive when `exclusive`).
    func open(_ path: String, mode: FileOpenMode) throws -> any FileHandle
    func exists(_ path: String) -> Bool
    func createDirectory(_ path: String) throws
    /// Names in a directory (no `.`/`..`), unsorted.
    func list(_ path: String) throws -> [String]
    func rename(_ from: String, _ to: String) throws
    func remove(_ path: String) throws
    /// Makes the directory's entries (creates, renames, removes) durable.
    func syncDirectory(_ path: String) throws
    /// Takes the exclusive writer lock at `path`, writing `pid` into it; throws `LogError.locked`
    /// naming the holder when another process (or another open log) has it.
    func lock(_ path: String, pid: Int32) throws -> any FileLock
    /// Replaces `path` with `bytes` crash-safely (see `AtomicFile`); the default goes through
    /// this protocol's own calls, so simulated file systems can fail or tear each step.
    func writeFileAtomically(_ path: String, _ bytes: [UInt8], directory: String) throws
}

public enum FileOpenMode: Sendable {
    case readOnly
    case readWrite
    /// Create a new file; fails if it exists.
    case createExclusive
    /// Create or truncate.
    case createTruncate
}

public protocol FileHandle: AnyObject, Sendable {
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at end).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int
    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws
    func size() throws -> UInt64
    /// Makes the file's data durable (fdatasync).
    func sync() throws
    func truncate(to size: UInt64) throws
    func close()
}

public protocol FileLock: AnyObject, Sendable {
    func unlock()
}

extension FileHandle {
    /// Reads exactly `count` bytes at `offset`, or fewer only at end of file.
    public func readBytes(count: Int, at offset: UInt64) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { buf -> Int in
            var done = 0
            while done < count {
                let r = try read(into: UnsafeMutableRawBufferPointer(rebasing: buf[done...]), at: offset + UInt64(done))
                if r == 0 { break }
                done += r
            }
            return done
        }
        if n < count { out.removeSubrange(n...) }
        return out
    }

    public func write(_ bytes: [UInt8], at offset: UInt64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }
}

extension FileSystem {
    /// Reads a whole (small) file.
    public func readFile(_ path: String) throws -> [UInt8] {
        let h = try open(path, mode: .readOnly)
        defer { h.close() }
        let size = try h.size()
        return try h.readBytes(count: Int(size), at: 0)
    }

    /// Replaces `path` with `bytes` crash-safely. Durability order: write the temporary file,
    /// fdatasync it, rename it over `path`, fsync the directory. A crash at any point leaves
    /// either the old file or the new one, never a mix.
    public func writeFileAtomically(_ path: String, _ bytes: [UInt8], directory: String) throws {
        let tmp = path + ".tmp"
        if exists(tmp) { try remove(tmp) }
        let h = try open(tmp, mode: .createExclusive)
        do {
            try h.write(bytes, at: 0)
            try h.sync()
            h.close()
        } catch {
            h.close()
            throw error
        }
        try rename(tmp, path)
        try syncDirectory(directory)
    }
}

/// The real file system, through POSIX calls.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, mode: FileOpenMode) throws -> any FileHandle {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .createExclusive: flags = O_RDWR | O_CREAT | O_EXCL
        case .createTruncate: flags = O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = Glibc.open(path, flags | O_CLOEXEC, 0o644)
        if fd < 0 { throw SystemCallError(call: "open", path: path, errno: errno) }
        return PosixFileHandle(fd: fd, path: path)
    }

    public func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    public func createDirectory(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw SystemCallError(call: "mkdir", path: current, errno: errno)
            }
        }
    }

    public func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SystemCallError(call: "opendir", path: path, errno: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw SystemCallError(call: "rename", path: "\(from) -> \(to)", errno: errno) }
    }

    public func remove(_ path: String) throws {
        if unlink(path) != 0 { throw SystemCallError(call: "unlink", path: path, errno: errno) }
    }

    public func syncDirectory(_ path: String) throws {
        try AtomicFile.syncDirectory(path)
    }

    public func writeFileAtomically(_ path: String, _ bytes: [UInt8], directory: String) throws {
        try AtomicFile.replace(path, with: bytes, directory: directory)
    }

    public func lock(_ path: String, pid: Int32) throws -> any FileLock {
        var holder = "unknown"
        guard let lock = try ExclusiveFileLock.tryAcquire(path, holder: { text in
            let trimmed = text.trimmingWhitespace()
            if !trimmed.isEmpty { holder = trimmed }
        }) else {
            throw LogError(.locked, "the event log at \(path) is in use by process \(holder); stop that process or use another --data directory")
        }
        lock.record("\(pid)\n")
        return PosixFileLock(lock)
    }
}

/// The writer lock of the real file system: the one `ExclusiveFileLock` behind the log's seam.
final class PosixFileLock: FileLock, Sendable {
    private let lock: ExclusiveFileLock
    init(_ lock: ExclusiveFileLock) { self.lock = lock }
    func unlock() { lock.unlock() }
}

final class PosixFileHandle: FileHandle, @unchecked Sendable {
    let fd: Int32
    let path: String
    private var closed = false

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SystemCallError(call: "pread", path: path, errno: errno)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    func size() throws -> UInt64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemCallError(call: "fstat", path: path, errno: errno) }
        return UInt64(st.st_size)
    }

    func sync() throws {
        if fdatasync(fd) != 0 { throw SystemCallError(call: "fdatasync", path: path, errno: errno) }
    }

    func truncate(to size: UInt64) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw SystemCallError(call: "ftruncate", path: path, errno: errno) }
    }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    deinit { close() }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
