import Crypto
import Foundation
import PurserCore
@_exported import PurserTestSupport
import Logging
import Testing
@testable import Credentials

func store(_ dir: TempDir, key: SymmetricKey) -> CredentialStore {
    CredentialStore(directory: dir.path + "/credentials", masterKey: key)
}

func error(_ body: () throws -> Void) -> CredentialsError? {
    do { try body(); return nil } catch let e as CredentialsError { return e } catch { return nil }
}

let secret = "sk-or-v1-3f9c2a7d5e8b1c4f6a0d9e2b7c5a8f1e"

@Suite struct CredentialStoreTests {
    @Test func roundTrip() throws {
        let dir = TempDir()
        let key = SymmetricKey(size: .bits256)
        let s = store(dir, key: key)
        try s.set(org: "haff", name: "openrouter_api_key", value: secret)
        try s.set(org: "haff", name: "whatsapp_verify_token", value: "verify-me")
        #expect(try s.get(org: "haff", name: "openrouter_api_key") == secret)
        #expect(try s.get(org: "haff", name: "twilio_auth_token") == nil)
        #expect(try s.names(org: "haff") == ["openrouter_api_key", "whatsapp_verify_token"])
        // A second store with the same key (a restart) reads the same values.
        let again = store(dir, key: key)
        #expect(try again.get(org: "haff", name: "whatsapp_verify_token") == "verify-me")
        // Replace, then delete.
        try again.set(org: "haff", name: "whatsapp_verify_token", value: "v2")
        #expect(try s.get(org: "haff", name: "whatsapp_verify_token") == "v2")
        #expect(try s.delete(org: "haff", name: "whatsapp_verify_token"))
        #expect(try !s.delete(org: "haff", name: "whatsapp_verify_token"))
        #expect(try s.names(org: "haff") == ["openrouter_api_key"])
        #expect(try s.delete(org: "haff", name: "openrouter_api_key"))
        #expect(try s.names(org: "haff") == [])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/credentials/haff.sealed"))
    }

