import Foundation
import PurserDomain
import Testing
@testable import LLM

let sailingSchool = Grounding(
    language: "de", additionalLanguages: ["en"],
    faq: [
        FAQEntry(q: "Was kostet der SBF Binnen?", a: "Der SBF Binnen kostet bei uns 349 € inklusive Theorie, Praxis und Lehrmaterial (zzgl. Prüfungsgebühr)."),
        FAQEntry(q: "Wie lange dauert der SBF See Kurs?", a: "Der SBF See Kurs dauert zwei Wochenenden, Theorie und Praxis zusammen."),
        FAQEntry(q: "Wo finde ich euch?", a: "Unser Hafen liegt in Ueckermünde, Altes Bollwerk 2, direkt am Stettiner Haff."),
    ],
    documents: [
        Grounding.Document(id: "doc_weather", title: "Wetter und Absagen",
                           text: "Bei Sturmwarnung ab Windstärke 6 fällt das Praxistraining aus.\n\nAusgefallene Termine holen wir kostenlos nach."),
    ]
)

func offlineRequest(_ text: String, grounding: Grounding = sailingSchool) -> ChatRequest {
    ChatRequest(model: ModelRef(provider: "anthropic", id: "claude-sonnet-4-20250514"),
                messages: [.system("Du bist der Assistent der Segelschule am Stettiner Haff."), .user(text)],
                maxTokens: 400, grounding: grounding)
}

@Suite("Offline provider")
struct OfflineProviderTests {
    let provider = OfflineProvider(logger: testLogger)

    @Test("answers the German FAQ question from its entry, for free")
    func germanFAQ() async throws {
        let response = try await provider.complete(offlineRequest("Was kostet der SBF Binnen?"))
        #expect(response.text == sailingSchool.faq[0].a)
        #expect(response.handoff == nil)
        #expect(response.finishReason == "stop")
        #expect(response.costUsd == 0)
        #expect(response.costSource == .free)
        #expect(response.usage.cost == 0)
        #expect(response.usage.promptTokens > 0)
        #expect(response.usage.completionTokens == TokenEstimator.estimate(sailingSchool.faq[0].a))
        #expect(response.model == "offline")
    }

    @Test("answers rephrasings: English, case, accents, inflection", arguments: [
        "How much does the SBF Binnen cost?",
        "what's the price of the sbf binnen course?",
        "Preise für den SBF-Binnen?",
        "WAS KOSTEN DIE SBF BINNEN KURSE",
    ])
    func rephrasings(_ question: String) async throws {
        let response = try await provider.complete(offlineRequest(question))
        #expect(response.text == sailingSchool.faq[0].a)
        #expect(response.handoff == nil)
    }

    @Test("tells related questions apart")
    func distinguishesEntries() async throws {
        let duration = try await provider.complete(offlineRequest("Wie lange dauert der Kurs für den SBF See?"))
        #expect(duration.text == sailingSchool.faq[1].a)
        let location = try await provider.complete(offlineRequest("Where can I find you?"))
        #expect(location.text == sailingSchool.faq[2].a)
    }

    @Test("answers from a knowledge document paragraph")
    func knowledgeDocument() async throws {
        let response = try await provider.complete(offlineRequest("Fällt das Training bei Sturm aus?"))
        #expect(response.text == "Bei Sturmwarnung ab Windstärke 6 fällt das Praxistraining aus.")
        #expect(response.handoff == nil)
    }

    @Test("hands off an unknown question with a polite German message")
    func handoffGerman() async throws {
        let response = try await provider.complete(offlineRequest("Darf ich meinen Hund mit an Bord bringen?"))
        let handoff = try #require(response.handoff)
        #expect(!handoff.reason.isEmpty)
        #expect(response.finishReason == "handoff")
        #expect(response.text?.hasPrefix("Vielen Dank für Ihre Nachricht!") == true)
        #expect(response.toolCalls.isEmpty)
        #expect(response.costUsd == 0)
    }

    @Test("hands off in English when the customer writes English and the agent serves it")
    func handoffEnglish() async throws {
        let response = try await provider.complete(offlineRequest("Can I bring my dog on the boat?"))
        #expect(response.handoff != nil)
        #expect(response.text?.hasPrefix("Thank you for your message!") == true)
    }

    @Test("a one-word overlap is not an answer")
    func weakOverlapHandsOff() async throws {
        let response = try await provider.complete(offlineRequest("Habt ihr auch Kurse für Kinder?"))
        #expect(response.handoff != nil)
    }

    @Test("greets back instead of handing off a greeting")
    func greeting() async throws {
        let response = try await provider.complete(offlineRequest("Hallo!"))
        #expect(response.handoff == nil)
        #expect(response.text == "Hallo! Wie kann ich Ihnen helfen?")
    }

