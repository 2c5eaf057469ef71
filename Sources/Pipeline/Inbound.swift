import Channels
import Crypto
import Foundation
import PurserCore
import PurserDomain

/// An inbound message as the pipeline handles it: channel addresses normalized, the candidate
/// org addresses listed (an email may be routed by any of its recipients), and the id under
/// which the log stores it once.
public struct Inbound: Sendable, Hashable {
    public var channel: Channel
    /// The org addresses to try in order: `to`, then (email) the other recipients. Normalized.
    public var orgAddresses: [String]
    /// The customer's normalized address.
    public var from: String
    public var text: String
    public var externalMessageId: String?
    public var receivedAt: Timestamp
    public var contactName: String?
    public var subject: String?
    public var inReplyTo: String?
    public var references: [String]
    public var attachments: [MessageAttachment]
    /// Where the message came from, for outcome lines (`stdin:3`, `webhook:whatsapp`).
    public var source: String?
    /// Staff talking to their own agent from the dashboard ("ask your data"): routed to `agent`
    /// directly, same tools and policy, nothing delivered outside.
    public var internalAgent: AgentRef?
    /// Webchat: the hash of the visitor token issued with this first message (kept in its
    /// `message.received`, so the token is valid exactly when the message is durable).
    public var visitorTokenHash: String?

    public init(channel: Channel, orgAddresses: [String], from: String, text: String, externalMessageId: String? = nil,
                receivedAt: Timestamp, contactName: String? = nil, subject: String? = nil, inReplyTo: String? = nil,
                references: [String] = [], attachments: [MessageAttachment] = [], source: String? = nil) {
        self.channel = channel
        self.orgAddresses = orgAddresses
        self.from = from
        self.text = text
        self.externalMessageId = externalMessageId
        self.receivedAt = receivedAt
        self.contactName = contactName
        self.subject = subject
        self.inReplyTo = inReplyTo
        self.references = references
        self.attachments = attachments
        self.source = source
    }

    /// The event id of the `message.received`: derived from channel, org address and the
    /// channel's message id, so the same message fed twice (or after a restart) is stored once —
    /// the log refuses a second event with the same id. Without an external id every feed is new.
    public var eventId: String {
        guard let external = externalMessageId, !external.isEmpty else {
            return "in_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        }
        let key = "\(channel.rawValue)\u{1F}\(orgAddresses.first ?? "")\u{1F}\(external)"
        return "in_" + WebhookSignature.hex(Array(SHA256.hash(data: Data(key.utf8)).prefix(16)))
    }

    /// Messages of one conversation share this key (channel, org address, customer), so they are
    /// processed in arrival order; different keys run in parallel.
    var orderingKey: String { orderingKeyOverride ?? "\(channel.rawValue)|\(orgAddresses.first ?? "")|\(from)" }

    /// Replaces the conversation key when the sender's address is not yet stable: a webchat
    /// visitor's first message gets a fresh visitor id per delivery, so a retried first message
    /// must be ordered by its channel message id instead, or two deliveries would run at once.
    public var orderingKeyOverride: String?

    /// Converts an adapter's message, normalizing its addresses. A message whose addresses cannot
    /// be normalized is refused with the reason, to be kept as `message.rejected`.
    public static func from(_ message: InboundMessage, source: String?, now: Timestamp) -> Result<Inbound, PipelineError> {
        let channel = message.channel
        let from: String
        do {
            from = try AddressNormalizer.address(message.from, on: channel)
        } catch {
            return .failure(PipelineError(.invalidInput, "the sender address \"\(message.from)\" is not a valid \(channel.rawValue) address: \(error.message)", cause: error))
        }
        var candidates: [String] = []
        for raw in [message.to] + message.recipients {
            if let address = try? AddressNormalizer.address(raw, on: channel), !candidates.contains(address) {
                candidates.append(address)
            }
        }
        guard !candidates.isEmpty else {
            return .failure(PipelineError(.invalidInput, "the org address \"\(message.to)\" is not a valid \(channel.rawValue) address"))
        }
        let attachments = message.attachments.map { a in
            MessageAttachment(kind: MessageAttachment.Kind(rawValue: a.kind) ?? .other, url: a.url, externalId: a.mediaId,
                              mimeType: a.mimeType, filename: a.fileName, sizeBytes: a.sizeBytes)
        }
        return .success(Inbound(channel: channel, orgAddresses: candidates, from: from, text: message.text,
                                externalMessageId: message.externalMessageId,
                                receivedAt: message.receivedAt.map { Timestamp($0) } ?? now,
                                contactName: message.contactName, subject: message.subject, inReplyTo: message.inReplyTo,
                                references: message.references, attachments: attachments, source: source))
    }
}
