import Credentials
import Crypto
import Foundation
import Logging
import PostgresStore
import PostgresTestSupport
import PurserCore
import PurserRuntime
import PurserTestSupport
import Testing

private let logger = Logger(label: "purser.tests.runtime")

/// Each org's secrets come from the runtime's document store, so that with PostgreSQL a secret
/// set from one node is used by every node; the master key stays on each node.
@Suite struct OrgSecretsTests {
    /// Without any credential the server creates no master key: reading a secret of an org that
    /// has none leaves the data directory as it was.
    @Test func aDataDirectoryWithoutCredentialsGetsNoKeyFromALookup() throws {
        let dir = TempDir(prefix: "purser-secrets")
        let secrets = OrgSecrets(dataDirectory: dir.path, environment: [:], logger: logger)
        #expect(secrets.value("haff", "whatsapp_app_secret") == nil)
        #expect(secrets.provider(for: "haff", prices: .builtIn) == nil)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/credentials"))
    }

    /// A secret written with `purser credentials set` into the data directory is read back for its
    /// org only, also by a lookup that started before it was written (a server started without
    /// credentials).
    @Test func aSecretSetAfterTheServerStartedIsReadForItsOrgOnly() throws {
        let dir = TempDir(prefix: "purser-secrets")
        let environment = ["PURSER_MASTER_KEY": SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }]
        let secrets = OrgSecrets(dataDirectory: dir.path, environment: environment, logger: logger)
        #expect(secrets.value("haff", "whatsapp_app_secret") == nil)
        try CredentialStore.open(dataDirectory: dir.path, environment: environment, logger: logger)
            .set(org: "haff", name: "whatsapp_app_secret", value: "haff-app-secret")
        #expect(secrets.value("haff", "whatsapp_app_secret") == "haff-app-secret")
        #expect(secrets.value("kite", "whatsapp_app_secret") == nil)
        #expect(secrets.value(nil, "whatsapp_app_secret") == nil)
    }

    /// Two nodes on one PostgreSQL database, each with its own data directory and the same master
    /// key: a secret one node sets is what the other node's runtime uses, and an org's model key
    /// gives that org its own provider there.
    @Test(.enabled(if: TestDatabase.enabled))
    func aSecretSetOnOneNodeIsUsedByAnotherNodesRuntime() async throws {
        try await TestDatabase.with { url in
            let key = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
            let environment = ["PURSER_MASTER_KEY": key]
            let setter = TempDir(prefix: "purser-secrets-a"), server = TempDir(prefix: "purser-secrets-b")
            let runtime = try await Runtime.open(dataDirectory: server.path, database: url, environment: environment, logger: logger)
            do {
                try await TestDatabase.withStore(url) { other in
                    let documents = PostgresDocumentStore(events: other)
                    try await BlockingIO.run { () throws in
                        #expect(runtime.secrets.value("haff", "twilio_auth_token") == nil)
                        let store = try CredentialStore.open(documents: documents, dataDirectory: setter.path, environment: environment, logger: logger)
                        try store.set(org: "haff", name: "twilio_auth_token", value: "haff-twilio-token")
                        try store.set(org: "haff", name: "openrouter_api_key", value: "sk-or-haff")
                        #expect(runtime.secrets.value("haff", "twilio_auth_token") == "haff-twilio-token")
                        #expect(runtime.secrets.value("kite", "twilio_auth_token") == nil)
                        #expect(runtime.secrets.provider(for: "haff", prices: .builtIn) != nil)
                        #expect(runtime.secrets.provider(for: "kite", prices: .builtIn) == nil)
                    }
                }
                // Nothing of it is in the server's data directory: no sealed file, no key.
                #expect(!FileManager.default.fileExists(atPath: server.path + "/credentials"))
            } catch {
                await runtime.close()
                throw error
            }
            await runtime.close()
        }
    }
}
