import Foundation
import Hummingbird
import NIOCore
import PurserDomain

/// The request context: who is calling, once the auth middleware has looked at the token.
public struct PurserRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var token: AccessToken?
    /// The peer's address, for limiting traffic nobody has vouched for (unsigned webhooks,
    /// anonymous webchat) per source.
    public var remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The source address as a rate-limit key (`unknown` when the transport has none).
    var sourceKey: String { remoteAddress?.ipAddress ?? "unknown" }

    /// Bodies larger than this are refused with 413 before they are read whole.
    public var maxUploadSize: Int { HTTPLimits.bodyBytesMax }
}

/// Limits of the HTTP side, units last.
public enum HTTPLimits {
    /// The largest request body accepted (a webhook batch, an agent config).
    public static let bodyBytesMax = 1 << 20
    /// Items per page of the activity log.
    public static let activityPageItemsMax = 200
    /// How often a server-sent-events stream looks for the org's new events.
    public static let eventPollMilliseconds = 250
    /// Requests per org per second on the API and webhooks (token bucket), and the burst.
    public static let orgRequestsPerSecond = 50.0
    public static let orgBurstRequests = 200.0
    /// Live event streams one token may hold open at once.
    public static let eventStreamsPerTokenMax = 8
    /// Traffic nobody vouched for — webhook posts whose signature did not check out, and the
    /// anonymous webchat — per source address per second, and the burst. Counted apart from
    /// verified traffic (limited per org), which it therefore never starves.
    public static let sourceRequestsPerSecond = 5.0
    public static let sourceBurstRequests = 50.0
    /// Messages one webchat poll returns at most.
    public static let webchatPollMessagesMax = 100
}

/// JSON responses and errors in one shape: `{"error":{"code","message"}}`.
enum Reply {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(value.serialized())
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, extra: [String: JSONValue] = [:]) -> Response {
        var body: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        for (k, v) in extra { body[k] = v }
        return json(["error": .object(body)], status: status)
    }

    /// 429 with `Retry-After`: every limit answers in this one shape.
    static func tooManyRequests(_ message: String, retryAfter seconds: Int) -> Response {
        var response = error(.tooManyRequests, "rate_limited", message)
        response.headers[.retryAfter] = String(seconds)
        return response
    }

    static func text(_ text: String, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: status, headers: [.contentType: contentType, .cacheControl: "no-store"], body: .init(byteBuffer: buffer))
    }
}

extension Request {
    /// The body, bounded; nil with a 413 response when it is too large.
    mutating func bytes() async throws -> [UInt8] {
        do {
            let buffer = try await collectBody(upTo: HTTPLimits.bodyBytesMax)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            // A client's mistake, not the server's: 413 wherever the body is read.
            throw HTTPError(.contentTooLarge, message: "the body is larger than \(HTTPLimits.bodyBytesMax) bytes")
        }
    }

    /// The body as a JSON object, or a 400 response naming the problem.
    mutating func jsonBody() async throws -> Result<JSONValue, HTTPBodyProblem> {
        let bytes = try await self.bytes()
        if bytes.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) { return .success(.emptyObject) }
        do {
            let value = try JSONValue(parsing: bytes)
            guard case .object = value else { return .failure(HTTPBodyProblem(message: "the body must be a JSON object, found \(value.kindName)")) }
            return .success(value)
        } catch {
            return .failure(HTTPBodyProblem(message: "the body is not valid JSON: \(error.message)"))
        }
    }
}

struct HTTPBodyProblem: Error {
    var message: String
}
