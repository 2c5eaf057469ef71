import Foundation
import Hummingbird
import NIOCore
import Pipeline
import PurserCore
import ServiceLifecycle

/// `GET /api/orgs/{org}/events`: the org's new events as server-sent events, read from the log
/// through the org index (so a busy org elsewhere costs this stream nothing). Each event is
/// `event: <type>` and `data: <envelope>`; a comment line every few seconds keeps proxies from
/// closing an idle stream. The stream ends when the client goes or the server shuts down.
struct EventStreamRoute {
    let pipeline: Pipeline

    /// Seconds between keep-alive comments on an idle stream.
    static let keepAliveSeconds = 15.0
    /// Open streams per token id: a token may hold `HTTPLimits.eventStreamsPerTokenMax`.
    let open = Locked<[String: Int]>([:])

    func register(_ org: RouterGroup<PurserRequestContext>, api: APIRoutes) {
        org.get("events") { request, context -> Response in
            let (orgID, token) = try api.authorize(context, .viewer)
            let admitted = open.withLock { counts in
                guard counts[token.id, default: 0] < HTTPLimits.eventStreamsPerTokenMax else { return false }
                counts[token.id, default: 0] += 1
                return true
            }
            guard admitted else {
                return Reply.tooManyRequests("this token already holds \(HTTPLimits.eventStreamsPerTokenMax) event streams; close one first", retryAfter: 5)
            }
            let open = self.open
            let tokenId = token.id
            // Resume after the last event the client saw (EventSource sends Last-Event-ID).
            let from: UInt64
            if let last = request.headers[.init("Last-Event-ID")!].flatMap(UInt64.init) {
                from = last + 1
            } else {
                do {
                    from = try await pipeline.reads.orgHead(org: orgID) + 1
                } catch {
                    open.withLock { $0[tokenId, default: 1] -= 1 }
                    throw error
                }
            }
            let reads = pipeline.reads
            let body = ResponseBody { writer in
                defer { open.withLock { $0[tokenId, default: 1] -= 1 } }
                var next = from
                var idle = 0.0
                try await writer.write(ByteBuffer(string: ": connected\n\n"))
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    // Read off the cooperative pool: the log's segments are files.
                    let (events, after) = try await reads.orgEvents(org: orgID, fromSeq: next, bytesMax: 1 << 20)
                    let chunk = events.map { "id: \($0.seq)\nevent: \($0.type)\ndata: \($0.json)\n\n" }.joined()
                    next = max(next, after)
                    if !chunk.isEmpty {
                        try await writer.write(ByteBuffer(string: chunk))
                        idle = 0
                    } else {
                        idle += Double(HTTPLimits.eventPollMilliseconds) / 1000
                        if idle >= Self.keepAliveSeconds {
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                            idle = 0
                        }
                    }
                    try? await Task.sleep(for: .milliseconds(HTTPLimits.eventPollMilliseconds))
                }
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
        }
    }
}
