import Foundation
import PurserCore

/// Everything Purser knows about one channel, in one type: its name, how its addresses are
/// normalized, the input formats it reads (with how each is detected and parsed), its webhook
/// route and signature check, and how its outbound messages are addressed.
///
/// Every adapter is listed once, in `ChannelRegistry.adapters`; the format detector, the ingest
/// reader, the pipeline (address normalization, contact matching) and the HTTP webhooks read that
/// list, so a new channel is its file here plus one line there (docs/EXTENDING.md).
public protocol ChannelAdapter: Sendable {
    /// The channel's name on the wire and in events (`whatsapp`, `instagram_dm`).
    var channel: Channel { get }
    /// The channel's name for people (`WhatsApp`, `Instagram DM`), as the dashboard shows it.
    var label: String { get }
    /// How addresses on the channel are normalized and how a CRM contact is found by one.
    var addressKind: AddressKind { get }
    /// The `purser ingest --format` names this channel reads; empty when it has none.
    var formats: [ChannelFormat] { get }
    /// The webhook the channel's provider posts to; `nil` when it has none.
    var webhook: WebhookRoute? { get }
    /// The items of one webhook body, or why the body is refused as a whole (answered 400).
    func webhookItems(body: [UInt8]) -> Result<[InboundOutcome], WebhookRefusal>
    /// Whether the request's signature header is valid for `secret`.
    func verifySignature(_ request: SignedRequest, secret: String, hmac: HMACFunctions) -> Bool
    /// The subscription handshake a provider makes before it posts (GET on the webhook path);
    /// `nil` when the channel has none.
    func answerHandshake(query: [String: String], verifyTokens: [String]) -> HandshakeAnswer?
    /// The address an outbound message to a contact goes to, from the contact's normalized
    /// address on this channel.
    func outboundAddress(contactAddress: String) -> String
}

extension ChannelAdapter {
    public var label: String { channel.rawValue }
    public var formats: [ChannelFormat] { [] }
    public var webhook: WebhookRoute? { nil }

    /// Reads the body with the channel's first format, as `purser ingest` would.
    public func webhookItems(body: [UInt8]) -> Result<[InboundOutcome], WebhookRefusal> {
        guard let format = formats.first else { return .success([]) }
        return .success(InboundReader.outcomes(of: Data(body), sourceName: "webhook:\(format.format.rawValue)", format: format.format))
    }

    public func verifySignature(_ request: SignedRequest, secret: String, hmac: HMACFunctions) -> Bool { false }
    public func answerHandshake(query: [String: String], verifyTokens: [String]) -> HandshakeAnswer? { nil }
    public func outboundAddress(contactAddress: String) -> String { contactAddress }
}

/// How a channel's addresses are written and matched to a CRM contact.
public enum AddressKind: Sendable, Hashable {
    /// Phone numbers, normalized to E.164; contacts are found by their `phone`.
    case phone
    /// Mail addresses, lowercased; contacts are found by their `email`.
    case email
    /// An opaque identifier (widget visitor, account handle), lowercased and trimmed, a leading
    /// `handlePrefix` removed; contacts are found by the custom property `contactProperty`.
    case identifier(contactProperty: String, handlePrefix: Character? = nil)

    /// The CRM property a new contact gets the address in.
    public var contactProperty: String {
        switch self {
        case .phone: return "phone"
        case .email: return "email"
        case .identifier(let property, _): return property
        }
    }
}

/// A channel's webhook, as plain data: the HTTP layer registers the route.
public struct WebhookRoute: Sendable, Hashable {
    public enum Method: String, Sendable, Hashable {
        case post = "POST"
    }

    /// Who vouches for a request.
    public enum Verification: Sendable, Hashable {
        /// The provider signs each body: `header` carries the signature, made with the credential
        /// `secretName` (per org: `purser credentials set --org ORG NAME`; server-wide: the
        /// environment variable `PURSER_` + the name in capitals).
        case signature(header: String, secretName: String)
        /// Nobody: anonymous visitors, who prove who they are with a token the server issued
        /// (`header`); the webchat's rules.
        case visitorToken(header: String)
    }

    /// The body the provider posts, for the server's API document: the name of its schema and
    /// the JSON Schema (OpenAPI 3.0 dialect) of what the adapter relies on.
    public struct Body: Sendable, Hashable {
        public var name: String
        public var schema: JSONValue

        public init(name: String, schema: JSONValue) {
            self.name = name
            self.schema = schema
        }
    }

    /// The GET a provider makes to check the route before it posts (`ChannelAdapter.answerHandshake`).
    public struct Handshake: Sendable, Hashable {
        /// One line for the API document (`Meta's subscription handshake`).
        public var summary: String
        /// The query parameters the provider sends, in the order the API document lists them.
        public var queryParameters: [String]

        public init(summary: String, queryParameters: [String]) {
            self.summary = summary
            self.queryParameters = queryParameters
        }
    }

    /// The path without a leading slash (`webhooks/whatsapp`).
    public var path: String
    public var method: Method
    public var verification: Verification
    /// The provider's name, for people reading an error (`WhatsApp`, `Twilio`).
    public var provider: String
    /// What the route is, in one line of the API document (`WhatsApp Cloud API webhook`).
    public var summary: String
    /// The body's schema; `nil` when it is not JSON or not worth describing (a form).
    public var body: Body?
    /// What `ChannelAdapter.webhookItems(body:)` refuses as a whole (answered 400), in a few
    /// words for the API document; `nil` when it refuses nothing.
    public var refusal: String?
    /// The provider's check of the route, when it makes one.
    public var handshake: Handshake?

