import Foundation
import PurserDomain

/// USD per million tokens for one model.
public struct ModelPrice: Sendable, Hashable, Codable {
    public var promptPerMillionUsd: Double
    public var completionPerMillionUsd: Double

    public init(promptPerMillionUsd: Double, completionPerMillionUsd: Double) {
        self.promptPerMillionUsd = promptPerMillionUsd
        self.completionPerMillionUsd = completionPerMillionUsd
    }

    public static let free = ModelPrice(promptPerMillionUsd: 0, completionPerMillionUsd: 0)
}

/// Prices of common models, for the cost of calls whose provider reports none and for the
/// worst-case reservation made before every call.
///
/// Keys are OpenRouter model ids (`ModelIDMapper`). A model not in the table is priced at
/// `unknownModelPrice`, deliberately that of an expensive model: the reservation against
/// `maxCostPerDay` must not be too small, and an operator who runs a cheap local model can list it
/// in an override file. The built-in figures are list prices at the time of writing; providers
/// change them, which is what the override file is for.
///
/// Override file (JSON), merged over the built-in table, entries replacing whole models:
///
/// ```json
/// {"models": {"meta-llama/llama-3.3-70b-instruct": {"prompt": 0.13, "completion": 0.39}},
///  "default": {"prompt": 15, "completion": 75}}
/// ```
///
/// `PURSER_LLM_PRICES` names such a file for `PriceTable.fromEnvironment`.
public struct PriceTable: Sendable {
    /// The price of a model not in the table when the file gives no `default`.
    public static let unknownModelPrice = ModelPrice(promptPerMillionUsd: 15, completionPerMillionUsd: 75)
    /// The model id the offline provider reports; always free.
    public static let offlineModelID = "offline"
    /// The environment variable naming an override file.
    public static let overrideFileVariable = "PURSER_LLM_PRICES"

    private static let tokensPerMillion = 1_000_000.0

    public private(set) var prices: [String: ModelPrice]
    public private(set) var unknownModelPrice: ModelPrice

    public init(prices: [String: ModelPrice], unknownModelPrice: ModelPrice = PriceTable.unknownModelPrice) {
        self.prices = prices
        self.unknownModelPrice = unknownModelPrice
    }

    /// The table shipped with Purser.
    public static let builtIn: PriceTable = {
        do {
            return try PriceTable.parse(Data(builtInPricesJSON.utf8), base: PriceTable(prices: [:]))
        } catch {
            fatalError("the built-in price table does not parse: \(error)")
        }
    }()

