import Crypto
import Foundation
import Logging
import PurserCore

/// Each org's provider and channel credentials, sealed at rest with AES-256-GCM.
///
/// One document per org, `<prefix><org>.sealed` in a `DocumentStore` (by default the file
/// `<directory>/<org>.sealed`; a row of PostgreSQL when nodes share the database): a small JSON
/// document whose entries map each credential name to `base64(nonce ‖ ciphertext ‖ tag)`. Every
/// value is sealed with the org id and its name as authenticated data, so a sealed value copied
/// to another name or another org's document does not open, and every value is opened whenever
/// the document is read, so a wrong master key, a changed byte or a document copied from another
/// org fails the whole read with `.cannotDecrypt` instead of yielding garbage. Names are stored in
/// clear (they are not secrets: `purser credentials list` shows them); values never are, and the
/// master key never enters the document store, so a copy of it (a database dump) opens nothing.
///
/// Changes are read-modify-write with compare-and-swap, retried from a fresh read when another
/// process changed the org's document in between. Values are returned to callers only through
/// `get`; the store never logs them.
public final class CredentialStore: Sendable {
    /// The largest value accepted. Keys and tokens are a few hundred bytes; the bound keeps a
    /// mistaken paste of a whole file out of the store.
    public static let maximumValueBytes = 16 * 1024
    /// The longest credential name.
    public static let maximumNameBytes = 64
    /// The longest org id.
    public static let maximumOrgBytes = 128
    static let formatTag = "purser-credentials/1"
    /// Where the documents live in a store shared with other documents (PostgreSQL).
    public static let documentPrefix = "credentials/"

    /// The directory of the files, or the prefix of the documents in a shared store.
    public let directory: String
    public let documents: any DocumentStore
    /// What precedes `<org>.sealed` in a document's name.
    let prefix: String
    private let key: SymmetricKey
    private let logger: Logger

    public convenience init(directory: String, masterKey: SymmetricKey, logger: Logger = Logger(label: "purser.credentials")) {
        self.init(documents: FileDocumentStore(root: directory), prefix: "", masterKey: masterKey, logger: logger, directory: directory)
    }

    /// The credentials in `documents` under `prefix` (`documentPrefix` in a shared store).
    public convenience init(documents: any DocumentStore, prefix: String = CredentialStore.documentPrefix, masterKey: SymmetricKey,
                logger: Logger = Logger(label: "purser.credentials")) {
        self.init(documents: documents, prefix: prefix, masterKey: masterKey, logger: logger, directory: prefix)
    }

    private init(documents: any DocumentStore, prefix: String, masterKey: SymmetricKey, logger: Logger, directory: String) {
        self.documents = documents
        self.prefix = prefix
        self.key = masterKey
        self.logger = logger
        self.directory = directory
    }

    /// The store under `DATA/credentials`, its master key per `MasterKey.load`.
    public static func open(dataDirectory: String, environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger = Logger(label: "purser.credentials")) throws -> CredentialStore {
        let directory = dataDirectory + "/credentials"
        let key = try MasterKey.load(directory: directory, environment: environment, logger: logger)
        return CredentialStore(directory: directory, masterKey: key, logger: logger)
    }

    /// The store in `documents` (PostgreSQL), its master key per `MasterKey.load` from the
    /// environment or `DATA/credentials`: the key stays on the node, only sealed values are shared.
    public static func open(documents: any DocumentStore, dataDirectory: String,
                            environment: [String: String] = ProcessInfo.processInfo.environment,
                            logger: Logger = Logger(label: "purser.credentials")) throws -> CredentialStore {
        let key = try MasterKey.load(directory: dataDirectory + "/credentials", environment: environment, logger: logger)
        return CredentialStore(documents: documents, masterKey: key, logger: logger)
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
        return try readOpened(org: org)[name]
    }

    /// The names an org has credentials for, sorted. Opens every value, so a wrong key or a
    /// tampered file fails here too.
    public func names(org: String) throws -> [String] {
        try Self.validateOrg(org)
        return try readOpened(org: org).keys.sorted()
    }

    /// Removes one credential; returns whether it existed. The document goes when its last entry does.
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

    // MARK: - Documents

    private func name(org: String) -> String { prefix + org + ".sealed" }

    /// Where an org's document is, for messages: its file, or its name in a shared store.
    private func path(org: String) -> String {
        (documents as? FileDocumentStore)?.path(name(org: org)) ?? name(org: org)
    }

    private struct SealedFile: Codable {
        var format: String
        var org: String
        var entries: [String: String]
    }

    private func readDocument(org: String) throws -> StoredDocument? {
        do { return try documents.read(name(org: org)) } catch {
            throw CredentialsError(.io, "cannot read \(path(org: org))", cause: error)
        }
    }

    /// The org's sealed entries (name → sealed text); empty when it has no document.
    private func sealedEntries(_ document: StoredDocument?, org: String) throws -> [String: String] {
        guard let document else { return [:] }
        let path = path(org: org)
        guard let file = try? JSONDecoder().decode(SealedFile.self, from: Data(document.bytes)), file.format == Self.formatTag else {
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
        for (name, sealed) in try sealedEntries(try readDocument(org: org), org: org) {
            opened[name] = try open(sealed, org: org, name: name, path: path)
        }
        return opened
    }

    /// Read, change, compare-and-swap (again from the read when another writer came in between).
    /// `change` returns whether anything changed.
    private func update(org: String, _ change: (inout [String: String]) throws -> Bool) throws {
        let path = path(org: org)
        do {
            try documents.update(name(org: org)) { document in
                var entries = try sealedEntries(document, org: org)
                // Refuse to extend a document that does not open: a wrong key would otherwise mix
                // values sealed under two keys in one document.
                for (name, sealed) in entries { _ = try open(sealed, org: org, name: name, path: path) }
                guard try change(&entries) else { return .keep }
                if entries.isEmpty { return .delete }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                do { return .write(Array(try encoder.encode(SealedFile(format: Self.formatTag, org: org, entries: entries)))) }
                catch { throw CredentialsError(.format, "cannot encode \(path)", cause: error) }
            }
        } catch let error as CredentialsError {
            throw error
        } catch {
            throw CredentialsError(.io, "cannot write \(path)", cause: error)
        }
    }
}