    @Test func orgsAreIsolated() throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        try s.set(org: "org-a", name: "llm_api_key", value: secret)
        #expect(try s.get(org: "org-b", name: "llm_api_key") == nil)
        #expect(try s.names(org: "org-b") == [])
    }

    /// The org id is authenticated data: org A's file placed under org B's name does not open.
    @Test func sealedFileCopiedToAnotherOrgDoesNotOpen() throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        try s.set(org: "org-a", name: "llm_api_key", value: secret)
        let base = dir.path + "/credentials/"
        try FileManager.default.copyItem(atPath: base + "org-a.sealed", toPath: base + "org-b.sealed")
        let e = error { _ = try s.get(org: "org-b", name: "llm_api_key") }
        #expect(e?.code == .cannotDecrypt)
        #expect(e.map { "\($0)" }?.contains("wrong master key or tampered file") == true)
        #expect(error { _ = try s.names(org: "org-b") }?.code == .cannotDecrypt)
        // Nor can org B add to a file it cannot open.
        #expect(error { try s.set(org: "org-b", name: "other", value: "x") }?.code == .cannotDecrypt)
    }

    /// The name is authenticated data: a value moved to another entry does not open.
    @Test func sealedValueMovedToAnotherNameDoesNotOpen() throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        try s.set(org: "haff", name: "llm_api_key", value: secret)
        try s.set(org: "haff", name: "llm_base_url", value: "https://example.invalid/v1")
        let path = dir.path + "/credentials/haff.sealed"
        let text = try Data(contentsOf: URL(fileURLWithPath: path))
        let parsed = try JSONValue(parsing: text)
        var file = try #require(parsed.objectValue)
        var entries = (file["entries"]?.objectValue ?? [:]).compactMapValues { $0.stringValue }
        #expect(!entries.isEmpty)
        entries["llm_base_url"] = entries["llm_api_key"]
        file["entries"] = .object(entries.mapValues(JSONValue.string))
        try JSONValue.object(file).serializedData().write(to: URL(fileURLWithPath: path))
        #expect(error { _ = try s.get(org: "haff", name: "llm_api_key") }?.code == .cannotDecrypt)
    }

    @Test func wrongMasterKeyFailsClearly() throws {
        let dir = TempDir()
        try store(dir, key: SymmetricKey(size: .bits256)).set(org: "haff", name: "twilio_auth_token", value: secret)
        let other = store(dir, key: SymmetricKey(size: .bits256))
        let e = error { _ = try other.get(org: "haff", name: "twilio_auth_token") }
        #expect(e?.code == .cannotDecrypt)
        #expect(e?.message.hasPrefix("cannot decrypt: wrong master key or tampered file") == true)
        #expect(e.map { "\($0)" }?.contains(secret) == false)
        #expect(error { _ = try other.names(org: "haff") }?.code == .cannotDecrypt)
        #expect(error { try other.set(org: "haff", name: "llm_api_key", value: "x") }?.code == .cannotDecrypt)
    }

    /// Flipping any one byte of the sealed value (nonce, ciphertext or tag) is detected.
    @Test(arguments: [0, 5, 12, 20, 40, 51])
    func tamperedValueFails(byteIndex: Int) throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        try s.set(org: "haff", name: "whatsapp_access_token", value: secret)
        let path = dir.path + "/credentials/haff.sealed"
        let text = try Data(contentsOf: URL(fileURLWithPath: path))
        let parsed = try JSONValue(parsing: text)
        var file = try #require(parsed.objectValue)
        var entries = (file["entries"]?.objectValue ?? [:]).compactMapValues { $0.stringValue }
        #expect(!entries.isEmpty)
        var raw = Data(base64Encoded: entries["whatsapp_access_token"]!)!
        #expect(raw.count == 12 + secret.utf8.count + 16)
        raw[byteIndex] ^= 0x01
        entries["whatsapp_access_token"] = raw.base64EncodedString()
        file["entries"] = .object(entries.mapValues(JSONValue.string))
        try JSONValue.object(file).serializedData().write(to: URL(fileURLWithPath: path))
        #expect(error { _ = try s.get(org: "haff", name: "whatsapp_access_token") }?.code == .cannotDecrypt)
    }

    @Test func truncatedOrGarbageFileFails() throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        try s.set(org: "haff", name: "llm_api_key", value: secret)
        let path = dir.path + "/credentials/haff.sealed"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        #expect(error { _ = try s.get(org: "haff", name: "llm_api_key") }?.code == .cannotDecrypt)
    }

    @Test func fileDoesNotContainThePlaintext() throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        try s.set(org: "haff", name: "openrouter_api_key", value: secret)
        let base = dir.path + "/credentials/"
        for file in try FileManager.default.contentsOfDirectory(atPath: base) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: base + file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds the plaintext")
            #expect(bytes.range(of: Data(secret.utf8).base64EncodedData()) == nil, "\(file) holds the plaintext in base64")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: base + "haff.sealed")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: base + "haff.sealed.tmp"))
    }

    @Test(arguments: ["openrouter_api_key", "whatsapp_app_secret", "llm_base_url", "a", String(repeating: "x", count: 64), "k9_"])
    func validNames(name: String) throws {
        try CredentialStore.validateName(name)
    }

    @Test(arguments: ["", "Upper", "with-dash", "with space", "dot.name", "../etc", "naïve", String(repeating: "x", count: 65), "a\u{0}b"])
    func invalidNamesAreRefused(name: String) throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        #expect(error { try s.set(org: "haff", name: name, value: "v") }?.code == .invalidName)
        #expect(error { _ = try s.get(org: "haff", name: name) }?.code == .invalidName)
    }

    @Test(arguments: ["", ".", "..", "../haff", "a/b", "/etc/passwd", "haff\u{0}", "ha ff", "x.sealed/..", String(repeating: "o", count: 129)])
    func invalidOrgsAreRefused(org: String) throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        #expect(error { try s.set(org: org, name: "llm_api_key", value: "v") }?.code == .invalidOrg)
        #expect(error { _ = try s.names(org: org) }?.code == .invalidOrg)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test(arguments: ["haff", "Org_1", "sailing-school.de", "a"])
    func validOrgs(org: String) throws {
        try CredentialStore.validateOrg(org)
    }

    @Test func oversizedAndEmptyValuesAreRefused() throws {
        let dir = TempDir()
        let s = store(dir, key: SymmetricKey(size: .bits256))
        #expect(error { try s.set(org: "haff", name: "x", value: "") }?.code == .invalidValue)
        #expect(error { try s.set(org: "haff", name: "x", value: String(repeating: "a", count: CredentialStore.maximumValueBytes + 1)) }?.code == .invalidValue)
        try s.set(org: "haff", name: "x", value: String(repeating: "a", count: CredentialStore.maximumValueBytes))
    }
}

@Suite struct MasterKeyTests {
    let logger = Logger(label: "test")

    @Test func fromEnvironment() throws {
        let dir = TempDir()
        let key = SymmetricKey(size: .bits256)
        let b64 = key.withUnsafeBytes { Data($0).base64EncodedString() }
        let loaded = try MasterKey.load(directory: dir.path + "/credentials", environment: ["PURSER_MASTER_KEY": b64], logger: logger)
        #expect(loaded == key)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/credentials/master.key"))
    }

    @Test func fromFileNamedByEnvironment() throws {
        let dir = TempDir()
        let key = SymmetricKey(size: .bits256)
        let file = dir.path + "/key.b64"
        try (key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let loaded = try MasterKey.load(directory: dir.path + "/credentials", environment: ["PURSER_MASTER_KEY_FILE": file], logger: logger)
        #expect(loaded == key)
    }

    @Test(arguments: ["not base64!", "AAAA", Data(count: 31).base64EncodedString(), Data(count: 33).base64EncodedString()])
    func badKeysAreRefused(text: String) throws {
        let dir = TempDir()
        #expect(error { _ = try MasterKey.load(directory: dir.path, environment: ["PURSER_MASTER_KEY": text], logger: logger) }?.code == .invalidMasterKey)
    }

    @Test func defaultKeyFileIsCreatedOnceWithMode0600() throws {
        let dir = TempDir()
        let credentials = dir.path + "/credentials"
        let first = try MasterKey.load(directory: credentials, environment: [:], logger: logger)
        let second = try MasterKey.load(directory: credentials, environment: [:], logger: logger)
        #expect(first == second)
        let attributes = try FileManager.default.attributesOfItem(atPath: credentials + "/master.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
