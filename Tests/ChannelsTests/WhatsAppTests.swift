import Channels
import Foundation
import PurserCore
import Testing

@Suite struct WhatsAppTests {
    @Test func cloudAPITextMessage() throws {
        let message = try #require(try Samples.message("whatsapp/cloud_api_text_message.json"))
        #expect(message.channel == .whatsapp)
        #expect(message.from == "+16505551234")
        #expect(message.to == "+15550783881")
        #expect(message.channelAccountId == "106540352242922")
        #expect(message.text == "Does it come in another color?")
        #expect(message.externalMessageId == "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
        #expect(message.contactName == "Sheena Nelson")
        #expect(message.receivedAt == Date(timeIntervalSince1970: 1_749_416_383))
    }

    @Test func buttonAndListRepliesUseTheTitleAsText() throws {
        let outcomes = try Samples.outcomes("whatsapp/pywa_callback_button.json").outcomes
            + Samples.outcomes("whatsapp/pywa_callback_selection.json").outcomes
        let messages = outcomes.compactMap(\.message)
        #expect(messages.count == 5)
        for message in messages {
            #expect(message.text == "title")
            #expect(message.choiceId == "callback_data")
        }
        let button = try #require(outcomes.first { $0.position.label == "button" }?.message)
        #expect(button.replyToMessageId == "wamid.xyzxyz")
        #expect(button.externalMessageId == "wamid.xyzxyz")
    }

    @Test func messageKindsInPywaFixtures() throws {
        let outcomes = try Samples.outcomes("whatsapp/pywa_message.json").outcomes
        func outcome(_ label: String) throws -> InboundOutcome {
            try #require(outcomes.first { $0.position.label == label }, "no outcome labelled \(label)")
        }
        #expect(try outcome("text").message?.text == "Body Text")
        let document = try #require(try outcome("document").message)
        #expect(document.text == "caption")
        #expect(document.attachments == [Attachment(kind: "document", mimeType: "application/pdf", fileName: "filename.pdf", mediaId: "1234567890987654321")])
        #expect(try outcome("voice").message?.attachments.first?.kind == "voice")
        #expect(try outcome("media_with_url").message?.attachments.first?.url?.hasPrefix("https://lookaside.fbsbx.com/") == true)
        let location = try #require(try outcome("chosen_location").message)
        #expect(location.text.contains("Facebook HQ") && location.text.contains("37.4611978"))
        #expect(try outcome("contacts").message?.text.contains("Chandler Bing (+1 555-555-5555)") == true)
        #expect(try outcome("order").message?.text.contains("3 × HAMBURGER at 30 ILS") == true)
        #expect(try outcome("reply").message?.replyToMessageId == "wamid.xyzxyz==")
        for label in ["reaction", "unreaction_empty", "unreaction_no_emoji", "unsupported", "unsupported_with_type", "interactive_message_with_err"] {
            let rejection = try #require(try outcome(label).rejection)
            #expect(rejection.code == .unsupportedMessageType)
            #expect(rejection.channel == .whatsapp)
            // The raw bytes are the body the message came in, and parse as JSON again.
            #expect((try? JSONValue(parsing: rejection.raw)) != nil)
        }
        #expect(try outcome("unsupported").rejection?.reason.contains("131051") == true)
    }

