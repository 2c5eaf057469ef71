import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One small named document as stored, with the version a compare-and-swap write names.
public struct StoredDocument: Sendable, Hashable {
    public var bytes: [UInt8]
    public var version: Int64

    public init(bytes: [UInt8], version: Int64) {
        self.bytes = bytes
        self.version = version
    }
}

/// The codes of `DocumentStoreError`.
public enum DocumentStoreErrorCode: String, Sendable, Hashable {
    /// Someone else wrote or deleted the document since the caller read it: read again and retry.
    case conflict
    /// A name that is empty, absolute, or has an empty, `.` or `..` component.
    case invalidName = "invalid_name"
    /// The store could not be read or written (a system call failed, the server was away).
    case io
}

/// The error of every `DocumentStore`; a caller retries on `.conflict` and reports the rest.
public typealias DocumentStoreError = CodedError<DocumentStoreErrorCode>

/// What a read-modify-write does with the document it was given.
public enum DocumentChange: Sendable {
    case keep
    case write([UInt8])
    case delete
}

/// A store of small named documents (the access tokens, each org's sealed credentials): the one
/// seam through which they live either in files under the data directory or in PostgreSQL, so
/// several engine nodes can share them.
///
/// Names are `/`-separated relative paths (`access/tokens.json`). Writes are compare-and-swap:
/// `write` and `delete` name the version they read (nil: the document must not exist) and are
/// refused with `.conflict` when another writer came in between, so a read-modify-write never
/// loses a concurrent change; `update` is that loop.
///
/// The methods block the calling thread: call them off the cooperative pool (`BlockingIO.run`).
public protocol DocumentStore: Sendable {
    /// The document and its version, nil when there is none.
    func read(_ name: String) throws(DocumentStoreError) -> StoredDocument?
    /// Stores `bytes` if the document is still at `expectedVersion` (nil: still absent); returns
    /// the new version.
    @discardableResult
    func write(_ name: String, bytes: [UInt8], expectedVersion: Int64?) throws(DocumentStoreError) -> Int64
    /// Removes the document if it is still at `expectedVersion`.
    func delete(_ name: String, expectedVersion: Int64) throws(DocumentStoreError)
    /// The names starting with `prefix`, sorted.
    func list(prefix: String) throws(DocumentStoreError) -> [String]
}

extension DocumentStore {
    /// Read, change, compare-and-swap, again from the read when another writer came in between.
    /// `change` may run several times and must depend only on what it is given. Returns the
    /// change that was applied.
    @discardableResult
    public func update(_ name: String, attemptsMax: Int = 64,
                       _ change: (StoredDocument?) throws -> DocumentChange) throws -> DocumentChange {
        precondition(attemptsMax > 0, "an update makes at least one attempt")
        for _ in 0..<attemptsMax {
            let current = try read(name)
            let decision = try change(current)
            do throws(DocumentStoreError) {
                switch decision {
                case .keep: break
                case .write(let bytes): try write(name, bytes: bytes, expectedVersion: current?.version)
                case .delete: if let current { try delete(name, expectedVersion: current.version) }
                }
                return decision
            } catch {
                if error.code == .conflict { continue }
                throw error
            }
        }
        throw DocumentStoreError(.conflict, "document \(name) kept changing under \(attemptsMax) attempts to update it; try again")
    }

    /// Refuses names that could leave the store's root or collide with its own files.
    public static func validate(name: String) throws(DocumentStoreError) {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !name.isEmpty, !name.hasPrefix("/"), !name.utf8.contains(0),
              parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") && !$0.hasSuffix(".tmp") })
        else {
            throw DocumentStoreError(.invalidName, "document name \(name.debugDescription) is not a relative path of plain names")
        }
    }
}

