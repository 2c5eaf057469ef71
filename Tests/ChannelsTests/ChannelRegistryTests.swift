import Channels
import Foundation
import Testing

/// The registry is the only list of channels: everything else derives from it.
@Suite struct ChannelRegistryTests {
    @Test func eachChannelFormatAndRouteIsRegisteredOnce() {
        let names = ChannelRegistry.adapters.map { $0.channel.rawValue }
        #expect(Set(names).count == names.count)
        let formats = ChannelRegistry.formats.map(\.format.rawValue)
        #expect(Set(formats).count == formats.count)
        #expect(!formats.contains("auto") && !formats.contains("jsonl"))
        let paths = ChannelRegistry.adapters.compactMap { $0.webhook?.path }
        #expect(Set(paths).count == paths.count)
        for format in ChannelRegistry.formats {
            #expect(ChannelRegistry.adapter(for: format.channel) != nil, "format \(format.format) names an unregistered channel")
        }
    }

    /// The channels and formats users and stored events spell, in the order messages list them.
    @Test func channelAndFormatNamesAreTheDocumentedOnes() {
        #expect(Channel.allCases.map(\.rawValue) == ["whatsapp", "email", "webchat", "sms", "instagram_dm"])
        #expect(InputFormat.allCases.map(\.rawValue) == ["auto", "jsonl", "whatsapp", "eml", "mbox", "webchat", "twilio"])
        #expect(ChannelRegistry.adapters.compactMap { $0.webhook?.path } == ["webhooks/whatsapp", "webhooks/webchat", "webhooks/twilio"])
    }

    /// A Twilio form whose `From` carries an unencoded `whatsapp:` is also a `Name: value` line;
    /// it stays a form body, as it was before formats were registered.
    @Test func formBodyWithAColonIsTwilioNotMail() {
        #expect(FormatDetector.detect(prefix: Array("From=whatsapp:+14155238886&To=whatsapp:+14158141829&Body=Hi&MessageSid=SM1\n".utf8)) == .twilio)
        #expect(FormatDetector.detect(prefix: Array("Subject: Hi\n\nBody\n".utf8)) == .eml)
    }

    @Test func unregisteredNamesAreRefused() throws {
        #expect(Channel(rawValue: "telegram") == nil)
        #expect(InputFormat(rawValue: "telegram") == nil)
        #expect(Channel(rawValue: "instagram_dm") == .instagramDM)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Channel.self, from: Data(#""telegram""#.utf8)) }
        #expect(try JSONDecoder().decode(Channel.self, from: Data(#""sms""#.utf8)) == .sms)
        #expect(String(decoding: try JSONEncoder().encode(Channel.webchat), as: UTF8.self) == #""webchat""#)
    }

    @Test func addressKindsDecideContactMatching() {
        #expect(Channel.whatsapp.usesPhoneNumbers && Channel.sms.usesPhoneNumbers && !Channel.email.usesPhoneNumbers)
        #expect(Channel.email.adapter.addressKind.contactProperty == "email")
        #expect(Channel.webchat.adapter.addressKind.contactProperty == "webchatId")
        #expect(Channel.instagramDM.adapter.addressKind == .identifier(contactProperty: "instagram", handlePrefix: "@"))
    }

    /// Twilio posts one form per request; a body with a line break is refused before it is read.
    @Test func twilioWebhookWithALineBreakIsRefused() {
        let adapter = SMSChannel()
        guard case .failure(let refusal) = adapter.webhookItems(body: Array("From=%2B1&To=%2B2\nBody=x".utf8)) else {
            Issue.record("a form with a line break was read")
            return
        }
        #expect(refusal.code == "invalid_form")
        guard case .success(let items) = adapter.webhookItems(body: Array("From=%2B14155550100&To=%2B14158141829&Body=Hi&MessageSid=SM1\r\n".utf8)) else {
            Issue.record("a form with a trailing line break was refused")
            return
        }
        #expect(items.first?.message?.channel == .sms)
    }

    @Test func whatsappHandshakeEchoesTheChallengeForAKnownToken() {
        let adapter = WhatsAppChannel()
        let query = ["hub.mode": "subscribe", "hub.verify_token": "secret", "hub.challenge": "42"]
        #expect(adapter.answerHandshake(query: query, verifyTokens: ["secret"]) == .accept("42"))
        #expect(adapter.answerHandshake(query: query, verifyTokens: ["other"]) == .forbidden("the verify token does not match"))
        guard case .invalid? = adapter.answerHandshake(query: [:], verifyTokens: ["secret"]) else {
            Issue.record("a request without hub.mode was answered")
            return
        }
        #expect(SMSChannel().answerHandshake(query: query, verifyTokens: ["secret"]) == nil)
    }
}

/// docs/INPUT-FORMATS.md's channel table is the registry's, row for row.
@Suite struct ChannelTableTests {
    static func row(_ adapter: any ChannelAdapter) -> String {
        let addresses: String
        switch adapter.addressKind {
        case .phone: addresses = "phone (E.164)"
        case .email: addresses = "email"
        case .identifier(let property, let prefix):
            addresses = "identifier (`\(property)`" + (prefix.map { ", without `\($0)`" } ?? "") + ")"
        }
        let formats = adapter.formats.isEmpty ? "—" : adapter.formats.map { "`\($0.format)`" }.joined(separator: ", ")
        var webhook = "—"
        if let route = adapter.webhook {
            switch route.verification {
            case .signature(let header, let secretName): webhook = "`\(route.method.rawValue) /\(route.path)` (`\(header)`, `\(secretName)`)"
            case .visitorToken(let header): webhook = "`\(route.method.rawValue) /\(route.path)` (`\(header)`)"
            }
        }
        return "| `\(adapter.channel)` | \(addresses) | \(formats) | \(webhook) |"
    }

    @Test func documentedChannelTableMatchesTheRegistry() throws {
        let docs = Samples.root.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/INPUT-FORMATS.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let start = try #require(text.range(of: "<!-- channels: generated from ChannelRegistry -->\n"))
        let end = try #require(text.range(of: "<!-- end channels -->", range: start.upperBound..<text.endIndex))
        let rows = text[start.upperBound..<end.lowerBound].split(separator: "\n").dropFirst(2).map(String.init)
        #expect(rows == ChannelRegistry.adapters.map(Self.row))
    }
}
