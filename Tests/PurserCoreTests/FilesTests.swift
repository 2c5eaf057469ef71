import Foundation
import PurserCore
import Testing

private func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "purser-core-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct AtomicFileTests {
    @Test func replaceLeavesTheNewFileAndNoTemporary() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.json"
        try AtomicFile.replace(path, with: Array("old".utf8))
        try AtomicFile.replace(path, with: Array("new".utf8), permissions: 0o600)
        #expect(FileManager.default.contents(atPath: path) == Data("new".utf8))
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func failedReplaceLeavesTheOldFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/state.json"
        try AtomicFile.replace(path, with: Array("old".utf8))
        // The directory named for the fsync does not exist: the rename has happened by then, so
        // use a target whose temporary cannot be created instead.
        try FileManager.default.createDirectory(atPath: path + ".tmp", withIntermediateDirectories: false)
        #expect(throws: SystemCallError.self) { try AtomicFile.replace(path, with: Array("new".utf8)) }
        #expect(FileManager.default.contents(atPath: path) == Data("old".utf8))
    }

    @Test func directoryOfPath() {
        #expect(AtomicFile.directory(of: "/a/b/c") == "/a/b")
        #expect(AtomicFile.directory(of: "/c") == "/")
        #expect(AtomicFile.directory(of: "c") == ".")
    }
}

@Suite struct ExclusiveFileLockTests {
    @Test func secondAcquireFailsWhileHeldAndSucceedsAfterUnlock() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/LOCK"
        let first = try #require(try ExclusiveFileLock.tryAcquire(path))
        first.record("4242\n")
        var holder = ""
        #expect(try ExclusiveFileLock.tryAcquire(path, holder: { holder = $0 }) == nil)
        #expect(holder == "4242\n")
        first.unlock()
        first.unlock() // twice is harmless
        let second = try #require(try ExclusiveFileLock.tryAcquire(path))
        second.unlock()
    }

    @Test func blockingAcquireWaitsForTheHolder() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/LOCK"
        let first = try ExclusiveFileLock.acquire(path)
        let acquired = Locked(false)
        let waiter = Thread {
            if let lock = try? ExclusiveFileLock.acquire(path) {
                acquired.withLock { $0 = true }
                lock.unlock()
            }
        }
        waiter.start()
        try await Task.sleep(for: .milliseconds(100))
        #expect(acquired.withLock { $0 } == false)
        first.unlock()
        for _ in 0..<100 where !acquired.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(acquired.withLock { $0 } == true)
    }
}
