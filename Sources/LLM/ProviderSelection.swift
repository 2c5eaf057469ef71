import Foundation
import Logging

/// Chooses the provider from the environment, as docs/ARCHITECTURE.md ("LLM providers") says:
///
/// 1. `PURSER_LLM_BASE_URL` set → an OpenAI-compatible server at that URL, with
///    `PURSER_LLM_API_KEY` as bearer key if set and `PURSER_LLM_MODEL` as the model for every
///    agent if set (for servers such as vLLM that serve one model under their own name);
/// 2. else `OPENROUTER_API_KEY` set → OpenRouter;
/// 3. else the offline provider.
///
/// Empty values count as unset, so `PURSER_LLM_BASE_URL= purser …` falls through.
public enum ProviderSelection {
    public static let baseURLVariable = "PURSER_LLM_BASE_URL"
    public static let apiKeyVariable = "PURSER_LLM_API_KEY"
    public static let modelVariable = "PURSER_LLM_MODEL"
    public static let openRouterKeyVariable = "OPENROUTER_API_KEY"

    /// The kind the environment selects, without building anything.
    public static func kind(in environment: [String: String] = ProcessInfo.processInfo.environment) -> ProviderKind {
        if value(baseURLVariable, in: environment) != nil { return .openAICompatible }
        if value(openRouterKeyVariable, in: environment) != nil { return .openRouter }
        return .offline
    }

    /// The configuration of the network provider the environment selects; `nil` for offline.
    public static func configuration(in environment: [String: String] = ProcessInfo.processInfo.environment) -> OpenAICompatibleConfiguration? {
        if let baseURL = value(baseURLVariable, in: environment) {
            return .compatible(baseURL: baseURL, apiKey: value(apiKeyVariable, in: environment),
                               modelOverride: value(modelVariable, in: environment))
        }
        if let key = value(openRouterKeyVariable, in: environment) {
            return .openRouter(apiKey: key)
        }
        return nil
    }

    /// The provider the environment selects. The price table is the built-in one with
    /// `PURSER_LLM_PRICES` merged over it; an unreadable override file is an error rather than
    /// silently wrong costs.
    public static func provider(environment: [String: String] = ProcessInfo.processInfo.environment,
                                client: HTTPClient = .shared, logger: Logger) throws(LLMError) -> any LLMProvider {
        let prices = try PriceTable.fromEnvironment(environment)
        guard let configuration = configuration(in: environment) else {
            logger.info("LLM provider: offline (set OPENROUTER_API_KEY or PURSER_LLM_BASE_URL to use a model)")
            return OfflineProvider(logger: logger)
        }
        logger.info("LLM provider: \(configuration.kind.rawValue) at \(configuration.baseURL)")
        return OpenAICompatibleProvider(configuration: configuration, priceTable: prices, client: client, logger: logger)
    }

    private static func value(_ name: String, in environment: [String: String]) -> String? {
        guard let raw = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
        return raw
    }
}
