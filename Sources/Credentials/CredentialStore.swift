import Crypto
import Foundation
import Logging
import PurserCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Each org's provider and channel credentials, sealed at rest with AES-256-GCM.
///
/// One file per org, `<directory>/<org>.sealed`: a small JSON document whose entries map each
/// credential name to `base64(nonce ‖ ciphertext ‖ tag)`. Every value is sealed with the org id
/// and its name as authenticated data, so a sealed value copied to another name or another org's
/// file does not open, and every value is opened whenever the file is read, so a wrong master key,
/// a changed byte or a file copied from another org fails the whole read with `.cannotDecrypt`
/// instead of yielding garbage. Names are stored in clear (they are not secrets: `purser
/// credentials list` shows them); values never are.
///
/// Values are returned to callers only through `get`; the store never logs them.
public final class CredentialStore: Sendable {
    /// The largest value accepted. Keys and tokens are a few hundred bytes; the bound keeps a
    /// mistaken paste of a whole file out of the store.
    public static let maximumValueBytes = 16 * 1024
    /// The longest credential name.
    public static let maximumNameBytes = 64
    /// The longest org id.
    public static let maximumOrgBytes = 128
    static let formatTag = "purser-credentials/1"

    public let directory: String
    private let key: SymmetricKey
    private let logger: Logger
    /// Serializes this process's read-modify-write cycles; `flock` on `.lock` serializes processes.
    private let mutex = Locked(())

    public init(directory: String, masterKey: SymmetricKey, logger: Logger = Logger(label: "purser.credentials")) {
        self.directory = directory
        self.key = masterKey
        self.logger = logger
    }

    /// The store under `DATA/credentials`, its master key per `MasterKey.load`.
    public static func open(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger = Logger(label: "purser.credentials")) throws -> CredentialStore {
        let directory = dataDirectory + "/credentials"
        let key = try MasterKey.load(directory: directory, environment: environment, logger: logger)
        return CredentialStore(directory: directory, masterKey: key, logger: logger)
    }

    // MARK: - Validation

