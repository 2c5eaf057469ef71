import Channels
import Crypto
import Foundation
import PurserDomain
import SessionsProjection

/// Webchat visitors: anonymous callers whose only proof of identity is the random token the
/// server issued with their first message. Only the token's SHA-256 is stored (in that first
/// `message.received`), so the sessions read model — or a copy of the log — gives no access.
extension Pipeline {
    /// A visitor the server issued a token to.
    public struct WebchatVisitor: Sendable, Hashable {
        public var org: String
        public var visitorId: String
        /// The widget address (the binding) the visitor first wrote to.
        public var orgAddress: String
    }

    /// The SHA-256 (hex) under which a visitor token is stored.
    public static func visitorTokenHash(_ token: String) -> String {
        WebhookSignature.hex(Array(SHA256.hash(data: Data(token.utf8))))
    }

    /// A new visitor id and token (256 random bits; the token is returned to the caller once).
    public static func newVisitor() -> (visitorId: String, token: String) {
        var rng = SystemRandomNumberGenerator()
        let id = "wv_" + WebhookSignature.hex((0..<12).map { _ in UInt8.random(in: 0...255, using: &rng) })
        return (id, WebhookSignature.randomSecret(prefix: "pvt_", byteCount: 32))
    }

    /// The visitor `token` was issued to, or nil. Looks in the sessions model, brought up to the
    /// log's head first when the token is not found (it may have been issued a moment ago).
    public func webchatVisitor(token: String) async throws(PipelineError) -> WebchatVisitor? {
        let hash = Self.visitorTokenHash(token)
        if let shared = options.sessions {
            return try await Self.sharedRead {
                try await shared.visitor(tokenHash: hash).map { WebchatVisitor(org: $0.org, visitorId: $0.visitorId, orgAddress: $0.orgAddress) }
            }
        }
        func find(current: Bool) async throws(PipelineError) -> WebchatVisitor? {
            try await reads.read(SessionsProjector.name, current: current) { db in
                try SessionsQueries.visitor(db, tokenHash: hash).map { WebchatVisitor(org: $0.org, visitorId: $0.visitorId, orgAddress: $0.orgAddress) }
            }
        }
        if let found = try await find(current: false) { return found }
        return try await find(current: true)
    }

    /// What was sent to `visitor` after `afterSeq` (every session of theirs): all an anonymous
    /// caller may read back — never drafts, held replies or anything internal.
    public func sentToVisitor(_ visitor: WebchatVisitor, afterSeq: UInt64, limit: Int) async throws(PipelineError) -> [TranscriptLine] {
        if let shared = options.sessions {
            return try await Self.sharedRead {
                try await shared.sentTo(org: visitor.org, channel: Channel.webchat.rawValue, contact: visitor.visitorId, afterSeq: afterSeq, limit: limit)
            }
        }
        return try await reads.read(SessionsProjector.name) { db in
            try SessionsQueries.sentTo(db, org: visitor.org, channel: Channel.webchat.rawValue, contact: visitor.visitorId,
                                       afterSeq: afterSeq, limit: limit)
        }
    }
}
