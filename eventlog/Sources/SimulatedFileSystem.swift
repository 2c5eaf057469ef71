#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PurserCore

/// An in-memory `FileSystem` that remembers what was made durable, for crash and fault tests.
///
/// File contents are durable as of the last `sync()` of the file; directory entries (creates,
/// renames, removes) as of the last `syncDirectory` of their parent. `crash(using:)` throws away
/// what was not made durable, the way a power cut would: unsynced appends are dropped, kept
/// in part (torn), or kept with garbage at the end; unsynced directory changes are each kept or
/// lost. Faults (EIO, ENOSPC, torn writes) can be armed to hit the n-th matching call.
public final class SimulatedFileSystem: FileSystem, @unchecked Sendable {
    public enum Operation: Sendable, Hashable {
        case write, sync, syncDirectory, open, rename, remove, truncate
    }

    /// A fault armed to hit a future operation.
    public struct Fault: Sendable {
        public var operations: Set<Operation>
        /// How many matching operations still succeed before the fault hits.
        public var skip: Int
        public var errno: Int32
        /// Keep failing every matching operation after the first hit (a full disk stays full).
        public var sticky: Bool
        /// For writes: bytes that do reach the file before the error (a short write).
        public var partialWriteBytes: Int
        /// Only paths containing this text match.
        public var pathContains: String?

        public init(operations: Set<Operation>, skip: Int = 0, errno: Int32 = EIO, sticky: Bool = false,
                    partialWriteBytes: Int = 0, pathContains: String? = nil) {
            self.operations = operations
            self.skip = skip
            self.errno = errno
            self.sticky = sticky
            self.partialWriteBytes = partialWriteBytes
            self.pathContains = pathContains
        }
    }

    final class Node {
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    private let mutex = Locked()
    private var entries: [String: Node] = [:]
    private var durableEntries: [String: Node] = [:]
    private var directories: Set<String> = []
    private var locks: [String: Int32] = [:]
    private var fault: Fault?
    private var generation = 0
    /// How many faults have hit so far.
    public private(set) var faultsHit = 0

    public init() {}

    public func arm(_ fault: Fault?) {
        mutex.withLock { self.fault = fault }
    }

    /// Checks an operation against the armed fault; returns the errno to fail with.
    fileprivate func check(_ op: Operation, _ path: String) -> (Int32, Int)? {
        mutex.withLock { checkLocked(op, path) }
    }

    private func checkLocked(_ op: Operation, _ path: String) -> (Int32, Int)? {
        guard var f = fault, f.operations.contains(op) else { return nil }
        if let p = f.pathContains, !path.contains(p) { return nil }
        if f.skip > 0 {
            f.skip -= 1
            fault = f
            return nil
        }
        faultsHit += 1
        if !f.sticky { fault = nil }
        return (f.errno, f.partialWriteBytes)
    }

    /// Simulates a power cut: everything not made durable is dropped, torn or kept at random,
    /// open handles stop working and locks are released.
    public func crash<R: RandomNumberGenerator>(using rng: inout R) {
        mutex.withLock { crashLocked(using: &rng) }
    }

    private func crashLocked<R: RandomNumberGenerator>(using rng: inout R) {
        generation += 1
        locks.removeAll()
        fault = nil
        var result: [String: Node] = [:]
        let paths = Set(entries.keys).union(durableEntries.keys)
        for path in paths {
            let cur = entries[path]
            let dur = durableEntries[path]
            let chosen: Node?
            if cur === dur { chosen = cur } else { chosen = Bool.random(using: &rng) ? cur : dur }
            if let node = chosen { result[path] = node }
        }
        var seen = Set<ObjectIdentifier>()
        for node in result.values where seen.insert(ObjectIdentifier(node)).inserted {
            node.data = SimulatedFileSystem.survivingBytes(node, using: &rng)
            node.durable = node.data
        }
        entries = result
        durableEntries = result
    }