    public init(path: String, method: Method = .post, verification: Verification, provider: String, summary: String? = nil,
                body: Body? = nil, refusal: String? = nil, handshake: Handshake? = nil) {
        self.path = path
        self.method = method
        self.verification = verification
        self.provider = provider
        self.summary = summary ?? "\(provider) webhook"
        self.body = body
        self.refusal = refusal
        self.handshake = handshake
    }
}

/// What a signature covers.
public struct SignedRequest: Sendable {
    /// The body exactly as received.
    public var body: [UInt8]
    /// The public URL the provider posted to, query included.
    public var url: String
    /// The signature header's value, `nil` when the request had none.
    public var header: String?

    public init(body: [UInt8], url: String, header: String?) {
        self.body = body
        self.url = url
        self.header = header
    }
}

/// The HMACs the signature schemes use, passed in so this module needs no crypto library.
public struct HMACFunctions: Sendable {
    public var sha256: WebhookSignature.HMAC
    public var sha1: WebhookSignature.HMAC

    public init(sha256: @escaping WebhookSignature.HMAC, sha1: @escaping WebhookSignature.HMAC) {
        self.sha256 = sha256
        self.sha1 = sha1
    }
}

/// A webhook body refused before any of it is read.
public struct WebhookRefusal: Error, Sendable, Hashable {
    public var code: String
    public var reason: String

    public init(code: String, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// The answer to a provider's subscription handshake.
public enum HandshakeAnswer: Sendable, Hashable {
    /// Echo this text (200, `text/plain`).
    case accept(String)
    /// The request is not a handshake (400).
    case invalid(String)
    /// The verify token is not ours (403).
    case forbidden(String)
}

/// One input format a channel reads: how it is framed, detected and parsed.
public struct ChannelFormat: Sendable {
    /// How the bytes of an input are cut into items.
    public enum Framing: Sendable {
        /// JSON bodies: one per line, or one (pretty-printed) document, each at most
        /// `webhookBodyBytesMax`.
        case jsonBodies
        /// One item per line (at most `lineBytesMax`); `#` lines are comments.
        case lines
        /// The whole input is one item (at most `emailMessageBytesMax`).
        case document
        /// An mbox: items separated by `From ` lines.
        case mailbox
        /// Normalized message JSON (docs/INPUT-FORMATS.md) whose `channel` may only be this
        /// format's channel, by line or as one document.
        case normalizedJSON
    }

    /// How `--format auto` recognises the format.
    public enum Detection: Sendable {
        /// By the first significant line (not JSON).
        case line(@Sendable (ArraySlice<UInt8>) -> Bool)
        /// By the first significant line, when no `.line` detection claims it: for a rule as broad
        /// as "any `Name: value` header line", which a form body with a `whatsapp:` value also is.
        case fallbackLine(@Sendable (ArraySlice<UInt8>) -> Bool)
        /// By the first parsed JSON value; `marker` decides a document too large or broken to parse.
        case json(@Sendable (JSONValue) -> Bool, marker: String?)
        /// Only when named.
        case none
    }

    /// Parses one item: its bytes, its full size (more than `bytes.count` when only the start
    /// was kept), where it is, the limits.
    public typealias Parse = @Sendable (_ bytes: [UInt8], _ byteCount: Int, _ position: SourcePosition,
                                        _ limits: ChannelLimits) -> [InboundOutcome]

    public var format: InputFormat
    /// The channel whose messages a rejected item would have been.
    public var channel: Channel
    public var framing: Framing
    public var detection: Detection
    public var parse: Parse

    public init(_ format: InputFormat, channel: Channel, framing: Framing, detection: Detection,
                parse: @escaping Parse = { _, _, _, _ in [] }) {
        self.format = format
        self.channel = channel
        self.framing = framing
        self.detection = detection
        self.parse = parse
    }
}

/// A channel through which customers reach an org's agent: one of `ChannelRegistry.adapters`.
public struct Channel: RawRepresentable, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    public let rawValue: String

    /// A registered channel's name; `nil` for any other.
    public init?(rawValue: String) {
        guard ChannelRegistry.adapters.contains(where: { $0.channel.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    /// Declares a channel's name; for the `static let` of its adapter.
    public init(declaring name: String) {
        precondition(!name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") },
                     "a channel name is lowercase ASCII letters, digits and `_`")
        rawValue = name
    }

    public var description: String { rawValue }

    /// The channel's adapter.
    public var adapter: any ChannelAdapter {
        guard let adapter = ChannelRegistry.adapter(for: self) else {
            preconditionFailure("channel \(rawValue) is declared but not listed in ChannelRegistry.adapters")
        }
        return adapter
    }

    /// Whether addresses on this channel are phone numbers (normalized to E.164).
    public var usesPhoneNumbers: Bool { adapter.addressKind == .phone }

    /// Every channel, in registry order.
    public static var allCases: [Channel] { ChannelRegistry.adapters.map { $0.channel } }

    /// The accepted spellings, for messages that list them.
    public static var allNames: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
