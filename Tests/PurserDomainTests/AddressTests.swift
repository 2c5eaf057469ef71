import Foundation
import Testing
@testable import PurserDomain

@Suite("Address normalization")
struct AddressTests {
    @Test("phone numbers become E.164", arguments: [
        ("+49 170 1234567", "+491701234567"),
        ("0049-170-1234567", "+491701234567"),
        ("(+49) 170/123 45 67", "+491701234567"),
        ("+49 (0)170 1234567", "+491701234567"),
        ("0049 (0) 170 1234567", "+491701234567"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("whatsapp:+14155238886", "+14155238886"),
        ("tel:+44 20 7946 0958", "+442079460958"),
        ("491701234567", "+491701234567"),
        ("  +491701234567\n", "+491701234567"),
        ("+49.170.1234567", "+491701234567"),
    ])
    func phones(raw: String, expected: String) throws {
        #expect(try AddressNormalizer.phone(raw) == expected)
    }

    @Test("a national number needs the country's calling code")
    func nationalNumbers() throws {
        #expect(try AddressNormalizer.phone("0170 1234567", defaultCallingCode: "49") == "+491701234567")
        #expect(try AddressNormalizer.phone("0170 1234567", defaultCallingCode: "+49") == "+491701234567")
        let error = #expect(throws: DomainError.self) { try AddressNormalizer.phone("0170 1234567") }
        #expect(error?.code == .invalidAddress)
        #expect(error?.message.contains("country code") == true)
    }

    @Test("what is not a phone number is refused with a reason", arguments: [
        "", "abc", "+49 170 12345678901234", "+12", "+0 170 1234567", "+49 170 1234567 ext 3", "++491701234567",
    ])
    func badPhones(raw: String) {
        let error = #expect(throws: DomainError.self) { try AddressNormalizer.phone(raw) }
        #expect(error?.code == .invalidAddress)
        #expect(error?.message.contains("+49") == true)
    }

    @Test("emails are trimmed and lowercased", arguments: [
        ("  Lisa@Example.DE ", "lisa@example.de"),
        ("Lisa K. <Lisa@Example.de>", "lisa@example.de"),
        ("\"Haff\" <INFO@segelschule-haff.de>", "info@segelschule-haff.de"),
        ("mailto:info@haff.de", "info@haff.de"),
    ])
    func emails(raw: String, expected: String) throws {
        #expect(try AddressNormalizer.email(raw) == expected)
    }

    @Test("what is not an email address is refused", arguments: [
        "lisa", "lisa@", "@example.de", "lisa@localhost", "a b@example.de", "a@b@c.de", "a@example.de, b@example.de",
    ])
    func badEmails(raw: String) {
        let error = #expect(throws: DomainError.self) { try AddressNormalizer.email(raw) }
        #expect(error?.code == .invalidAddress)
    }

    @Test("each channel normalizes its own kind of address", arguments: [
        (Channel.whatsapp, "+49 3977 1234567", "+4939771234567"),
        (.sms, "0049 3977 1234567", "+4939771234567"),
        (.email, "Info@Segelschule-Haff.de", "info@segelschule-haff.de"),
        (.webchat, " haff-web ", "haff-web"),
        (.instagramDM, "@Haff_Segeln", "haff_segeln"),
    ])
    func perChannel(channel: Channel, raw: String, expected: String) throws {
        #expect(try AddressNormalizer.address(raw, on: channel) == expected)
        #expect(try ChannelAddress(channel: channel, normalizing: raw) == ChannelAddress(channel: channel, address: expected))
    }

    @Test("webchat ids must not contain spaces")
    func webchatSpaces() {
        #expect(throws: DomainError.self) { try AddressNormalizer.address("haff web", on: .webchat) }
        #expect(throws: DomainError.self) { try AddressNormalizer.address("   ", on: .instagramDM) }
    }
}
