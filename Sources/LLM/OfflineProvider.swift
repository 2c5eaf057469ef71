import Foundation
import Logging
import PurserDomain

/// The provider that needs no network and no key: the default when nothing is configured.
///
/// It answers the customer's last message from the agent's own FAQ entries and knowledge
/// documents (`ChatRequest.grounding`, or the grounding given at init), using `OfflineMatcher`'s
/// case-, accent- and inflection-insensitive term matching with a German/English concept table.
/// An FAQ answer or document paragraph is returned verbatim, as the org wrote it. When nothing
/// matches at least `minimumScore`, it does not guess: the response carries a `handoff` and a
/// short, polite message for the customer in the agent's language (or in one of its additional
/// languages when the customer clearly writes in it).
///
/// Same input, same output, in every run and on every machine: no randomness, no clock in the
/// answer, scores summed in a fixed order, ties to the earlier entry. Usage is estimated with
/// `TokenEstimator` and costs nothing.
public struct OfflineProvider: LLMProvider {
    /// Below this a match is a guess, and the session goes to a human. Chosen so that a
    /// rephrasing sharing the distinctive terms (`SBF Binnen` + price) passes while a question
    /// sharing one common term (`Kurs`) does not.
    public static let minimumScore = 0.5
    /// Documents are searched after the FAQ; their matches count a little less because an FAQ
    /// answer is written for exactly that question.
    public static let documentScoreFactor = 0.85
    /// A matching document paragraph longer than this is cut at a sentence end.
    public static let maxDocumentAnswerCharacters = 700
    /// The reported model id (priced at zero in the price table).
    public static let modelName = PriceTable.offlineModelID

    private let grounding: Grounding?
    private let logger: Logger

    /// - Parameter grounding: used when a request brings none; lets one provider serve a single
    ///   agent without the pipeline filling `ChatRequest.grounding`.
    public init(grounding: Grounding? = nil, logger: Logger) {
        self.grounding = grounding
        self.logger = logger
    }

    public var kind: ProviderKind { .offline }

    public func modelID(for model: ModelRef) -> String { Self.modelName }

    public func complete(_ request: ChatRequest) async throws(LLMError) -> ChatResponse {
        let started = ContinuousClock.now
        let grounding = request.grounding ?? self.grounding ?? Grounding(language: AgentProperties.Defaults.language)
        let question = request.messages.last { $0.role == .user }?.content ?? ""
        let language = Self.replyLanguage(for: question, grounding: grounding)
        let reply = Self.reply(to: question, grounding: grounding, language: language)

        let text = reply.text
        let usage = TokenUsage(promptTokens: TokenEstimator.promptTokens(request), completionTokens: TokenEstimator.estimate(text),
                               cost: 0)
        if let handoff = reply.handoff {
            logger.debug("offline provider hands off", metadata: ["reason": "\(handoff.reason)"])
        }
        return ChatResponse(
            text: text, toolCalls: [], usage: usage, costUsd: 0, costSource: .free,
            generationId: "offline-" + Self.fingerprint(question + "\u{0}" + text), model: Self.modelName,
            finishReason: reply.handoff == nil ? "stop" : "handoff",
            latencyMs: OpenAICompatibleProvider.milliseconds(since: started), attempts: 1, handoff: reply.handoff
        )
    }

    /// What the offline provider would say to `question`, without the response envelope.
    public static func reply(to question: String, grounding: Grounding, language: String? = nil) -> (text: String, handoff: Handoff?) {
        let language = language ?? replyLanguage(for: question, grounding: grounding)
        let phrases = Phrases.for(language)
        let queryTerms = OfflineMatcher.terms(question)
        if queryTerms.isEmpty {
            let words = Set(OfflineMatcher.words(question))
            if !words.isDisjoint(with: OfflineMatcher.thanksWords) { return (phrases.thanks, nil) }
            if !words.isDisjoint(with: OfflineMatcher.courtesyWords) { return (phrases.greeting, nil) }
            return (phrases.handoff, Handoff(reason: "the message has no question the offline provider can look up"))
        }
        let matcher = OfflineMatcher(passages: passages(grounding))
        guard let match = matcher.bestMatch(for: queryTerms, faqWeight: 1, documentWeight: documentScoreFactor),
              match.score >= minimumScore else {
            return (phrases.handoff, Handoff(reason: "no FAQ entry or knowledge document answers the question well enough"))
        }
        return (match.passage.answer, nil)
    }

