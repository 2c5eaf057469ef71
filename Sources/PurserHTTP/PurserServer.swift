import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Prometheus
import Logging
import NIOCore
import Pipeline
import PurserRuntime
import ReadModelCatalog
import ServiceLifecycle
import Tools

/// `purser serve`: the HTTP API, the channel webhooks, the live event streams and the operator
/// dashboard, over one engine shared with everything else in the process.
public enum PurserServer {
    /// Every route of the server on one router (also what the HummingbirdTesting tests drive).
    ///
    /// - Parameters:
    ///   - limiter: per org, for the API and verified webhooks.
    ///   - sourceLimiter: per source address, for traffic nobody vouched for (unverified webhook
    ///     posts, the anonymous webchat).
    public static func router(pipeline: Pipeline, dataDirectory: String, secrets: WebhookSecrets,
                              tokens: AccessTokenStore, limiter: RateLimiter = RateLimiter(),
                              sourceLimiter: RateLimiter = RateLimiter(ratePerSecond: HTTPLimits.sourceRequestsPerSecond,
                                                                       burst: HTTPLimits.sourceBurstRequests),
                              metrics: PrometheusCollectorRegistry? = nil) -> Router<PurserRequestContext> {
        let router = Router(context: PurserRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorShapeMiddleware())
        router.get("/") { _, _ in Reply.text(DashboardAssets.indexHTML, contentType: "text/html; charset=utf-8") }
        router.get("app.js") { _, _ in Reply.text(DashboardAssets.appJS, contentType: "text/javascript; charset=utf-8") }
        router.get("app.css") { _, _ in Reply.text(DashboardAssets.appCSS, contentType: "text/css; charset=utf-8") }
        router.get("openapi.json") { _, _ in Reply.json(OpenAPIDocument.document) }
        router.get("healthz") { _, _ in HealthAnswer(status: "ok", logHead: pipeline.logHead) }
        // The engine's counters in Prometheus's text format; no label names an org or a customer.
        if let metrics {
            router.get("metrics") { _, _ -> Response in
                var text: [UInt8] = []
                metrics.emit(into: &text)
                return Reply.text(String(decoding: text, as: UTF8.self), contentType: "text/plain; version=0.0.4; charset=utf-8")
            }
        }
        // Ready: the store answers and its schema is current (a load balancer sends work only then).
        router.get("readyz") { _, _ -> Response in
            do {
                try await pipeline.checkStoreReady()
                return Reply.json(ReadyAnswer(status: "ready"))
            } catch {
                return Reply.error(.serviceUnavailable, "not_ready", "the store cannot take work: \(error)")
            }
        }
        WebhookRoutes(pipeline: pipeline, secrets: secrets, limiter: limiter, sourceLimiter: sourceLimiter).register(router)
        let api = router.group("api").add(middleware: AuthMiddleware(tokens: tokens, limiter: limiter))
        let routes = APIRoutes(pipeline: pipeline)
        routes.register(api)
        ToolRoutes(catalog: .standard).register(api)
        ChannelRoutes().register(api)
        EventStreamRoute(pipeline: pipeline).register(api.group("orgs/:org"), api: routes)
        return router
    }

    /// Runs until SIGINT or SIGTERM. Services stop in reverse order of the list: the HTTP server
    /// first (no new requests; in-flight ones finish), then the approval expiry and read-model
    /// upkeep, and the runtime (the log) last, closed once nothing can append any more.
    public static func run(host: String, port: Int, runtime: Runtime,
                           logger: Logger, onRunning: (@Sendable (Int) async -> Void)? = nil) async throws {
        let pipeline = runtime.engine
        let dataDirectory = runtime.dataDirectory
        let secrets = WebhookSecrets(orgSecrets: runtime.secrets, orgs: { Array(Set(pipeline.admin.routingTable.values.map(\.org))) })
        // Tokens from the runtime's documents: a token created on any node works on every node of
        // the database. `authenticate` reads them off the cooperative pool (`ReadAPI.offPool`).
        let tokens = AccessTokenStore(documents: runtime.documents)
        let app = Application(router: router(pipeline: pipeline, dataDirectory: dataDirectory, secrets: secrets, tokens: tokens,
                                             metrics: runtime.metrics),
                              configuration: .init(address: .hostname(host, port: port), serverName: "purser"),
                              onServerRunning: { channel in
                                  let bound = channel.localAddress?.port ?? port
                                  logger.notice("purser serve: listening on http://\(host):\(bound)")
                                  await onRunning?(bound)
                              },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [RuntimeService(runtime: runtime, logger: logger), UpkeepService(pipeline: pipeline, logger: logger), app],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }
}

/// Holds the runtime (the log) open while the server runs and closes it last, after every append
/// was answered.
struct RuntimeService: Service {
    let runtime: Runtime
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        await runtime.close()
        logger.notice("event log closed")
    }
}

/// Background upkeep: expires approvals nobody decided, and keeps every read model (the API and
/// dashboard read them) close to the log.
struct UpkeepService: Service {
    let pipeline: Pipeline
    let logger: Logger
    /// How often the upkeep runs.
    static let intervalMilliseconds = 1000

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let expired = try await pipeline.humans.expireApprovals()
                if !expired.isEmpty { logger.info("expired \(expired.count) approval(s)") }
                for projector in ReadModelCatalog.projectors { try await pipeline.refresh(projector.name) }
            } catch {
                logger.warning("upkeep: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(Self.intervalMilliseconds))
        }
    }
}

/// Turns errors that escape a handler (a body over the limit, a malformed path) into the API's
/// `{"error": ...}` shape with their status, and anything else into a plain 500 without details.
struct ErrorShapeMiddleware: RouterMiddleware {
    typealias Context = PurserRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as PipelineError {
            // The engine's errors, thrown by API handlers, with their status and code.
            return APIError(error).response
        } catch is NIOTooManyBytesError {
            // A body over the limit, refused while it was being read.
            return Reply.error(.contentTooLarge, "body_too_large", "the body is larger than \(HTTPLimits.bodyBytesMax) bytes")
        } catch let error as HTTPResponseError {
            let status = error.status
            let code = status == .contentTooLarge ? "body_too_large" : status == .notFound ? "not_found" : "http_\(status.code)"
            let message = status == .contentTooLarge ? "the body is larger than \(HTTPLimits.bodyBytesMax) bytes"
                : status == .notFound ? "no such route: \(request.method) \(request.uri.path)" : status.reasonPhrase
            return Reply.error(status, code, message)
        } catch {
            context.logger.error("unhandled error: \(error)")
            return Reply.error(.internalServerError, "internal", "the request failed on the server; it has been logged")
        }
    }
}

/// Headers every response carries: the dashboard runs only its own scripts and cannot be framed,
/// nothing is content-sniffed, and no page leaks its URL (the event stream's carries a token) to
/// another site through `Referer`.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = PurserRequestContext

    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        return response
    }
}
