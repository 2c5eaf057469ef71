import EventLog
import Foundation
import NIOSSL
import PostgresNIO
import PostgresStore
import Testing

@Suite("PostgreSQL URLs and secrets")
struct URLTests {
    @Test func aURLParsesWithEveryPart() throws {
        let url = try PostgresURL("postgres://purser:p%40ss@db.example:6432/events?sslmode=require")
        #expect(url.user == "purser" && url.password == "p@ss" && url.host == "db.example" && url.port == 6432)
        #expect(url.database == "events" && url.sslMode == .require)
        #expect(try PostgresURL("postgresql://me@[::1]/x").host == "::1")
        #expect(try PostgresURL("postgres://me@h").database == "me")
    }

    @Test func aBadURLIsAClearErrorThatNeverRepeatsThePassword() {
        for bad in ["postgres://u:hunter2-secret@h:99999/db", "mysql://u:hunter2-secret@h/db", "postgres://u:hunter2-secret@h/db?sslmode=maybe",
                    "postgres://u:hunter2-secret@/db", "postgres://:hunter2-secret@h/db", "postgres://u:hunter2-secret@h/db?color=blue"] {
            do {
                _ = try PostgresURL(bad)
                Issue.record("\(bad) parsed")
            } catch {
                #expect(!"\(error)".contains("hunter2-secret"), "\(error)")
                #expect("\(error)".contains("postgres://"))
            }
        }
        let good = try? PostgresURL("postgres://u:hunter2-secret@h/db")
        #expect(good.map { "\($0)" }?.contains("hunter2-secret") == false)
    }

    @Test(.enabled(if: TestDatabase.enabled)) func anUnreachableServerIsNamedWithoutItsPassword() async throws {
        // A port nothing listens on: the error names the server, not the password.
        let url = try PostgresURL("postgres://purser:hunter2-secret@127.0.0.1:9/none?sslmode=disable")
        do {
            _ = try await PostgresEventStore.open(url: url, retrySecondsMax: 0.3, logger: TestDatabase.logger)
            Issue.record("opened a store on a closed port")
        } catch {
            #expect(!"\(error)".contains("hunter2-secret"))
            #expect(!String(reflecting: error).contains("hunter2-secret"))
            #expect((error as? PostgresStoreError)?.code == .unavailable)
        }
    }
}

extension PostgresSuites {
@Suite("PostgreSQL faults", .enabled(if: TestDatabase.enabled))
struct FaultTests {
    @Test func tlsWithSSLModeRequire() async throws {
        try await TestDatabase.with { url in
            var secure = url
            secure.sslMode = .require
            try await TestDatabase.withStore(secure) { store in
                _ = try await store.append([EventDraft(org: "haff", stream: "s", type: "t.x", data: Array(#"{"a":1}"#.utf8), id: "tls-1")])
                #expect(try await store.read(org: "haff").count == 1)
            }
            // And the connection really is encrypted: the server says so of a client on the same settings.
            let config = PostgresClient.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                      database: url.database, tls: .require(.makeClientConfiguration().insecure()))
            let client = PostgresClient(configuration: config)
            let task = Task { await client.run() }
            defer { task.cancel() }
            for try await ssl in try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").decode(Bool.self) {
                #expect(ssl)
            }
        }
    }

    /// The server restarted while producers append: every acknowledged event is there once, and
    /// every append either was acknowledged or failed loudly (none half-stored). Needs the
    /// cluster's directory (`PURSER_TEST_PG_CLUSTER_DIR`, set by .ci/run) to restart it.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["PURSER_TEST_PG_CLUSTER_DIR"] != nil))
    func aServerRestartMidIngestLosesNothingAndDoublesNothing() async throws {
        let clusterDir = ProcessInfo.processInfo.environment["PURSER_TEST_PG_CLUSTER_DIR"]!
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/pg-cluster.sh").standardized.path
        try await TestDatabase.with { url in
            let store = try await PostgresEventStore.open(url: url, retrySecondsMax: 60, logger: TestDatabase.logger)
            defer { Task { await store.close() } }
            let acknowledged = try await withThrowingTaskGroup(of: [String].self) { group in
                for p in 0..<8 {
                    group.addTask {
                        var mine: [String] = []
                        for a in 0..<60 {
                            let id = "p\(p)-\(a)"
                            _ = try await store.append([EventDraft(org: "org\(p % 3)", stream: "s\(p)", type: "message.received",
                                                                   data: Array(#"{"n":\#(a)}"#.utf8), id: id)])
                            mine.append(id)
                        }
                        return mine
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(300))
                    let status = try await run("/bin/bash", [script, "restart", clusterDir])
                    #expect(status == 0)
                    return []
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(acknowledged.count == 8 * 60)
            var stored: [String] = []
            for org in ["org0", "org1", "org2"] {
                let events = try await store.read(org: org)
                #expect(events.map(\.seq) == Array(1...UInt64(events.count)))
                stored += events.map(\.id)
            }
            #expect(stored.count == Set(stored).count)  // nothing doubled
            #expect(Set(stored) == Set(acknowledged))    // nothing lost
            #expect(try await store.verify().ok)
        }
    }
}
}

/// Runs a shell command to its end on a thread of its own. Not `Process`: it watches for the
/// end through a descriptor that the restarted server inherits, so it would wait for ever.
func run(_ executable: String, _ arguments: [String]) async throws -> Int32 {
    let command = ([executable] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
    return await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            let status = system(command + " >/dev/null 2>&1 </dev/null")
            continuation.resume(returning: status)
        }
    }
}

extension TLSConfiguration {
    /// Accepts the throwaway cluster's self-signed certificate (as sslmode=require does).
    func insecure() -> TLSConfiguration {
        var copy = self
        copy.certificateVerification = .none
        return copy
    }
}
