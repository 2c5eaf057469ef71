import Crypto
import Foundation
import Logging
import PurserCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the master key that seals every org's credentials comes from.
///
/// In order: `PURSER_MASTER_KEY` (32 bytes, base64), else the file named by
/// `PURSER_MASTER_KEY_FILE` (32 bytes, base64 text or raw), else `<credentials>/master.key`,
/// created on first use with mode 0600.
///
/// The default file is for development only: it lies beside the sealed files it protects, so
/// anyone who copies the data directory copies the key too. In production keep the key
/// elsewhere (a secrets manager, a mounted secret, a file readable only by the service user)
/// and pass it through one of the two variables.
public enum MasterKey {
    /// The size of an AES-256 key.
    public static let sizeBytes = 32
    public static let environmentVariable = "PURSER_MASTER_KEY"
    public static let fileEnvironmentVariable = "PURSER_MASTER_KEY_FILE"
    public static let defaultFileName = "master.key"

    /// A key from base64 text (surrounding whitespace ignored).
    public static func fromBase64(_ text: String, source: String) throws -> SymmetricKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed) else {
            throw CredentialsError(.invalidMasterKey, "master key from \(source) is not base64")
        }
        guard data.count == sizeBytes else {
            throw CredentialsError(.invalidMasterKey, "master key from \(source) is \(data.count) bytes, want \(sizeBytes)")
        }
        return SymmetricKey(data: data)
    }

    /// The key per the order above. `directory` is the credentials directory
    /// (`DATA/credentials`); it is created when the default key file is.
    public static func load(
        directory: String,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger
    ) throws -> SymmetricKey {
        if let text = environment[environmentVariable], !text.isEmpty {
            return try fromBase64(text, source: "$\(environmentVariable)")
        }
        if let path = environment[fileEnvironmentVariable], !path.isEmpty {
            return try readKeyFile(path)
        }
        let path = directory + "/" + defaultFileName
        if FileManager.default.fileExists(atPath: path) {
            return try readKeyFile(path)
        }
        return try createDefaultKeyFile(directory: directory, path: path, logger: logger)
    }

    static func readKeyFile(_ path: String) throws -> SymmetricKey {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CredentialsError(.invalidMasterKey, "cannot read master key file \(path)", cause: error)
        }
        if data.count == sizeBytes, Data(base64Encoded: data) == nil {
            return SymmetricKey(data: data)
        }
        return try fromBase64(String(decoding: data, as: UTF8.self), source: path)
    }

    /// Creates the development key with `O_EXCL`, so two processes starting at once do not each
    /// write a different key: the loser reads the winner's file.
    static func createDefaultKeyFile(directory: String, path: String, logger: Logger) throws -> SymmetricKey {
        try CredentialFiles.makeDirectory(directory)
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return try readKeyFile(path) }
            throw CredentialsError(.io, "cannot create master key file", cause: SystemCallError(call: "open", path: path, errno: errno))
        }
        do {
            defer { close(fd) }
            do { try AtomicFile.writeAll(fd, Array(text.utf8), path: path) } catch {
                throw CredentialsError(.io, "cannot write master key file", cause: error)
            }
            // The key must be on disk before anything is sealed with it; then make its name durable.
            if fsync(fd) != 0 {
                throw CredentialsError(.io, "cannot sync master key file", cause: SystemCallError(call: "fsync", path: path, errno: errno))
            }
        } catch {
            unlink(path)
            throw error
        }
        try CredentialFiles.syncDirectory(directory)
        logger.warning("created a development master key; in production set \(environmentVariable) or \(fileEnvironmentVariable) and keep the key away from the data directory", metadata: ["path": "\(path)"])
        return key
    }
}

/// The directory calls the key file needs, each failure an `.io` error naming the path.
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
}
