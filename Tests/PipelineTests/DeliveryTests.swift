import Foundation
@testable import Pipeline
import PurserDomain
import Testing

/// Statuses from a channel find the message they are about, in the org they belong to.
@Suite struct DeliveryTests {
    /// Regression: the channel ids of acknowledged messages were kept per channel across orgs, so
    /// kite acknowledging a message with the id haff's message already had replaced haff's entry,
    /// and haff's status webhook (verified for haff) no longer found its own message.
    @Test func anotherOrgsAcknowledgementWithTheSameChannelIdDoesNotHideAStatus() async throws {
        let h = try await Harness(configs: [agentConfig(org: "haff", address: "+4939771234567"),
                                            agentConfig(org: "kite", address: "+4930999999")])
        let haff = await h.pipeline.process(message("Was kostet der SBF Binnen?", to: "+4939771234567"))
        let kite = await h.pipeline.process(message("Was kostet der SBF Binnen?", to: "+4930999999"))
        let haffReply = try #require(haff.replyId, "\(haff)"), kiteReply = try #require(kite.replyId, "\(kite)")
        #expect(haff.kind == .sent && kite.kind == .sent)
        _ = try await h.pipeline.acknowledge(messageId: haffReply, externalId: "wamid.same", by: "connector")
        _ = try await h.pipeline.acknowledge(messageId: kiteReply, externalId: "wamid.same", by: "connector")

        for (org, reply) in [("haff", haffReply), ("kite", kiteReply)] {
            let status = await h.pipeline.recordStatus(channel: .whatsapp, externalId: "wamid.same", status: "read", error: nil, raw: Data(),
                                                       source: "test", lineNumber: nil, format: "whatsapp", restrictedTo: .some(org))
            #expect(status.kind == .sent && status.org == org && status.replyId == reply, "\(status)")
        }
        // Verified for no org: matched against none.
        let none = await h.pipeline.recordStatus(channel: .whatsapp, externalId: "wamid.same", status: "read", error: nil, raw: Data(),
                                                 source: "test", lineNumber: nil, format: "whatsapp", restrictedTo: .some(nil))
        #expect(none.kind == .rejected)
        let read = try await h.events(org: "haff", type: "message.delivered").filter { $0["data"]?["status"]?.stringValue == "read" }
        #expect(read.map { $0["data"]?["messageId"]?.stringValue } == [haffReply])
    }
}
