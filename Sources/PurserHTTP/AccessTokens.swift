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

/// The API tokens, one document `access/tokens.json` in a `DocumentStore`: the file
/// `DATA/access/tokens.json` by default, a row of PostgreSQL when nodes share the database.
///
/// The document is small and decoded again whenever its version changed (a token created with
/// `purser token create` while the server runs works at once). A create is a compare-and-swap of
/// the whole list, retried from a fresh read when another process created one in between, so no
/// token is lost. The file store writes crash-safely: a crash leaves the old or the new list.
public final class AccessTokenStore: Sendable {
    /// Random bytes in a secret (256 bits).
    public static let secretBytes = 32
    public static let tokenPrefix = "pst_"
    /// The document's name in the store.
    public static let documentName = "access/tokens.json"

    public let documents: any DocumentStore
    /// The token file, when the store is the data directory's files.
    public let path: String
    /// The document's tokens as last decoded, with their version.
    private let cache = Locked<(tokens: [AccessToken], version: Int64)?>(nil)

    public init(dataDirectory: String) {
        let files = FileDocumentStore(root: dataDirectory)
        documents = files
        path = files.path(Self.documentName)
    }

    /// The tokens in `documents` (PostgreSQL for a cluster of nodes).
    public init(documents: any DocumentStore) {
        self.documents = documents
        path = (documents as? FileDocumentStore)?.path(Self.documentName) ?? Self.documentName
    }

    /// Creates a token and returns its secret, which is shown once and never stored.
    ///
    /// - Parameter knownOrgs: orgs that exist elsewhere (the agents read model), besides those
    ///   holding tokens; a new org that is a case variant of any of them is refused.
    public func create(org: String, role: Role, label: String, knownOrgs: [String] = [], now: Date = Date()) throws(HTTPServerError) -> (secret: String, token: AccessToken) {
        let secret = WebhookSignature.randomSecret(prefix: Self.tokenPrefix, byteCount: Self.secretBytes)
        let token = AccessToken(id: "tok_" + String(Self.hash(secret).prefix(12)), hash: Self.hash(secret), org: org, role: role,
                                label: label, createdAt: ISO8601DateFormatter().string(from: now))
        do {
            try documents.update(Self.documentName) { current in
                var all = try decode(current)
                // A write whose answer was lost and that came back as a conflict may have landed.
                if all.contains(where: { $0.id == token.id }) { return .keep }
                do throws(DomainError) {
                    try OrgIDGrammar.validate(org)
                    try OrgIDGrammar.refuseCaseVariant(org, of: all.map(\.org) + knownOrgs)
                } catch {
                    throw HTTPServerError(.invalidOrg, error.message)
                }
                all.append(token)
                return .write(try encode(all))
            }
        } catch let error as HTTPServerError {
            throw error
        } catch {
            throw HTTPServerError(.storage, "cannot write the token list \(path)", cause: error)
        }
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

    public func list() throws(HTTPServerError) -> [AccessToken] { try decode(try read()) }

    static func hash(_ secret: String) -> String {
        WebhookSignature.hex(Array(SHA256.hash(data: Data(secret.utf8))))
    }

    private func cachedTokens() throws(HTTPServerError) -> [AccessToken] {
        guard let document = try read() else { return [] }
        if let cached = cache.withLock({ $0 }), cached.version == document.version { return cached.tokens }
        let tokens = try decode(document)
        cache.withLock { $0 = (tokens, document.version) }
        return tokens
    }

    private func read() throws(HTTPServerError) -> StoredDocument? {
        do { return try documents.read(Self.documentName) } catch {
            throw HTTPServerError(.storage, "cannot read the token list \(path)", cause: error)
        }
    }

    private func decode(_ document: StoredDocument?) throws(HTTPServerError) -> [AccessToken] {
        guard let document else { return [] }
        do {
            return try JSONDecoder().decode([AccessToken].self, from: Data(document.bytes))
        } catch {
            throw HTTPServerError(.storage, "cannot read the token list \(path); restore it from a backup or delete it and create new tokens", cause: error)
        }
    }

    private func encode(_ tokens: [AccessToken]) throws(HTTPServerError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { return Array(try encoder.encode(tokens)) } catch {
            throw HTTPServerError(.storage, "cannot encode the token list", cause: error)
        }
    }
}
