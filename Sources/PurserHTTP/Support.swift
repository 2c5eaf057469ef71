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

    /// Request bodies decode through `RequestBodyDecoder` (400 `invalid_body` naming the field).
    public var requestDecoder: RequestBodyDecoder { RequestBodyDecoder() }
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

/// JSON responses and errors in one shape: `{"error":{"code","message"}}` (`ErrorBody`).
enum Reply {
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var buffer = ByteBuffer()
        // Every body type encodes (no floats that JSON cannot hold reach here: JSONValue writes
        // them as 0); a failure would be a programming error.
        buffer.writeBytes((try? encoder.encode(value)) ?? Data(#"{"error":{"code":"internal","message":"the answer could not be encoded"}}"#.utf8))
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil, problems: [String]? = nil) -> Response {
        APIError(status, code, message, field: field, problems: problems).response
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
    /// The body, bounded; a 413 error when it is too large.
    mutating func bytes() async throws -> [UInt8] {
        do {
            let buffer = try await collectBody(upTo: HTTPLimits.bodyBytesMax)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            // A client's mistake, not the server's: 413 wherever the body is read.
            throw APIError(.contentTooLarge, "body_too_large", "the body is larger than \(HTTPLimits.bodyBytesMax) bytes")
        }
    }
}

/// Decodes request bodies for `request.decode(as:context:)`: JSON, an empty body read as `{}`
/// (every body of the API is an object whose fields may all be optional), and any problem
/// answered as 400 `invalid_body` naming the field.
public struct RequestBodyDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        var request = request
        let bytes = try await request.bytes()
        let data = bytes.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) ? Data("{}".utf8) : Data(bytes)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError(.badRequest, "invalid_body", Self.message(error))
        }
    }

    static func message(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.isEmpty ? "the body" : keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            let name = String(describing: type)
            let expected = name.hasPrefix("Dictionary") ? "a JSON object" : name.hasPrefix("Array") ? "an array"
                : name == "String" ? "a string" : name == "Bool" ? "true or false" : "a number"
            return "\(path(context.codingPath)) must be \(expected)"
        case .valueNotFound(_, let context):
            return "\(path(context.codingPath)) must not be null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the body is not valid JSON" : "\(path(context.codingPath)) is not valid: \(context.debugDescription)"
        @unknown default:
            return "the body is not valid"
        }
    }
}