    @Test func statusWebhooksAreStatusesNotMessages() throws {
        let outcomes = try Samples.outcomes("whatsapp/pywa_message_status.json").outcomes
        #expect(outcomes.allSatisfy { $0.status != nil })
        let statuses = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.position.label ?? "", $0.status!) })
        #expect(statuses["sent"]?.status == "sent")
        #expect(statuses["delivered"]?.externalMessageId == "wamid.xyzxyz")
        #expect(statuses["delivered"]?.recipient == "+972987654321")
        #expect(statuses["delivered"]?.timestamp == Date(timeIntervalSince1970: 1_698_266_945))
        #expect(statuses["read"]?.status == "read")
        #expect(statuses["failed"]?.errorCode == "130472")
        #expect(statuses["failed"]?.errorMessage?.contains("experiment") == true)
        #expect(statuses["group"]?.recipient == "fowefinoewcnw")
    }

    @Test func oneBodyWithMessagesAndStatusesKeepsOrder() {
        let body = """
        {"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
          "metadata":{"display_phone_number":"49 3977 1234567","phone_number_id":"555"},
          "contacts":[{"profile":{"name":"Max Mustermann"},"wa_id":"491701234567"}],
          "messages":[{"from":"491701234567","id":"wamid.A","timestamp":"1764064800","type":"text","text":{"body":"Was kostet der SBF Binnen?"}},
                      {"from":"491701234567","id":"wamid.B","timestamp":"1764064801","type":"text","text":{"body":""}}],
          "statuses":[{"id":"wamid.OUT","status":"delivered","timestamp":"1764064802","recipient_id":"491701234567"}]}}]}]}
        """
        let outcomes = InboundReader.outcomes(of: Data(body.utf8), sourceName: "webhook")
        #expect(outcomes.count == 3)
        let message = outcomes[0].message
        #expect(message?.to == "+4939771234567")
        #expect(message?.from == "+491701234567")
        #expect(message?.contactName == "Max Mustermann")
        #expect(message?.receivedAt.map { Timestamp($0).iso8601 } == "2025-11-25T10:00:00Z")
        #expect(outcomes[0].position.index == 1)
        #expect(outcomes[1].rejection?.reason.contains("`text` is empty") == true)
        #expect(outcomes[1].position.index == 2)
        #expect(outcomes[2].status?.externalMessageId == "wamid.OUT")
    }

    @Test(arguments: [
        ("{\"object\":\"page\",\"entry\":[]}", ChannelError.Code.invalidWebhook),
        ("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"account_update\",\"value\":{}}]}]}", .notAMessage),
        ("{\"object\":\"whatsapp_business_account\",\"entry\":[]}", .notAMessage),
        ("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":{}}}]}]}", .notAMessage),
        ("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"messages\":[{\"id\":\"x\",\"type\":\"text\"}]}}]}]}", .invalidWebhook),
        ("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"changes\":[{\"field\":\"messages\",\"value\":{\"messages\":[{\"from\":\"4917\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}}]}}]}]}", .invalidWebhook),
    ])
    func malformedWebhooksAreRejectedWithAReason(_ body: String, _ code: ChannelError.Code) {
        let outcomes = InboundReader.outcomes(of: Data(body.utf8), sourceName: "webhook", format: .whatsapp)
        #expect(outcomes.count == 1)
        #expect(outcomes.first?.rejection?.code == code)
        #expect(outcomes.first?.rejection?.raw == Data(body.utf8))
    }

    @Test func webhookBodiesOnePerLine() throws {
        let line = String(decoding: try Samples.data("whatsapp/cloud_api_text_message.json"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let input = [line, "{not json", line].joined(separator: "\n")
        let outcomes = InboundReader.outcomes(of: Data(input.utf8), sourceName: "log.jsonl")
        #expect(outcomes.count == 3)
        #expect(outcomes[0].message != nil && outcomes[2].message != nil)
        #expect(outcomes[1].rejection?.position.line == 2)
        #expect(outcomes[1].rejection?.code == .invalidJSON)
    }

    @Test(arguments: [("16505551234", "+16505551234"), ("+1 (650) 555-1234", "+16505551234"),
                      ("<BUSINESS_DISPLAY_PHONE_NUMBER>", "<BUSINESS_DISPLAY_PHONE_NUMBER>"), ("123", "123")])
    func phoneNormalization(_ raw: String, _ expected: String) {
        #expect(WhatsAppAdapter.normalizePhone(raw) == expected)
    }
}
