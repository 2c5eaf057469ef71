import Foundation
import PostgresStore
import PostgresTestSupport
import PurserCore
import PurserHTTP
import Testing

/// Tokens in PostgreSQL (issue #14): a token created on one node authenticates on every other.
@Suite("HTTP tokens in PostgreSQL", .serialized, .enabled(if: TestDatabase.enabled))
struct PostgresTokenTests {
    @Test func aTokenCreatedOnOneNodeAuthenticatesOnAnother() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { first in
                try await TestDatabase.withStore(url) { second in
                    let one = AccessTokenStore(documents: PostgresDocumentStore(events: first))
                    let other = AccessTokenStore(documents: PostgresDocumentStore(events: second))
                    try await BlockingIO.run { () throws in
                        let (secret, token) = try one.create(org: "haff", role: .operator, label: "anna")
                        #expect(other.authenticate(secret) == token)
                        #expect(other.authenticate(token.hash) == nil)
                        // The second node's cache follows a change made on the first.
                        let (later, _) = try one.create(org: "kite", role: .viewer, label: "ben")
                        #expect(other.authenticate(later)?.org == "kite")
                        // Created on the other node, listed on both, and a case variant refused there.
                        _ = try other.create(org: "haff", role: .admin, label: "carl")
                        #expect(try one.list().map(\.label) == ["anna", "ben", "carl"])
                        #expect(throws: HTTPServerError.self) { try other.create(org: "HAFF", role: .viewer, label: "eve") }
                    }
                }
            }
        }
    }

    @Test func tokensCreatedOnTwoNodesAtOnceAreAllKept() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { first in
                try await TestDatabase.withStore(url) { second in
                    let nodes = [AccessTokenStore(documents: PostgresDocumentStore(events: first)),
                                 AccessTokenStore(documents: PostgresDocumentStore(events: second))]
                    try await BlockingIO.run { () throws in
                        let secrets = Locked<[String]>([])
                        DispatchQueue.concurrentPerform(iterations: 8) { i in
                            if let created = try? nodes[i % 2].create(org: "haff", role: .viewer, label: "user-\(i)") {
                                secrets.withLock { $0.append(created.secret) }
                            }
                        }
                        let all = secrets.withLock { $0 }
                        #expect(all.count == 8)
                        #expect(try nodes[0].list().count == 8)
                        for secret in all { #expect(nodes[1].authenticate(secret) != nil) }
                    }
                }
            }
        }
    }
}
