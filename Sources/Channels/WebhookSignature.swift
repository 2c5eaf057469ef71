import Foundation

/// Webhook signature checks for WhatsApp (`X-Hub-Signature-256`) and Twilio
/// (`X-Twilio-Signature`).
///
/// The module stays free of dependencies, so the HMAC itself is a parameter: pass a function
/// that computes HMAC-SHA256 (WhatsApp) or HMAC-SHA1 (Twilio) of `message` under `key`, e.g.
/// with swift-crypto:
///
/// ```swift
/// let sha256: WebhookSignature.HMAC = { key, message in
///     Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
/// }
/// ```
///
/// Everything around it — building the signed string, parsing the header, comparing in
/// constant time — lives here.
public enum WebhookSignature {
    /// Computes an HMAC of `message` with `key` and returns the raw digest bytes.
    public typealias HMAC = @Sendable (_ key: [UInt8], _ message: [UInt8]) -> [UInt8]

    /// Checks Meta's `X-Hub-Signature-256: sha256=<hex>` over the raw request body.
    ///
    /// - Parameters:
    ///   - body: the body exactly as received (before any JSON parsing).
    ///   - header: the header value, `nil` when the request had none.
    ///   - appSecret: the Meta app secret.
    ///   - hmacSHA256: HMAC-SHA256.
    /// - Throws: `ChannelError` with `.missingSignature`, `.malformedSignature` or
    ///   `.signatureMismatch`.
    public static func verifyWhatsApp(body: Data, header: String?, appSecret: String,
                                      hmacSHA256: HMAC) throws(ChannelError) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            throw ChannelError(.missingSignature, "request has no X-Hub-Signature-256 header; Meta signs every webhook, so this did not come from Meta or a proxy dropped the header")
        }
        let prefix = "sha256="
        guard header.lowercased().hasPrefix(prefix), let expected = hexBytes(String(header.dropFirst(prefix.count))),
              expected.count == 32 else {
            throw ChannelError(.malformedSignature, "X-Hub-Signature-256 must be `sha256=` followed by 64 hex digits")
        }
        let actual = hmacSHA256(Array(appSecret.utf8), [UInt8](body))
        guard constantTimeEquals(actual, expected) else {
            throw ChannelError(.signatureMismatch, "X-Hub-Signature-256 does not match the body; check the app secret configured for this number")
        }
    }

    /// The string Twilio signs: the full request URL (with its query), followed by every POST
    /// parameter's name and value, sorted by name (and by value for repeated names), all
    /// concatenated without separators.
    public static func twilioSignedString(url: String, parameters: [(name: String, value: String)]) -> String {
        let sorted = parameters.sorted { a, b in
            if a.name != b.name { return a.name.unicodeScalars.lexicographicallyPrecedes(b.name.unicodeScalars) }
            return a.value.unicodeScalars.lexicographicallyPrecedes(b.value.unicodeScalars)
        }
        var text = url
        for (name, value) in sorted { text += name + value }
        return text
    }

    /// Checks `X-Twilio-Signature` (base64 HMAC-SHA1 of `twilioSignedString` with the auth token).
    ///
    /// Twilio signs the URL as it called it; behind a TLS terminator the port may be added or
    /// dropped, so both forms are accepted, as Twilio's own libraries do.
    ///
    /// - Parameters:
    ///   - url: the full public URL Twilio posted to, query included.
    ///   - parameters: the decoded POST form fields (`TwilioAdapter.parseForm`).
    public static func verifyTwilio(url: String, parameters: [(name: String, value: String)], header: String?,
                                    authToken: String, hmacSHA1: HMAC) throws(ChannelError) {
        guard let header = header?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            throw ChannelError(.missingSignature, "request has no X-Twilio-Signature header; Twilio signs every webhook, so this did not come from Twilio")
        }
        guard let expected = Data(base64Encoded: header), expected.count == 20 else {
            throw ChannelError(.malformedSignature, "X-Twilio-Signature must be the base64 of a 20-byte HMAC-SHA1")
        }
        let key = Array(authToken.utf8)
        for candidate in urlVariants(url) {
            let actual = hmacSHA1(key, Array(twilioSignedString(url: candidate, parameters: parameters).utf8))
            if constantTimeEquals(actual, [UInt8](expected)) { return }
        }
        throw ChannelError(.signatureMismatch, "X-Twilio-Signature does not match; check the auth token and that the URL is the public one configured in Twilio (\(url))")
    }

    /// Compares two byte strings in time that depends only on their lengths, so an attacker
    /// cannot find a valid signature byte by byte from response times.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// `byteCount` random bytes from the system's generator, base64url without padding, after
    /// `prefix`: the one way API tokens and webchat visitor tokens are made.
    public static func randomSecret(prefix: String, byteCount: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return prefix + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Lowercase hex of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of a hex string (either case), or `nil` if it is not hex.
    public static func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let hi = TransferEncoding.hexValue(utf8[index]), let lo = TransferEncoding.hexValue(utf8[index + 1]) else { return nil }
            out.append(hi << 4 | lo)
            index += 2
        }
        return out
    }

    /// The URL as given, and with the default port added or removed.
    static func urlVariants(_ url: String) -> [String] {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { return [url] }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        guard let defaultPort else { return [url] }
        if components.port == nil {
            components.port = defaultPort
        } else if components.port == defaultPort {
            components.port = nil
        } else {
            return [url]
        }
        return [url, components.string].compactMap { $0 }
    }
}
