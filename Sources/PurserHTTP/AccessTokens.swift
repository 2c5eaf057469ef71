import Crypto
import Channels
import Foundation
import PurserCore
import PurserDomain

/// What a token may do: viewers read, operators act (approvals, takeover, replies), admins also
/// change the agent.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case viewer, `operator`, admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .`operator`: 1
        case .admin: 2
        }
    }

    public static func < (a: Role, b: Role) -> Bool { a.rank < b.rank }
}

/// One API token as stored: only the SHA-256 of the secret is kept, so a copy of the file gives
/// no access.
public struct AccessToken: Sendable, Hashable, Codable {
    public var id: String
    public var hash: String
    public var org: String
    public var role: Role
    /// Who holds it; recorded as the actor of every action taken with it.
    public var label: String
    public var createdAt: String
}

/// The API tokens of a data directory, in `DATA/access/tokens.json`.
///
/// The file is small and read whenever it changed on disk (a token created with `purser token
/// create` while the server runs works at once). Writes are crash-safe: the new file is written
/// beside the old one, fsynced, renamed over it, and the directory fsynced, so a crash leaves
/// either the old or the new list, never a torn one.
public final class AccessTokenStore: Sendable {
    /// Random bytes in a secret (256 bits).
    public static let secretBytes = 32
    public static let tokenPrefix = "pst_"

    public let path: String
    /// The file's tokens as last read, with its modification date.
    private let cache = Locked<(tokens: [AccessToken], modified: Date?)?>(nil)

    public init(dataDirectory: String) {
        path = dataDirectory + "/access/tokens.json"
    }

    /// Creates a token and returns its secret, which is shown once and never stored.
    ///
    /// - Parameter knownOrgs: orgs that exist elsewhere (the agents read model), besides those
    ///   holding tokens; a new org that is a case variant of any of them is refused.
    public func create(org: String, role: Role, label: String, knownOrgs: [String] = [], now: Date = Date()) throws(HTTPServerError) -> (secret: String, token: AccessToken) {
        var all = try load()
        do {
            try OrgIDGrammar.validate(org)
            try OrgIDGrammar.refuseCaseVariant(org, of: all.map(\.org) + knownOrgs)
        } catch {
            throw HTTPServerError(.invalidOrg, error.message)
        }
        let secret = WebhookSignature.randomSecret(prefix: Self.tokenPrefix, byteCount: Self.secretBytes)
        let token = AccessToken(id: "tok_" + String(Self.hash(secret).prefix(12)), hash: Self.hash(secret), org: org, role: role,
                                label: label, createdAt: ISO8601DateFormatter().string(from: now))
        all.append(token)
        try save(all)
        return (secret, token)
    }

    /// The token a bearer secret stands for, or nil.
    public func authenticate(_ secret: String) -> AccessToken? {
        let hash = Self.hash(secret)
        guard let all = try? cachedTokens() else { return nil }
        // Compare every stored hash in full, so timing says nothing about which one was close.
        var found: AccessToken?
        for token in all where WebhookSignature.constantTimeEquals(Array(token.hash.utf8), Array(hash.utf8)) { found = token }
        return found
    }

    public func list() throws(HTTPServerError) -> [AccessToken] { try load() }

    static func hash(_ secret: String) -> String {
        WebhookSignature.hex(Array(SHA256.hash(data: Data(secret.utf8))))
    }

    private func cachedTokens() throws(HTTPServerError) -> [AccessToken] {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? nil
        if let modified, let cached = cache.withLock({ $0 }), cached.modified == modified { return cached.tokens }
        let tokens = try load()
        cache.withLock { $0 = (tokens, modified) }
        return tokens
    }

    private func load() throws(HTTPServerError) -> [AccessToken] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        do {
            return try JSONDecoder().decode([AccessToken].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw HTTPServerError(.storage, "cannot read the token file \(path); restore it from a backup or delete it and create new tokens", cause: error)
        }
    }

    private func save(_ tokens: [AccessToken]) throws(HTTPServerError) {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(tokens)
            try AtomicFile.replace(path, with: Array(data), directory: directory, permissions: 0o600)
        } catch let error as HTTPServerError {
            throw error
        } catch {
            throw HTTPServerError(.storage, "cannot write the token file \(path)", cause: error)
        }
    }
}
