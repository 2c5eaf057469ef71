import Foundation
import PurserCore
import PurserTestSupport
import Testing

@Suite struct DemoTests {
    /// The README's main job: the sailing school set up, the conversation through the pipeline
    /// offline, an approval granted and others held, the spend, the replayed history, a verified
    /// log; a second run answers nothing twice.
    @Test func demoRunsThePipelineAndIsIdempotent() throws {
        let dir = TempDir()
        let first = try purser(["demo"], data: dir.path)
        #expect(first.status == 0, "\(first.stderr)")
        let out = first.stdout
        #expect(out.contains("Set up the agent and 7 objects/links."))
        #expect(out.contains("kostet 450 €"))
        #expect(out.contains("Yes! Our SBF Binnen and sailing courses are also taught in English"))
        #expect(out.contains("→ blocked: blocked_topic"))
        #expect(out.contains("→ handed to a human"))
        #expect(out.contains("→ rejected and kept as message.rejected"))
        #expect(out.contains("The owner approves apr_"))
        #expect(out.contains("Held for approval (4):"))
        #expect(out.contains("Spend today, agent primary: 4 of 100 messages"))
        #expect(out.contains("Replied on whatsapp to +491701234567 (approved: apr_"))
        #expect(out.contains("verify: ok"))

        let second = try purser(["demo"], data: dir.path)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("already set up"))
        #expect(second.stdout.contains("(already processed in an earlier run)"))
        #expect(!second.stdout.contains("The owner approves"))
        #expect(second.stdout.contains("Held for approval (4):"))

        let status = try purser(["projections", "status"], data: dir.path)
        for line in status.lines { #expect(line["skippedEvents"] as? Int == 0, "\(line)") }
        let sessions = try purser(["sessions", "--org", "haff"], data: dir.path)
        #expect(sessions.lines.count == 4)
    }
}
