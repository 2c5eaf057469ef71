import Dispatch
import Foundation
import PostgresNIO
import PostgresStore
import PurserCore
import Testing

/// The one suite every `DocumentStore` passes: the files of a data directory and PostgreSQL.
enum DocumentStoreConformance {
    /// Every byte value, invalid UTF-8 and NUL included: documents are bytes, not text.
    static let allBytes: [UInt8] = (0...255).map(UInt8.init) + [0xC3, 0x28, 0x00]

    static func bytesComeBackExactlyAndAFirstWriteHappensOnce(_ store: any DocumentStore) throws {
        #expect(try store.read("access/tokens.json") == nil)
        let first = try store.write("access/tokens.json", bytes: allBytes, expectedVersion: nil)
        #expect(try store.read("access/tokens.json") == StoredDocument(bytes: allBytes, version: first))
        // A second "first write" (another node creating it at the same time) is refused.
        #expect(conflict { try store.write("access/tokens.json", bytes: [1], expectedVersion: nil) })
        #expect(try store.read("access/tokens.json")?.bytes == allBytes)
        // An empty document is a document.
        try store.write("empty", bytes: [], expectedVersion: nil)
        #expect(try store.read("empty")?.bytes == [])
    }

    static func aStaleVersionIsRefusedForWritesAndDeletes(_ store: any DocumentStore) throws {
        let v1 = try store.write("credentials/haff.sealed", bytes: Array("one".utf8), expectedVersion: nil)
        let v2 = try store.write("credentials/haff.sealed", bytes: Array("two".utf8), expectedVersion: v1)
        #expect(v2 != v1)
        #expect(conflict { try store.write("credentials/haff.sealed", bytes: Array("lost".utf8), expectedVersion: v1) })
        #expect(conflict { try store.delete("credentials/haff.sealed", expectedVersion: v1) })
        #expect(try store.read("credentials/haff.sealed") == StoredDocument(bytes: Array("two".utf8), version: v2))
        try store.delete("credentials/haff.sealed", expectedVersion: v2)
        #expect(try store.read("credentials/haff.sealed") == nil)
        // Gone: neither a write nor a delete naming the old version lands.
        #expect(conflict { try store.write("credentials/haff.sealed", bytes: [1], expectedVersion: v2) })
        #expect(conflict { try store.delete("credentials/haff.sealed", expectedVersion: v2) })
    }

    static func listReturnsTheNamesUnderAPrefixSorted(_ store: any DocumentStore) throws {
        for name in ["l/credentials/kite.sealed", "l/credentials/haff.sealed", "l/access/tokens.json", "l/credentialsx/a"] {
            try store.write(name, bytes: [1], expectedVersion: nil)
        }
        #expect(try store.list(prefix: "l/credentials/") == ["l/credentials/haff.sealed", "l/credentials/kite.sealed"])
        #expect(try store.list(prefix: "nothing/") == [])
        let kite = try #require(try store.read("l/credentials/kite.sealed"))
        try store.delete("l/credentials/kite.sealed", expectedVersion: kite.version)
        #expect(try store.list(prefix: "l/credentials/") == ["l/credentials/haff.sealed"])
    }

    /// Another writer between the read and the write: `update` reads again and keeps both changes.
    static func anUpdateInterruptedByAnotherWriterRetriesFromAFreshRead(_ store: any DocumentStore) throws {
        try store.write("list", bytes: Array("a".utf8), expectedVersion: nil)
        var attempts = 0
        try store.update("list") { current in
            attempts += 1
            if attempts == 1 {
                // The other node's write lands after this read.
                try store.write("list", bytes: current!.bytes + Array("b".utf8), expectedVersion: current!.version)
            }
            return .write(current!.bytes + Array("c".utf8))
        }
        #expect(attempts == 2)
        #expect(try store.read("list")?.bytes == Array("abc".utf8))
        // `.delete` removes it, `.keep` writes nothing.
        #expect(try store.update("list") { _ in .keep } == .keep)
        try store.update("list") { _ in .delete }
        #expect(try store.read("list") == nil)
    }

