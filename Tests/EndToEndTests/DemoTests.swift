import Foundation
import Testing

@Suite struct DemoTests {
    /// The README's main job: it writes, replays and verifies, shows the held approval and the
    /// spend from the read models, and a second run stores nothing twice.
    @Test func demoRunsAndIsIdempotent() throws {
        let dir = TempDir()
        let first = try purser(["demo"], data: dir.path)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("appended 12 event(s)"))
        #expect(first.stderr.contains("Held for approval: apr_demo_1"))
        #expect(first.stderr.contains("verify: ok"))
        #expect(first.lines.count == 12)
        let second = try purser(["demo"], data: dir.path)
        #expect(second.status == 0)
        #expect(second.stderr.contains("appended 0 event(s), 12 already in the log"))
        let status = try purser(["projections", "status"], data: dir.path)
        for line in status.lines { #expect(line["skippedEvents"] as? Int == 0, "\(line)") }
    }
}
