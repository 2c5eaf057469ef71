import Credentials
import Foundation
import LLM
import Logging

/// Per-org secrets from the credentials store (`purser credentials set`), each used only for its
/// org, with the environment's server-wide values as the fallback.
public struct OrgSecrets: Sendable {
    let store: CredentialStore?
    let logger: Logger

    /// Opens the store only when it exists: a server without credentials creates no key.
    public init(dataDirectory: String, logger: Logger) {
        self.logger = logger
        if FileManager.default.fileExists(atPath: dataDirectory + "/credentials") {
            do {
                store = try CredentialStore.open(dataDirectory: dataDirectory, logger: logger)
            } catch {
                logger.error("credentials: \(error); per-org secrets are unavailable")
                store = nil
            }
        } else {
            store = nil
        }
    }

    /// The org's secret `name`, nil when it has none (or the store cannot be read, which is logged).
    public func value(_ org: String?, _ name: String) -> String? {
        guard let org, let store else { return nil }
        do {
            return try store.get(org: org, name: name)
        } catch {
            logger.error("credentials of \(org): \(error)")
            return nil
        }
    }

    /// The org's own model provider: `openrouter_api_key`, or `llm_base_url` (+ `llm_api_key`).
    public func provider(for org: String, prices: PriceTable) -> (any LLMProvider)? {
        if let base = value(org, "llm_base_url") {
            return OpenAICompatibleProvider(configuration: .compatible(baseURL: base, apiKey: value(org, "llm_api_key")), priceTable: prices, logger: logger)
        }
        if let key = value(org, "openrouter_api_key") {
            return OpenAICompatibleProvider(configuration: .openRouter(apiKey: key), priceTable: prices, logger: logger)
        }
        return nil
    }
}
