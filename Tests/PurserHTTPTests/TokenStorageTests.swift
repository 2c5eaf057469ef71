import Foundation
import PurserHTTP
import PurserTestSupport
import Testing

/// Bearer tokens are stored only as SHA-256 hashes (issue #8, secrets): whoever reads
/// `DATA/access/tokens.json` cannot call the API with what they read.
@Suite("HTTP tokens at rest")
struct TokenStorageTests {
    @Test func tokenFileHoldsHashesNeverTheSecret() throws {
        let dir = TempDir(prefix: "purser-tokens")
        defer { withExtendedLifetime(dir) {} }
        let store = AccessTokenStore(dataDirectory: dir.path)
        var secrets: [String] = []
        for (org, role) in [("haff", Role.admin), ("haff", Role.viewer), ("kite", Role.admin)] {
            secrets.append(try store.create(org: org, role: role, label: "test").secret)
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: store.path))
        for secret in secrets {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "a token secret is stored in clear")
            // Nor without its prefix, nor any 16-character piece of it.
            let body = String(secret.dropFirst(AccessTokenStore.tokenPrefix.count))
            #expect(bytes.range(of: Data(body.prefix(16).utf8)) == nil)
        }
        // What is stored does not authenticate; the secrets do, each for its own org.
        for token in try store.list() {
            #expect(store.authenticate(token.hash) == nil)
            #expect(store.authenticate(token.id) == nil)
        }
        #expect(store.authenticate(secrets[2])?.org == "kite")
        #expect(store.authenticate(secrets[0])?.org == "haff")
    }
}