    @Test("without FAQ or documents every question is handed off")
    func nothingKnown() async throws {
        let response = try await provider.complete(offlineRequest("Was kostet der SBF Binnen?", grounding: Grounding(language: "en")))
        #expect(response.handoff != nil)
        #expect(response.text?.hasPrefix("Thank you") == true)
    }

    @Test("the same input gives the same output, field for field")
    func deterministic() async throws {
        for question in ["How much does the SBF Binnen cost?", "Darf ich meinen Hund mitbringen?", "Wo finde ich euch?"] {
            let first = try await provider.complete(offlineRequest(question))
            let second = try await OfflineProvider(logger: testLogger).complete(offlineRequest(question))
            #expect(first.text == second.text)
            #expect(first.handoff == second.handoff)
            #expect(first.usage == second.usage)
            #expect(first.generationId == second.generationId)
        }
        // Pinned so a change in another process (hash seeding) would show.
        #expect(OfflineProvider.fingerprint("") == "cbf29ce484222325")
        #expect(OfflineProvider.fingerprint("a") == "af63dc4c8601ec8c")
    }

    @Test("grounding given at init serves requests that bring none")
    func initGrounding() async throws {
        let provider = OfflineProvider(grounding: sailingSchool, logger: testLogger)
        var chat = offlineRequest("Was kostet der SBF Binnen?")
        chat.grounding = nil
        #expect(try await provider.complete(chat).text == sailingSchool.faq[0].a)
    }
}

@Suite("Model ids, prices, estimates, selection")
struct TablesTests {
    @Test("config model ids map to OpenRouter ids", arguments: [
        ("anthropic", "claude-sonnet-4-20250514", "anthropic/claude-sonnet-4"),
        ("anthropic", "claude-3-5-sonnet-20241022", "anthropic/claude-3.5-sonnet"),
        ("Anthropic", "claude-3-7-sonnet-latest", "anthropic/claude-3.7-sonnet"),
        ("anthropic", "claude-opus-4-1-20250805", "anthropic/claude-opus-4.1"),
        ("anthropic", "claude-3-haiku-20240307", "anthropic/claude-3-haiku"),
        ("openai", "gpt-4o", "openai/gpt-4o"),
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o-2024-08-06"),
        ("gemini", "gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("meta", "llama-3.3-70b-instruct", "meta-llama/llama-3.3-70b-instruct"),
        ("mistral", "mistral-large", "mistralai/mistral-large"),
        ("openai", "meta-llama/llama-3.1-8b-instruct", "meta-llama/llama-3.1-8b-instruct"),
        ("acme", "acme-1", "acme/acme-1"),
    ])
    func modelMapping(_ provider: String, _ id: String, _ expected: String) {
        #expect(ModelIDMapper.openRouterID(provider: provider, modelId: id) == expected)
    }

    @Test("the built-in price table prices usage and the worst case")
    func prices() {
        let table = PriceTable.builtIn
        #expect(table.price(for: "openai/gpt-4o") == ModelPrice(promptPerMillionUsd: 2.5, completionPerMillionUsd: 10))
        #expect(table.price(for: "openai/gpt-4o:nitro") == table.price(for: "openai/gpt-4o"))
        #expect(table.price(for: sailingModel) == ModelPrice(promptPerMillionUsd: 3, completionPerMillionUsd: 15))
        #expect(abs(table.cost(for: TokenUsage(promptTokens: 2_000, completionTokens: 500), model: "openai/gpt-4o") - 0.01) < 1e-12)
        // 1,000 prompt tokens + 4,096 max tokens at $3/$15 per million.
        #expect(abs(table.worstCaseCost(promptTokensEstimate: 1_000, maxTokens: 4_096, model: "anthropic/claude-sonnet-4") - 0.06444) < 1e-12)
        #expect(table.worstCaseCost(promptTokensEstimate: 10_000, maxTokens: 4_096, model: "offline") == 0)
        #expect(table.price(for: "someone/unknown-model") == PriceTable.unknownModelPrice)
        #expect(!table.lists("someone/unknown-model"))
    }

    @Test("an override file replaces and adds models and the default")
    func overrideFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("purser-prices-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"models": {"openai/gpt-4o": {"prompt": 1, "completion": 2}, "local/llama": {"prompt": 0, "completion": 0}}, "default": {"prompt": 4, "completion": 8}}"#.utf8).write(to: url)

        let table = try PriceTable.fromEnvironment([PriceTable.overrideFileVariable: url.path])

        #expect(table.price(for: "openai/gpt-4o") == ModelPrice(promptPerMillionUsd: 1, completionPerMillionUsd: 2))
        #expect(table.price(for: "local/llama") == .free)
        #expect(table.price(for: "anthropic/claude-sonnet-4") == ModelPrice(promptPerMillionUsd: 3, completionPerMillionUsd: 15))
        #expect(table.price(for: "x/y") == ModelPrice(promptPerMillionUsd: 4, completionPerMillionUsd: 8))
    }

    @Test("a broken override file is a configuration error naming the problem")
    func badOverrideFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("purser-prices-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"models": {"openai/gpt-4o": {"prompt": "cheap"}}}"#.utf8).write(to: url)

        let error = #expect(throws: LLMError.self) { try PriceTable.builtIn.overridden(byFileAt: url) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("models.openai/gpt-4o") == true)
        let missing = #expect(throws: LLMError.self) {
            try PriceTable.fromEnvironment([PriceTable.overrideFileVariable: "/nonexistent/prices.json"])
        }
        #expect(missing?.code == .configuration)
    }