/// Documents as files under `root`: `<root>/<name>`, exactly where the stores kept them before the
/// seam. A write replaces the file through `AtomicFile` (a crash leaves the old or the new file);
/// the version is a hash of the contents, compared and replaced under an in-process lock and the
/// `flock` on `.lock` beside the file, so processes sharing the directory do not lose each
/// other's changes.
public final class FileDocumentStore: DocumentStore {
    public let root: String
    let filePermissions: mode_t
    let directoryPermissions: Int
    /// Serializes this process's compare-and-replace; `flock` serializes processes.
    private let mutex = Locked(())

    public init(root: String, filePermissions: mode_t = 0o600, directoryPermissions: Int = 0o700) {
        self.root = root
        self.filePermissions = filePermissions
        self.directoryPermissions = directoryPermissions
    }

    /// The file a document lives in.
    public func path(_ name: String) -> String { root + "/" + name }

    public func read(_ name: String) throws(DocumentStoreError) -> StoredDocument? {
        try Self.validate(name: name)
        return try readFile(path(name))
    }

    @discardableResult
    public func write(_ name: String, bytes: [UInt8], expectedVersion: Int64?) throws(DocumentStoreError) -> Int64 {
        try Self.validate(name: name)
        let path = path(name), directory = AtomicFile.directory(of: path)
        return try locked(directory) { () throws(DocumentStoreError) -> Int64 in
            try check(name, current: try readFile(path)?.version, expected: expectedVersion)
            do {
                try AtomicFile.replace(path, with: bytes, directory: directory, permissions: filePermissions)
            } catch {
                throw DocumentStoreError(.io, "cannot write \(path)", cause: error)
            }
            return Self.version(of: bytes)
        }
    }

    public func delete(_ name: String, expectedVersion: Int64) throws(DocumentStoreError) {
        try Self.validate(name: name)
        let path = path(name), directory = AtomicFile.directory(of: path)
        try locked(directory) { () throws(DocumentStoreError) in
            try check(name, current: try readFile(path)?.version, expected: expectedVersion)
            if unlink(path) != 0 {
                throw DocumentStoreError(.io, "cannot remove \(path)", cause: SystemCallError(call: "unlink", path: path, errno: errno))
            }
            do { try AtomicFile.syncDirectory(directory) } catch {
                throw DocumentStoreError(.io, "cannot sync \(directory)", cause: error)
            }
        }
    }

    public func list(prefix: String) throws(DocumentStoreError) -> [String] {
        var names: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        while let relative = walker.nextObject() as? String {
            guard relative.hasPrefix(prefix), (try? Self.validate(name: relative)) != nil else { continue }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path(relative), isDirectory: &isDirectory), !isDirectory.boolValue {
                names.append(relative)
            }
        }
        return names.sorted()
    }

    /// A file's version: FNV-1a over its bytes. Equal contents share a version, which is harmless
    /// (replacing a document by the same bytes changes nothing); different contents that collide
    /// in 64 bits are not a case worth a lock of its own.
    static func version(of bytes: [UInt8]) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    private func readFile(_ path: String) throws(DocumentStoreError) -> StoredDocument? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw DocumentStoreError(.io, "cannot read \(path)") }
            return nil
        }
        let bytes = Array(data)
        return StoredDocument(bytes: bytes, version: Self.version(of: bytes))
    }

    private func check(_ name: String, current: Int64?, expected: Int64?) throws(DocumentStoreError) {
        if current != expected {
            throw DocumentStoreError(.conflict, "document \(name) changed since it was read")
        }
    }

    private func locked<T>(_ directory: String, _ body: () throws(DocumentStoreError) -> T) throws(DocumentStoreError) -> T {
        let result: Result<T, DocumentStoreError> = mutex.withLock { _ in
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: directoryPermissions])
            } catch {
                return .failure(DocumentStoreError(.io, "cannot create \(directory)", cause: error))
            }
            let lock: ExclusiveFileLock
            do { lock = try ExclusiveFileLock.acquire(directory + "/.lock", permissions: 0o600) } catch {
                return .failure(DocumentStoreError(.io, "cannot lock \(directory)/.lock", cause: error))
            }
            defer { lock.unlock() }
            return Result { () throws(DocumentStoreError) -> T in try body() }
        }
        return try result.get()
    }
}
