import Crypto
import Foundation
import PostgresNIO
import PostgresStore
import PostgresTestSupport
import PurserCore
import Testing
@testable import Credentials

/// Credentials in PostgreSQL (issue #14): the database holds only sealed values, so a dump of it
/// gives no secret, and the master key never leaves the node.
@Suite("Credentials in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct PostgresCredentialsTests {
    @Test func aDatabaseDumpHoldsNoPlaintextAndDoesNotOpenWithAnotherKey() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { events in
                let documents = PostgresDocumentStore(events: events)
                let key = SymmetricKey(size: .bits256)
                try await BlockingIO.run { () throws in
                    let store = CredentialStore(documents: documents, masterKey: key)
                    try store.set(org: "haff", name: "openrouter_api_key", value: secret)
                    try store.set(org: "kite", name: "llm_api_key", value: "kite-secret-value")
                    #expect(try documents.list(prefix: CredentialStore.documentPrefix) == ["credentials/haff.sealed", "credentials/kite.sealed"])
                    // Another node with the same key reads it; one with another key cannot.
                    #expect(try CredentialStore(documents: documents, masterKey: key).get(org: "haff", name: "openrouter_api_key") == secret)
                    let stranger = CredentialStore(documents: documents, masterKey: SymmetricKey(size: .bits256))
                    #expect(error { _ = try stranger.get(org: "haff", name: "openrouter_api_key") }?.code == .cannotDecrypt)
                    #expect(error { try stranger.set(org: "haff", name: "other", value: "x") }?.code == .cannotDecrypt)
                }
                // What psql would dump: every stored byte, none of them the value.
                let dumped = try await TestDatabase.withClient(url) { client in
                    var all: [[UInt8]] = []
                    for try await bytes in try await client.query("SELECT bytes FROM purser_documents").decode(ByteBuffer.self) {
                        all.append(Array(bytes.readableBytesView))
                    }
                    return all
                }
                #expect(dumped.count == 2)
                for bytes in dumped {
                    let data = Data(bytes)
                    #expect(data.range(of: Data(secret.utf8)) == nil && data.range(of: Data(secret.prefix(16).utf8)) == nil)
                    #expect(data.range(of: Data("kite-secret-value".utf8)) == nil)
                }
            }
        }
    }

    @Test func setsFromTwoNodesAtOnceAreAllKept() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { first in
                try await TestDatabase.withStore(url) { second in
                    let key = SymmetricKey(size: .bits256)
                    let nodes = [CredentialStore(documents: PostgresDocumentStore(events: first), masterKey: key),
                                 CredentialStore(documents: PostgresDocumentStore(events: second), masterKey: key)]
                    try await BlockingIO.run { () throws in
                        let failures = Locked(0)
                        DispatchQueue.concurrentPerform(iterations: 8) { i in
                            do { try nodes[i % 2].set(org: "haff", name: "key_\(i)", value: "value-\(i)") } catch { failures.withLock { $0 += 1 } }
                        }
                        #expect(failures.withLock { $0 } == 0)
                        #expect(try nodes[0].names(org: "haff") == (0..<8).map { "key_\($0)" })
                        #expect(try nodes[1].delete(org: "haff", name: "key_3"))
                        #expect(try nodes[0].get(org: "haff", name: "key_3") == nil)
                    }
                }
            }
        }
    }
}