    /// The built-in table, with `PURSER_LLM_PRICES` merged over it when set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(LLMError) -> PriceTable {
        guard let path = environment[overrideFileVariable], !path.isEmpty else { return builtIn }
        return try builtIn.overridden(byFileAt: URL(fileURLWithPath: path))
    }

    /// This table with the override file at `url` merged over it.
    public func overridden(byFileAt url: URL) throws(LLMError) -> PriceTable {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LLMError(.configuration, "cannot read the price table \(url.path); check \(Self.overrideFileVariable)", cause: error)
        }
        do {
            return try PriceTable.parse(data, base: self)
        } catch let error as LLMError {
            throw LLMError(.configuration, "price table \(url.path): \(error.message)", cause: error.cause)
        } catch {
            throw LLMError(.configuration, "price table \(url.path) is unusable", cause: error)
        }
    }

    /// This table with `overrides` merged over it.
    public func overridden(by overrides: [String: ModelPrice]) -> PriceTable {
        var copy = self
        copy.prices.merge(overrides) { _, new in new }
        return copy
    }

    /// The price of `modelID` (an OpenRouter id, or whatever a server calls its model). A
    /// variant suffix such as `:free` or `:nitro` falls back to the base model's price when the
    /// variant is not listed.
    public func price(for modelID: String) -> ModelPrice {
        if let price = prices[modelID] { return price }
        if let colon = modelID.firstIndex(of: ":"), let price = prices[String(modelID[..<colon])] { return price }
        return unknownModelPrice
    }

    /// The price of a config's model, mapped to its OpenRouter id.
    public func price(for model: ModelRef) -> ModelPrice {
        price(for: ModelIDMapper.openRouterID(for: model))
    }

    /// Whether `modelID` is listed (directly or by its base id).
    public func lists(_ modelID: String) -> Bool {
        if prices[modelID] != nil { return true }
        if let colon = modelID.firstIndex(of: ":") { return prices[String(modelID[..<colon])] != nil }
        return false
    }

    /// USD for `usage` at `modelID`'s price. Ignores `usage.cost`: this is the fallback when the
    /// provider reported none.
    public func cost(for usage: TokenUsage, model modelID: String) -> Double {
        cost(promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, price: price(for: modelID))
    }

    /// The most a call can cost: the estimated prompt plus every token `maxTokens` allows, at
    /// `modelID`'s price. Reserved against `maxCostPerDay` before the call and settled after.
    public func worstCaseCost(promptTokensEstimate: Int, maxTokens: Int, model modelID: String) -> Double {
        cost(promptTokens: promptTokensEstimate, completionTokens: maxTokens, price: price(for: modelID))
    }

    private func cost(promptTokens: Int, completionTokens: Int, price: ModelPrice) -> Double {
        (Double(max(0, promptTokens)) * price.promptPerMillionUsd
            + Double(max(0, completionTokens)) * price.completionPerMillionUsd) / Self.tokensPerMillion
    }

    // MARK: Parsing

    static func parse(_ data: Data, base: PriceTable) throws -> PriceTable {
        let root: JSONValue
        do {
            root = try JSONValue(parsing: data)
        } catch {
            throw LLMError(.configuration, "not valid JSON: \(error.message)", cause: error)
        }
        guard let members = root.objectValue, let models = members["models"]?.objectValue else {
            throw LLMError(.configuration, #"must be an object with "models": {"<model id>": {"prompt": USD, "completion": USD}}"#)
        }
        var table = base
        for (id, entry) in models {
            table.prices[id] = try modelPrice(entry, at: "models.\(id)")
        }
        if let fallback = members["default"] {
            table.unknownModelPrice = try modelPrice(fallback, at: "default")
        }
        return table
    }

    private static func modelPrice(_ value: JSONValue, at path: String) throws -> ModelPrice {
        guard let prompt = value["prompt"]?.doubleValue, let completion = value["completion"]?.doubleValue,
              prompt >= 0, completion >= 0 else {
            throw LLMError(.configuration, #"\#(path) must be {"prompt": USD per million tokens, "completion": USD per million tokens}, both >= 0"#)
        }
        return ModelPrice(promptPerMillionUsd: prompt, completionPerMillionUsd: completion)
    }
}

/// List prices (USD per million tokens) of common models on OpenRouter at the time of writing.
/// Kept as JSON, the same format as an override file, so the two cannot drift apart.
let builtInPricesJSON = #"""
{
  "models": {
    "offline": {"prompt": 0, "completion": 0},
    "anthropic/claude-opus-4.1": {"prompt": 15, "completion": 75},
    "anthropic/claude-opus-4": {"prompt": 15, "completion": 75},
    "anthropic/claude-sonnet-4.5": {"prompt": 3, "completion": 15},
    "anthropic/claude-sonnet-4": {"prompt": 3, "completion": 15},
    "anthropic/claude-3.7-sonnet": {"prompt": 3, "completion": 15},
    "anthropic/claude-3.5-sonnet": {"prompt": 3, "completion": 15},
    "anthropic/claude-haiku-4.5": {"prompt": 1, "completion": 5},
    "anthropic/claude-3.5-haiku": {"prompt": 0.8, "completion": 4},
    "anthropic/claude-3-haiku": {"prompt": 0.25, "completion": 1.25},
    "openai/gpt-5": {"prompt": 1.25, "completion": 10},
    "openai/gpt-5-mini": {"prompt": 0.25, "completion": 2},
    "openai/gpt-5-nano": {"prompt": 0.05, "completion": 0.4},
    "openai/gpt-4.1": {"prompt": 2, "completion": 8},
    "openai/gpt-4.1-mini": {"prompt": 0.4, "completion": 1.6},
    "openai/gpt-4.1-nano": {"prompt": 0.1, "completion": 0.4},
    "openai/gpt-4o": {"prompt": 2.5, "completion": 10},
    "openai/gpt-4o-mini": {"prompt": 0.15, "completion": 0.6},
    "openai/o3": {"prompt": 2, "completion": 8},
    "openai/o4-mini": {"prompt": 1.1, "completion": 4.4},
    "openai/o3-mini": {"prompt": 1.1, "completion": 4.4},
    "google/gemini-2.5-pro": {"prompt": 1.25, "completion": 10},
    "google/gemini-2.5-flash": {"prompt": 0.3, "completion": 2.5},
    "google/gemini-2.0-flash-001": {"prompt": 0.1, "completion": 0.4},
    "meta-llama/llama-3.3-70b-instruct": {"prompt": 0.13, "completion": 0.4},
    "meta-llama/llama-3.1-8b-instruct": {"prompt": 0.02, "completion": 0.05},
    "mistralai/mistral-large": {"prompt": 2, "completion": 6},
    "mistralai/mistral-small-3.1-24b-instruct": {"prompt": 0.1, "completion": 0.3},
    "deepseek/deepseek-chat": {"prompt": 0.3, "completion": 0.85},
    "x-ai/grok-3": {"prompt": 3, "completion": 15}
  }
}
"""#