    private static func survivingBytes<R: RandomNumberGenerator>(_ node: Node, using rng: inout R) -> [UInt8] {
        let d = node.durable, c = node.data
        if d == c { return d }
        guard c.count > d.count, c.starts(with: d) else {
            // Overwritten or truncated without a sync: either version may be on disk.
            return Bool.random(using: &rng) ? c : d
        }
        let extra = c.count - d.count
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return d
        case 1: return c
        case 2: return Array(c[0..<(d.count + Int.random(in: 0...extra, using: &rng))])
        default:
            // Torn with garbage: a prefix of the new bytes, then bytes that were never written.
            var out = Array(c[0..<(d.count + Int.random(in: 0...extra, using: &rng))])
            for _ in 0..<Int.random(in: 1...64, using: &rng) { out.append(UInt8.random(in: 0...255, using: &rng)) }
            return out
        }
    }

    /// The bytes of a file as they are now (for tests that corrupt files on purpose).
    public func contents(_ path: String) -> [UInt8]? {
        mutex.withLock { entries[path]?.data }
    }

    /// Replaces a file's bytes, durably (for tests that corrupt files on purpose).
    public func setContents(_ path: String, _ bytes: [UInt8]) {
        mutex.withLock {
            let node = entries[path] ?? Node()
            node.data = bytes
            node.durable = bytes
            entries[path] = node
            durableEntries[path] = node
        }
    }

    // MARK: FileSystem

    public func open(_ path: String, mode: FileOpenMode) throws -> any FileHandle {
        if let (e, _) = check(.open, path) { throw SystemCallError(call: "open", path: path, errno: e) }
        return try mutex.withLock { () throws -> any FileHandle in
            switch mode {
            case .readOnly, .readWrite:
                guard let node = entries[path] else { throw SystemCallError(call: "open", path: path, errno: ENOENT) }
                return SimulatedFileHandle(fs: self, node: node, path: path, generation: generation)
            case .createExclusive:
                if entries[path] != nil { throw SystemCallError(call: "open", path: path, errno: EEXIST) }
                let node = Node()
                entries[path] = node
                return SimulatedFileHandle(fs: self, node: node, path: path, generation: generation)
            case .createTruncate:
                let node = entries[path] ?? Node()
                node.data = []
                entries[path] = node
                return SimulatedFileHandle(fs: self, node: node, path: path, generation: generation)
            }
        }
    }

    public func exists(_ path: String) -> Bool {
        mutex.withLock { entries[path] != nil || directories.contains(path) }
    }

    public func createDirectory(_ path: String) throws {
        _ = mutex.withLock { directories.insert(path) }
    }

    public func list(_ path: String) throws -> [String] {
        mutex.withLock {
            let prefix = path.hasSuffix("/") ? path : path + "/"
            var names = Set<String>()
            for key in entries.keys where key.hasPrefix(prefix) {
                let rest = key.dropFirst(prefix.count)
                if let slash = rest.firstIndex(of: "/") { names.insert(String(rest[..<slash])) } else { names.insert(String(rest)) }
            }
            for d in directories where d.hasPrefix(prefix) {
                let rest = d.dropFirst(prefix.count)
                if !rest.isEmpty, !rest.contains("/") { names.insert(String(rest)) }
            }
            return Array(names)
        }
    }

    public func rename(_ from: String, _ to: String) throws {
        if let (e, _) = check(.rename, from) { throw SystemCallError(call: "rename", path: from, errno: e) }
        try mutex.withLock {
            guard let node = entries.removeValue(forKey: from) else {
                throw SystemCallError(call: "rename", path: from, errno: ENOENT)
            }
            entries[to] = node
        }
    }

    public func remove(_ path: String) throws {
        if let (e, _) = check(.remove, path) { throw SystemCallError(call: "unlink", path: path, errno: e) }
        try mutex.withLock {
            if entries.removeValue(forKey: path) == nil { throw SystemCallError(call: "unlink", path: path, errno: ENOENT) }
        }
    }

