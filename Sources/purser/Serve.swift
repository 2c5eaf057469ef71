import ArgumentParser
import Foundation
import PurserHTTP

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API, the channel webhooks and the operator dashboard (the pipeline runs in the same engine).",
        discussion: """
        Routes: the dashboard at /, the JSON API under /api/orgs/{org}/ (bearer tokens from `purser token create`),
        /openapi.json, and the webhooks /webhooks/whatsapp (X-Hub-Signature-256 checked against the app secret),
        /webhooks/twilio (X-Twilio-Signature checked) and /webhooks/webchat. Webhook secrets come from the
        org's credentials (`purser credentials set --org ORG whatsapp_app_secret|whatsapp_verify_token|twilio_auth_token`),
        else from the environment: PURSER_WHATSAPP_APP_SECRET, PURSER_WHATSAPP_VERIFY_TOKEN, PURSER_TWILIO_AUTH_TOKEN;
        PURSER_PUBLIC_URL is the URL Twilio signs. An org's openrouter_api_key or llm_base_url (+ llm_api_key)
        credentials give its agents their own model provider, used for that org only. SIGINT or SIGTERM stop it gracefully: HTTP first, the log last.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one, printed on stderr).") var port: Int = 8080

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        if host.isEmpty { throw ValidationError("--host must not be empty") }
    }

    func run() async throws {
        let runtime = try await Engine.open(global, database)
        let logger = LogSetup.logger("purser.serve")
        // The runtime service closes the log on shutdown; nothing else may close it first.
        try await PurserServer.run(host: host, port: port, runtime: runtime, logger: logger) { bound in
            Output.note("purser serve: http://\(host):\(bound)/ (dashboard), /openapi.json")
        }
    }
}
