import Channels
import Foundation
import Testing

/// The HMAC is injected; these tests use a stand-in that returns a fixed digest only for the
/// exact key and message the real HMAC would be computed over, so they check everything the
/// module itself does: the signed string, header parsing, URL variants, the comparison.
@Suite struct SignatureTests {
    static func fakeHMAC(key expectedKey: String, message expectedMessage: [UInt8], digest: [UInt8]) -> WebhookSignature.HMAC {
        { key, message in
            key == Array(expectedKey.utf8) && message == expectedMessage ? digest : [UInt8](repeating: 0, count: digest.count)
        }
    }

    @Test func whatsappSignature() throws {
        let body = Data(#"{"object":"whatsapp_business_account","entry":[]}"#.utf8)
        let digest = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        let hmac = Self.fakeHMAC(key: "app-secret", message: [UInt8](body), digest: digest)
        let header = "sha256=" + WebhookSignature.hex(digest)
        try WebhookSignature.verifyWhatsApp(body: body, header: header, appSecret: "app-secret", hmacSHA256: hmac)
        try WebhookSignature.verifyWhatsApp(body: body, header: header.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="),
                                            appSecret: "app-secret", hmacSHA256: hmac)

        func code(_ body: Data, _ header: String?, secret: String = "app-secret") -> ChannelError.Code? {
            do {
                try WebhookSignature.verifyWhatsApp(body: body, header: header, appSecret: secret, hmacSHA256: hmac)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(body + Data(" ".utf8), header) == .signatureMismatch)
        #expect(code(body, header, secret: "other") == .signatureMismatch)
        #expect(code(body, nil) == .missingSignature)
        #expect(code(body, "") == .missingSignature)
        #expect(code(body, "sha1=" + WebhookSignature.hex(digest)) == .malformedSignature)
        #expect(code(body, "sha256=xyz") == .malformedSignature)
    }

    /// Twilio's documented example: the URL, then the POST fields sorted by name, concatenated.
    @Test func twilioSignedString() {
        let parameters: [(name: String, value: String)] = [
            ("Digits", "1234"), ("To", "+18005551212"), ("From", "+14158675310"),
            ("Caller", "+14158675310"), ("CallSid", "CA1234567890ABCDE"),
        ]
        #expect(WebhookSignature.twilioSignedString(url: "https://mycompany.com/myapp.php?foo=1&bar=2", parameters: parameters)
                == "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675310Digits1234From+14158675310To+18005551212")
        // Repeated names are ordered by value; names compare by code point (uppercase first).
        #expect(WebhookSignature.twilioSignedString(url: "u", parameters: [("b", "2"), ("a", "9"), ("b", "1"), ("B", "0")])
                == "uB0a9b1b2")
    }

    @Test func twilioSignatureWithPortVariants() throws {
        let body = Array("MessageSid=SM1&Body=Hallo+Welt&From=%2B491701234567&To=%2B4939771234567".utf8)
        let parameters = TwilioAdapter.parseForm(body)
        let signed = WebhookSignature.twilioSignedString(url: "https://hooks.example.com/webhooks/twilio", parameters: parameters)
        #expect(signed == "https://hooks.example.com/webhooks/twilioBodyHallo WeltFrom+491701234567MessageSidSM1To+4939771234567")
        let digest = (0..<20).map { UInt8(255 - $0) }
        let hmac = Self.fakeHMAC(key: "auth-token", message: Array(signed.utf8), digest: digest)
        let header = Data(digest).base64EncodedString()
        try WebhookSignature.verifyTwilio(url: "https://hooks.example.com/webhooks/twilio", parameters: parameters,
                                          header: header, authToken: "auth-token", hmacSHA1: hmac)
        // Twilio may have signed the URL with or without the default port.
        try WebhookSignature.verifyTwilio(url: "https://hooks.example.com:443/webhooks/twilio", parameters: parameters,
                                          header: header, authToken: "auth-token", hmacSHA1: hmac)
        #expect(throws: ChannelError.self) {
            try WebhookSignature.verifyTwilio(url: "https://hooks.example.com/other", parameters: parameters,
                                              header: header, authToken: "auth-token", hmacSHA1: hmac)
        }
        #expect(throws: ChannelError.self) {
            try WebhookSignature.verifyTwilio(url: "https://hooks.example.com/webhooks/twilio", parameters: parameters,
                                              header: "not base64!", authToken: "auth-token", hmacSHA1: hmac)
        }
    }

    @Test func constantTimeComparisonAndHex() {
        #expect(WebhookSignature.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!WebhookSignature.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!WebhookSignature.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(WebhookSignature.constantTimeEquals([], []))
        #expect(WebhookSignature.hex([0x00, 0xAB, 0xFF]) == "00abff")
        #expect(WebhookSignature.hexBytes("00ABff") == [0x00, 0xAB, 0xFF])
        #expect(WebhookSignature.hexBytes("abc") == nil)
        #expect(WebhookSignature.hexBytes("zz") == nil)
    }
}