    public func syncDirectory(_ path: String) throws {
        if let (e, _) = check(.syncDirectory, path) { throw SystemCallError(call: "fsync", path: path, errno: e) }
        mutex.withLock {
            let prefix = path.hasSuffix("/") ? path : path + "/"
            func isChild(_ k: String) -> Bool { k.hasPrefix(prefix) && !k.dropFirst(prefix.count).contains("/") }
            for k in durableEntries.keys where isChild(k) && entries[k] == nil { durableEntries[k] = nil }
            for (k, v) in entries where isChild(k) { durableEntries[k] = v }
        }
    }

    public func lock(_ path: String, pid: Int32) throws -> any FileLock {
        try mutex.withLock {
            if let holder = locks[path] {
                throw LogError(.locked, "the event log at \(path) is in use by process \(holder); stop that process or use another --data directory")
            }
            locks[path] = pid
            if entries[path] == nil { entries[path] = Node() }
            entries[path]!.data = Array("\(pid)\n".utf8)
        }
        return SimulatedLock(fs: self, path: path, generation: mutex.withLock { generation })
    }

    fileprivate func unlock(_ path: String, generation: Int) {
        mutex.withLock { if generation == self.generation { locks[path] = nil } }
    }

    fileprivate func withNode<T>(_ handle: SimulatedFileHandle, _ body: (Node) throws -> T) throws -> T {
        try mutex.withLock {
            guard handle.generation == generation else {
                throw SystemCallError(call: "io", path: handle.path, errno: EBADF)
            }
            return try body(handle.node)
        }
    }
}

final class SimulatedLock: FileLock, @unchecked Sendable {
    let fs: SimulatedFileSystem
    let path: String
    let generation: Int
    init(fs: SimulatedFileSystem, path: String, generation: Int) {
        self.fs = fs
        self.path = path
        self.generation = generation
    }
    func unlock() { fs.unlock(path, generation: generation) }
}

final class SimulatedFileHandle: FileHandle, @unchecked Sendable {
    let fs: SimulatedFileSystem
    let node: SimulatedFileSystem.Node
    let path: String
    let generation: Int

    init(fs: SimulatedFileSystem, node: SimulatedFileSystem.Node, path: String, generation: Int) {
        self.fs = fs
        self.node = node
        self.path = path
        self.generation = generation
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try fs.withNode(self) { node in
            let start = Int(offset)
            guard start < node.data.count else { return 0 }
            let n = min(buffer.count, node.data.count - start)
            node.data.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            return n
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws {
        let f = fs.check(.write, path)
        try fs.withNode(self) { node in
            let count = f.map { min($0.1, bytes.count) } ?? bytes.count
            let start = Int(offset)
            if node.data.count < start { node.data.append(contentsOf: [UInt8](repeating: 0, count: start - node.data.count)) }
            let end = start + count
            if node.data.count < end { node.data.append(contentsOf: [UInt8](repeating: 0, count: end - node.data.count)) }
            for i in 0..<count { node.data[start + i] = bytes[i] }
        }
        if let (e, _) = f { throw SystemCallError(call: "pwrite", path: path, errno: e) }
    }

    func size() throws -> UInt64 {
        try fs.withNode(self) { UInt64($0.data.count) }
    }

    func sync() throws {
        if let (e, _) = fs.check(.sync, path) { throw SystemCallError(call: "fdatasync", path: path, errno: e) }
        try fs.withNode(self) { $0.durable = $0.data }
    }

    func truncate(to size: UInt64) throws {
        if let (e, _) = fs.check(.truncate, path) { throw SystemCallError(call: "ftruncate", path: path, errno: e) }
        try fs.withNode(self) { node in
            let n = Int(size)
            if node.data.count > n { node.data.removeSubrange(n...) } else {
                node.data.append(contentsOf: [UInt8](repeating: 0, count: n - node.data.count))
            }
        }
    }

    func close() {}
}