    @Test("token estimates err high: UTF-8 bytes / 3 plus framing")
    func tokenEstimates() {
        #expect(TokenEstimator.estimate("") == 0)
        #expect(TokenEstimator.estimate("abcd") == 2)
        #expect(TokenEstimator.estimate("Größe") == 3)
        let chat = ChatRequest(model: sailingModel, messages: [.user("abcdef")], tools: [])
        #expect(TokenEstimator.promptTokens(chat) == TokenEstimator.replyPrimingTokens + TokenEstimator.perMessageOverheadTokens + 2)
        let withTool = ChatRequest(model: sailingModel, messages: [.user("abcdef")], tools: [dataQueryTool])
        #expect(TokenEstimator.promptTokens(withTool) > TokenEstimator.promptTokens(chat) + TokenEstimator.perToolOverheadTokens)
    }

    @Test("backoff grows, is capped, and Retry-After parses both forms")
    func retryPolicy() {
        let policy = RetryPolicy(maxAttempts: 6, baseDelay: .milliseconds(500), maxDelay: .seconds(4))
        #expect(policy.backoff(afterAttempt: 1, random: 0) == .milliseconds(250))
        #expect(policy.backoff(afterAttempt: 1, random: 1) == .milliseconds(500))
        #expect(policy.backoff(afterAttempt: 3, random: 1) == .seconds(2))
        #expect(policy.backoff(afterAttempt: 10, random: 1) == .seconds(4))
        let now = Date(timeIntervalSince1970: 1_764_064_800)
        #expect(RetryPolicy.retryAfter("7", now: now) == .seconds(7))
        #expect(RetryPolicy.retryAfter("0.5", now: now) == .milliseconds(500))
        #expect(RetryPolicy.retryAfter("Tue, 25 Nov 2025 10:01:00 GMT", now: now) == .seconds(60))
        #expect(RetryPolicy.retryAfter("Mon, 24 Nov 2025 10:00:00 GMT", now: now) == .zero)
        #expect(RetryPolicy.retryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.isRetryable(status: 429) && RetryPolicy.isRetryable(status: 503) && !RetryPolicy.isRetryable(status: 400))
    }

    @Test("the environment selects base URL, then OpenRouter, then offline")
    func selection() throws {
        #expect(ProviderSelection.kind(in: [:]) == .offline)
        #expect(ProviderSelection.kind(in: ["OPENROUTER_API_KEY": "sk-or"]) == .openRouter)
        #expect(ProviderSelection.kind(in: ["OPENROUTER_API_KEY": "sk-or", "PURSER_LLM_BASE_URL": "http://127.0.0.1:8080/v1"]) == .openAICompatible)
        #expect(ProviderSelection.kind(in: ["PURSER_LLM_BASE_URL": "  "]) == .offline)

        let compatible = try #require(ProviderSelection.configuration(in: [
            "PURSER_LLM_BASE_URL": "http://127.0.0.1:8080/v1/", "PURSER_LLM_API_KEY": "k", "PURSER_LLM_MODEL": "qwen",
        ]))
        #expect(compatible.completionsURL == "http://127.0.0.1:8080/v1/chat/completions")
        #expect(compatible.apiKey == "k")
        let provider = OpenAICompatibleProvider(configuration: compatible, logger: testLogger)
        #expect(provider.modelID(for: sailingModel) == "qwen")

        let openRouter = try #require(ProviderSelection.configuration(in: ["OPENROUTER_API_KEY": "sk-or"]))
        #expect(openRouter.completionsURL == "https://openrouter.ai/api/v1/chat/completions")
        #expect(OpenAICompatibleProvider(configuration: openRouter, logger: testLogger).modelID(for: sailingModel) == "anthropic/claude-sonnet-4")

        #expect(try ProviderSelection.provider(environment: [:], logger: testLogger).kind == .offline)
    }
}