    /// Letters, digits, `_`, `-`, `.`; not `.` or `..`; nothing that could leave the directory.
    public static func validateOrg(_ org: String) throws {
        let ok = !org.isEmpty && org.utf8.count <= maximumOrgBytes && org != "." && org != ".."
            && org.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2E
            }
        if !ok {
            throw CredentialsError(.invalidOrg, "org id must be 1-\(maximumOrgBytes) letters, digits, '_', '-' or '.' (and not '.' or '..')")
        }
    }

    /// `[a-z0-9_]{1,64}`.
    public static func validateName(_ name: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= maximumNameBytes
            && name.utf8.allSatisfy { b in (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b == 0x5F }
        if !ok {
            throw CredentialsError(.invalidName, "credential name must match [a-z0-9_]{1,\(maximumNameBytes)}")
        }
    }

    static func validateValue(_ value: String) throws {
        if value.isEmpty { throw CredentialsError(.invalidValue, "credential value is empty") }
        if value.utf8.count > maximumValueBytes {
            throw CredentialsError(.invalidValue, "credential value is \(value.utf8.count) bytes, at most \(maximumValueBytes) allowed")
        }
    }

    // MARK: - API

    /// Stores (or replaces) one credential of an org.
    public func set(org: String, name: String, value: String) throws {
        try Self.validateOrg(org)
        try Self.validateName(name)
        try Self.validateValue(value)
        try update(org: org) { entries in
            entries[name] = try seal(value, org: org, name: name)
            return true
        }
        logger.info("credential set", metadata: ["org": "\(org)", "name": "\(name)"])
    }

    /// One credential of an org, or nil when the org has none by that name.
    public func get(org: String, name: String) throws -> String? {
        try Self.validateOrg(org)
        try Self.validateName(name)
        return try mutex.withLock { _ in try readOpened(org: org)[name] }
    }

    /// The names an org has credentials for, sorted. Opens every value, so a wrong key or a
    /// tampered file fails here too.
    public func names(org: String) throws -> [String] {
        try Self.validateOrg(org)
        return try mutex.withLock { _ in try readOpened(org: org).keys.sorted() }
    }

    /// Removes one credential; returns whether it existed. The file goes when its last entry does.
    @discardableResult
    public func delete(org: String, name: String) throws -> Bool {
        try Self.validateOrg(org)
        try Self.validateName(name)
        var existed = false
        try update(org: org) { entries in
            existed = entries.removeValue(forKey: name) != nil
            return existed
        }
        if existed { logger.info("credential deleted", metadata: ["org": "\(org)", "name": "\(name)"]) }
        return existed
    }

    // MARK: - Sealing

    /// The authenticated data binding a value to its org and name. Both are validated to exclude
    /// NUL, so the encoding is unambiguous.
    static func associatedData(org: String, name: String) -> Data {
        Data("\(formatTag)\u{0}\(org)\u{0}\(name)".utf8)
    }

    private func seal(_ value: String, org: String, name: String) throws -> String {
        do {
            let box = try AES.GCM.seal(Data(value.utf8), using: key, authenticating: Self.associatedData(org: org, name: name))
            guard let combined = box.combined else { throw CredentialsError(.format, "AES-GCM produced no combined form") }
            return combined.base64EncodedString()
        } catch let error as CredentialsError {
            throw error
        } catch {
            throw CredentialsError(.io, "cannot seal credential \(name) of org \(org)", cause: error)
        }
    }

    private func open(_ sealed: String, org: String, name: String, path: String) throws -> String {
        guard let data = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: key, authenticating: Self.associatedData(org: org, name: name)),
              let text = String(data: plain, encoding: .utf8)
        else {
            throw CredentialsError(.cannotDecrypt, "cannot decrypt: wrong master key or tampered file (\(path), credential \(name) of org \(org))")
        }
        return text
    }

    // MARK: - Files

    private func path(org: String) -> String { directory + "/" + org + ".sealed" }

    private struct SealedFile: Codable {
        var format: String
        var org: String
        var entries: [String: String]
    }

    /// The org's sealed entries (name → sealed text); empty when it has no file.
    private func readSealed(org: String) throws -> [String: String] {
        let path = path(org: org)
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw CredentialsError(.io, "cannot read \(path)") }
            return [:]
        }
        guard let file = try? JSONDecoder().decode(SealedFile.self, from: data), file.format == Self.formatTag else {
            throw CredentialsError(.cannotDecrypt, "cannot decrypt: wrong master key or tampered file (\(path) is not a sealed credentials file)")
        }
        // The org inside the file is informative; the authenticated data is what binds. Open
        // every entry under the org asked for, so a file copied from another org fails here.
        for (name, _) in file.entries { try Self.validateName(name) }
        return file.entries
    }

    private func readOpened(org: String) throws -> [String: String] {
        let path = path(org: org)
        var opened: [String: String] = [:]
        for (name, sealed) in try readSealed(org: org) {
            opened[name] = try open(sealed, org: org, name: name, path: path)
        }
        return opened
    }

    /// Read, change, write under both locks. `change` returns whether anything changed.
    private func update(org: String, _ change: (inout [String: String]) throws -> Bool) throws {
        try mutex.withLock { _ in
            try CredentialFiles.makeDirectory(directory)
            let lock = try CredentialFiles.lockExclusive(directory + "/.lock")
            defer { lock.unlock() }
            var entries = try readSealed(org: org)
            // Refuse to extend a file that does not open: a wrong key would otherwise mix
            // values sealed under two keys in one file.
            let path = path(org: org)
            for (name, sealed) in entries { _ = try open(sealed, org: org, name: name, path: path) }
            guard try change(&entries) else { return }
            if entries.isEmpty {
                if unlink(path) != 0 && errno != ENOENT {
                    throw CredentialsError(.io, "cannot remove \(path)", cause: SystemCallError(call: "unlink", path: path, errno: errno))
                }
                try CredentialFiles.syncDirectory(directory)
                return
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let data: Data
            do { data = try encoder.encode(SealedFile(format: Self.formatTag, org: org, entries: entries)) }
            catch { throw CredentialsError(.format, "cannot encode \(path)", cause: error) }
            try CredentialFiles.replaceAtomically(path: path, directory: directory, contents: data)
        }
    }
}

/// The few system calls the store needs, each failure an `.io` error naming the call and path.
enum CredentialFiles {
    static func makeDirectory(_ directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw CredentialsError(.io, "cannot create \(directory)", cause: error)
        }
    }

    static func syncDirectory(_ directory: String) throws {
        do { try AtomicFile.syncDirectory(directory) } catch {
            throw CredentialsError(.io, "cannot sync \(directory)", cause: error)
        }
    }

    static func lockExclusive(_ path: String) throws -> ExclusiveFileLock {
        do { return try ExclusiveFileLock.acquire(path, permissions: 0o600) } catch {
            throw CredentialsError(.io, "cannot lock \(path)", cause: error)
        }
    }

    /// Replaces `path` with `contents` (mode 0600) through `AtomicFile`, so a crash at any point
    /// leaves either the old file or the new one; `set`/`delete` return only after the directory
    /// is synced.
    static func replaceAtomically(path: String, directory: String, contents: Data) throws {
        do { try AtomicFile.replace(path, with: Array(contents), directory: directory, permissions: 0o600) } catch {
            throw CredentialsError(.io, "cannot write \(path)", cause: error)
        }
    }
}