    /// Many writers at once, each a read-modify-write: none of their changes is lost.
    static func concurrentUpdatesLoseNothing(_ store: any DocumentStore) throws {
        let writers = 8
        let failures = Locked(0)
        DispatchQueue.concurrentPerform(iterations: writers) { i in
            do {
                try store.update("counter") { current in .write((current?.bytes ?? []) + [UInt8(i)]) }
            } catch {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(try store.read("counter")?.bytes.sorted() == (0..<writers).map(UInt8.init))
    }

    static func namesThatLeaveTheStoreAreRefused(_ store: any DocumentStore) throws {
        for name in ["", "/etc/passwd", "../x", "a/../../x", "a//b", ".lock", "a/b.tmp"] {
            #expect(throws: DocumentStoreError.self) { try store.write(name, bytes: [1], expectedVersion: nil) }
        }
    }

    static func all(_ store: any DocumentStore) throws {
        try bytesComeBackExactlyAndAFirstWriteHappensOnce(store)
        try aStaleVersionIsRefusedForWritesAndDeletes(store)
        try listReturnsTheNamesUnderAPrefixSorted(store)
        try anUpdateInterruptedByAnotherWriterRetriesFromAFreshRead(store)
        try concurrentUpdatesLoseNothing(store)
        try namesThatLeaveTheStoreAreRefused(store)
    }

    static func conflict(_ body: () throws -> Void) -> Bool {
        do { try body(); return false } catch let error as DocumentStoreError { return error.code == .conflict } catch { return false }
    }
}

extension DocumentChange: Equatable {
    public static func == (a: DocumentChange, b: DocumentChange) -> Bool {
        switch (a, b) {
        case (.keep, .keep), (.delete, .delete): true
        case (.write(let x), .write(let y)): x == y
        default: false
        }
    }
}

@Suite("Documents in files")
struct FileDocumentStoreTests {
    @Test func theFileStorePassesTheDocumentStoreSuite() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("purser-documents-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await BlockingIO.run { try DocumentStoreConformance.all(FileDocumentStore(root: root)) }
    }

    @Test func aDocumentIsTheFileAtItsNameUnderTheRoot() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("purser-documents-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = FileDocumentStore(root: root)
        try store.write("credentials/haff.sealed", bytes: Array("sealed".utf8), expectedVersion: nil)
        #expect(FileManager.default.contents(atPath: root + "/credentials/haff.sealed") == Data("sealed".utf8))
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/credentials/haff.sealed")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // A file changed behind the store's back (another process, an operator) is a conflict too.
        let read = try #require(try store.read("credentials/haff.sealed"))
        try Data("edited".utf8).write(to: URL(fileURLWithPath: root + "/credentials/haff.sealed"))
        #expect(DocumentStoreConformance.conflict { try store.write("credentials/haff.sealed", bytes: [1], expectedVersion: read.version) })
    }
}

extension PostgresSuites {
@Suite("Documents in PostgreSQL", .enabled(if: TestDatabase.enabled))
struct PostgresDocumentStoreTests {
    @Test func thePostgresStorePassesTheDocumentStoreSuite() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { events in
                let store = PostgresDocumentStore(events: events)
                try await BlockingIO.run { try DocumentStoreConformance.all(store) }
            }
        }
    }

    @Test func twoNodesShareTheDocumentsAndTheirVersions() async throws {
        try await TestDatabase.with { url in
            try await TestDatabase.withStore(url) { first in
                try await TestDatabase.withStore(url) { second in
                    let a = PostgresDocumentStore(events: first), b = PostgresDocumentStore(events: second)
                    try await BlockingIO.run { () throws in
                        let v = try a.write("access/tokens.json", bytes: [1, 2, 3], expectedVersion: nil)
                        #expect(try b.read("access/tokens.json") == StoredDocument(bytes: [1, 2, 3], version: v))
                        try b.write("access/tokens.json", bytes: [4], expectedVersion: v)
                        #expect(DocumentStoreConformance.conflict { try a.write("access/tokens.json", bytes: [5], expectedVersion: v) })
                        #expect(try a.read("access/tokens.json")?.bytes == [4])
                    }
                }
            }
        }
    }
}
}
