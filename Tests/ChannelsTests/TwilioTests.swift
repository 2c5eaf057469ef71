import Channels
import Foundation
import Testing

@Suite struct TwilioTests {
    @Test func realInboundSMS() throws {
        let outcomes = try Samples.outcomes("twilio/inbound_sms_form_bodies.txt").outcomes
        #expect(outcomes.count == 1)
        let message = try #require(outcomes.first?.message)
        #expect(message.channel == .sms)
        #expect(message.from == "+19253920364")
        #expect(message.to == "+19253920364")
        #expect(message.text == "twilio-go testing!")
        #expect(message.externalMessageId == "SM1521fa559fb923c1ed64f56cd1bed8ef")
        #expect(message.channelAccountId == "AC58f1e8f2b1c6b88ca90a012a4be0c279")
        // The comment lines before it count: the body is on line 3.
        #expect(outcomes.first?.position.line == 3)
    }

    @Test func whatsappThroughTwilio() throws {
        let body = "SmsMessageSid=SM1&NumMedia=1&ProfileName=Max+M%C3%BCller&MessageSid=SM1&AccountSid=AC1"
            + "&From=whatsapp%3A%2B491701234567&To=whatsapp%3A%2B4939771234567&Body=Gr%C3%BC%C3%9F+Gott%21"
            + "&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm%2F1&MediaContentType0=image%2Fjpeg&WaId=491701234567"
        let outcome = TwilioAdapter.outcome(formBody: Array(body.utf8), position: SourcePosition(source: "webhook"))
        let message = try #require(outcome.message)
        #expect(message.channel == .whatsapp)
        #expect(message.from == "+491701234567")
        #expect(message.to == "+4939771234567")
        #expect(message.text == "Grüß Gott!")
        #expect(message.contactName == "Max Müller")
        #expect(message.attachments == [Attachment(kind: "image", mimeType: "image/jpeg", url: "https://api.twilio.com/m/1")])
    }

    @Test func statusCallbackIsAStatus() throws {
        let body = "MessageSid=SM9&MessageStatus=undelivered&To=%2B491701234567&From=%2B4939771234567&ErrorCode=30003&AccountSid=AC1"
        let status = try #require(TwilioAdapter.outcome(formBody: Array(body.utf8), position: SourcePosition(source: "cb")).status)
        #expect(status.externalMessageId == "SM9")
        #expect(status.status == "undelivered")
        #expect(status.recipient == "+491701234567")
        #expect(status.errorCode == "30003")
    }

    @Test(arguments: [
        ("From=%2B49170&To=%2B4939&Body=hi", ChannelError.Code.invalidForm),
        ("MessageSid=SM1&To=%2B4939&Body=hi", .invalidForm),
        ("MessageSid=SM1&From=%2B49170&To=%2B4939&Body=", .invalidForm),
        ("MessageSid=SM1&From=messenger%3A123&To=messenger%3A456&Body=hi", .unsupportedMessageType),
        ("this is not a form body", .invalidForm),
    ])
    func badBodiesAreRejected(_ body: String, _ code: ChannelError.Code) {
        let outcome = TwilioAdapter.outcome(formBody: Array(body.utf8), position: SourcePosition(source: "t", line: 4))
        #expect(outcome.rejection?.code == code)
        #expect(outcome.rejection?.raw == Data(body.utf8))
        #expect(outcome.rejection?.position.line == 4)
    }

    @Test func oneBadBodyDoesNotStopTheOthers() {
        let input = "# comment\nMessageSid=SM1&From=%2B1&To=%2B2&Body=one\nMessageSid=SM2&From=%2B1&Body=two\n\nMessageSid=SM3&From=%2B1&To=%2B2&Body=three\n"
        let outcomes = InboundReader.outcomes(of: Data(input.utf8), sourceName: "forms.txt", format: .twilio)
        #expect(outcomes.compactMap(\.message).map(\.text) == ["one", "three"])
        #expect(outcomes.compactMap(\.rejection).map(\.position.line) == [3])
    }

    @Test func formDecoding() {
        let fields = TwilioAdapter.parseForm(Array("a=1+2&b=%2B%3D%26&c&d=%zz".utf8))
        #expect(fields.map(\.name) == ["a", "b", "c", "d"])
        #expect(fields.map(\.value) == ["1 2", "+=&", "", "%zz"])
    }
}