    /// The agent's language, or an additional language of the agent when the customer clearly
    /// writes in it.
    static func replyLanguage(for question: String, grounding: Grounding) -> String {
        let primary = grounding.language
        guard let detected = OfflineMatcher.detectLanguage(question) else { return primary }
        if primaryTag(primary) == detected { return primary }
        if let additional = grounding.additionalLanguages.first(where: { primaryTag($0) == detected }) { return additional }
        return primary
    }

    private static func primaryTag(_ tag: String) -> String {
        String(tag.lowercased().split(whereSeparator: { $0 == "-" || $0 == "_" }).first ?? "")
    }

    private static func passages(_ grounding: Grounding) -> [OfflineMatcher.Passage] {
        var result: [OfflineMatcher.Passage] = []
        for (index, entry) in grounding.faq.enumerated() {
            result.append(.init(source: .faq(index: index), keyTerms: OfflineMatcher.terms(entry.q),
                                supportTerms: OfflineMatcher.terms(entry.a), answer: entry.a))
        }
        for document in grounding.documents {
            let titleTerms = OfflineMatcher.terms(document.title)
            for paragraph in paragraphs(document.text) {
                result.append(.init(source: .document(id: document.id), keyTerms: titleTerms + OfflineMatcher.terms(paragraph),
                                    supportTerms: [], answer: shortened(paragraph)))
            }
        }
        return result
    }

    /// Paragraphs split at blank lines; a document without blank lines is one paragraph per line.
    static func paragraphs(_ text: String) -> [String] {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        var blocks = normalized.components(separatedBy: "\n\n")
        if blocks.count == 1 { blocks = normalized.components(separatedBy: "\n") }
        return blocks.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    private static func shortened(_ paragraph: String) -> String {
        guard paragraph.count > maxDocumentAnswerCharacters else { return paragraph }
        let head = paragraph.prefix(maxDocumentAnswerCharacters)
        if let end = head.lastIndex(where: { $0 == "." || $0 == "!" || $0 == "?" }) {
            return String(head[...end])
        }
        return String(head) + "…"
    }

    /// FNV-1a, 64 bit: stable across processes, unlike `Hasher`.
    static func fingerprint(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// What the offline provider says when it has no answer of the org's to give.
    struct Phrases {
        var handoff: String
        var greeting: String
        var thanks: String

        static func `for`(_ language: String) -> Phrases {
            let tag = String(language.lowercased().prefix(2))
            return table[tag] ?? english
        }

        static let english = Phrases(
            handoff: "Thank you for your message! I can't give you a reliable answer to that, so I've passed your question to a colleague who will get back to you as soon as possible.",
            greeting: "Hello! How can I help you?",
            thanks: "You're welcome! Get in touch any time if you have more questions.")

        static let table: [String: Phrases] = [
            "de": Phrases(
                handoff: "Vielen Dank für Ihre Nachricht! Darauf kann ich Ihnen leider keine verlässliche Antwort geben. Ich habe Ihre Frage an eine Kollegin bzw. einen Kollegen weitergeleitet, die oder der sich so bald wie möglich bei Ihnen meldet.",
                greeting: "Hallo! Wie kann ich Ihnen helfen?",
                thanks: "Sehr gern! Melden Sie sich jederzeit, wenn Sie noch Fragen haben."),
            "en": english,
            "fr": Phrases(
                handoff: "Merci pour votre message ! Je ne peux pas vous donner de réponse fiable à ce sujet ; j'ai transmis votre question à un collègue qui vous répondra dès que possible.",
                greeting: "Bonjour ! Comment puis-je vous aider ?",
                thanks: "Avec plaisir ! N'hésitez pas à nous écrire si vous avez d'autres questions."),
            "es": Phrases(
                handoff: "¡Gracias por su mensaje! No puedo darle una respuesta fiable a eso, así que he pasado su pregunta a un compañero que le responderá lo antes posible.",
                greeting: "¡Hola! ¿En qué puedo ayudarle?",
                thanks: "¡Con mucho gusto! Escríbanos cuando quiera si tiene más preguntas."),
            "it": Phrases(
                handoff: "Grazie per il suo messaggio! Non posso darle una risposta affidabile su questo, quindi ho inoltrato la sua domanda a un collega che le risponderà il prima possibile.",
                greeting: "Salve! Come posso aiutarla?",
                thanks: "Prego! Ci scriva quando vuole se ha altre domande."),
            "nl": Phrases(
                handoff: "Bedankt voor uw bericht! Daar kan ik u helaas geen betrouwbaar antwoord op geven. Ik heb uw vraag doorgestuurd naar een collega, die zo snel mogelijk contact met u opneemt.",
                greeting: "Hallo! Waarmee kan ik u helpen?",
                thanks: "Graag gedaan! Neem gerust contact op als u nog vragen heeft."),
        ]
    }
}
