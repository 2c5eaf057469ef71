import Foundation

/// Maps an agent config's `modelProvider` + `modelId` to an OpenRouter model id.
///
/// Configs name models the way the vendor's own API does (`anthropic` +
/// `claude-sonnet-4-20250514`); OpenRouter names them `vendor/model` with its own spelling. The
/// rules, applied in order:
///
/// 1. An id that already contains `/` is an OpenRouter id and passes through unchanged
///    (`meta-llama/llama-3.3-70b-instruct`), whatever the provider says.
/// 2. The provider is lower-cased and mapped to OpenRouter's namespace: `anthropic`, `openai`,
///    `google` (also `gemini`, `vertex`), `meta-llama` (also `meta`, `llama`), `mistralai` (also
///    `mistral`), `x-ai` (also `xai`, `grok`), `deepseek`, `cohere`, `qwen`; any other provider is
///    used as written.
/// 3. Anthropic ids lose their snapshot date (`-20250514`) and `-latest`, and version numbers
///    written with a hyphen get OpenRouter's dot: `claude-sonnet-4-20250514` →
///    `anthropic/claude-sonnet-4`, `claude-3-5-sonnet-20241022` → `anthropic/claude-3.5-sonnet`,
///    `claude-opus-4-1` → `anthropic/claude-opus-4.1`.
/// 4. Other vendors' ids are kept (`openai` + `gpt-4o` → `openai/gpt-4o`; dated OpenAI ids such
///    as `gpt-4o-2024-08-06` exist on OpenRouter as written).
public enum ModelIDMapper {
    private static let namespaces: [String: String] = [
        "anthropic": "anthropic", "claude": "anthropic",
        "openai": "openai", "azure-openai": "openai",
        "google": "google", "gemini": "google", "vertex": "google", "vertexai": "google",
        "meta": "meta-llama", "meta-llama": "meta-llama", "llama": "meta-llama",
        "mistral": "mistralai", "mistralai": "mistralai",
        "xai": "x-ai", "x-ai": "x-ai", "grok": "x-ai",
        "deepseek": "deepseek", "cohere": "cohere", "qwen": "qwen",
    ]

    /// The OpenRouter id for `model`.
    public static func openRouterID(for model: ModelRef) -> String {
        openRouterID(provider: model.provider, modelId: model.id)
    }

    /// The OpenRouter id for a config's `modelProvider` and `modelId`.
    public static func openRouterID(provider: String, modelId: String) -> String {
        let id = modelId.trimmingCharacters(in: .whitespaces)
        if id.contains("/") { return id }
        let vendor = provider.trimmingCharacters(in: .whitespaces).lowercased()
        let namespace = namespaces[vendor] ?? vendor
        let name = namespace == "anthropic" ? anthropicName(id.lowercased()) : id
        return namespace.isEmpty ? name : "\(namespace)/\(name)"
    }

    /// `claude-3-5-sonnet-20241022` → `claude-3.5-sonnet`.
    static func anthropicName(_ id: String) -> String {
        var parts = id.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        if let last = parts.last, last == "latest" || (last.count == 8 && last.allSatisfy(\.isNumber)) {
            parts.removeLast()
        }
        // Join single-digit neighbours with a dot: ["3","5"] → "3.5".
        var joined: [String] = []
        for part in parts {
            if let previous = joined.last, isVersionDigit(previous), isVersionDigit(part) {
                joined[joined.count - 1] = "\(previous).\(part)"
            } else {
                joined.append(part)
            }
        }
        return joined.joined(separator: "-")
    }

    private static func isVersionDigit(_ text: String) -> Bool {
        text.count == 1 && text.allSatisfy(\.isNumber)
    }
}
