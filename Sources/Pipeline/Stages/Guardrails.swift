import EventLog
import Foundation
import PurserDomain

// Stage 5: what stops the agent before a model is called — its status and blocked topics. The
// spend caps are checked before every call, in `ModelCall.swift`.

extension Pipeline {
    func checkGuardrails(_ turn: inout Turn, text: String) async throws(PipelineError) -> TurnOutcome? {
        let status = agent(turn.agent)?.status ?? turn.config.status
        switch status {
        case .paused:
            return try await trip(&turn, .agentPaused, detail: "agent \(turn.agent.agentId) is paused; no model call was made", reply: false)
        case .draft:
            return try await trip(&turn, .agentDraft, detail: "agent \(turn.agent.agentId) is a draft; no model call was made", reply: false)
        case .active:
            break
        }
        if let topic = TopicMatcher(topics: turn.config.customProperties.blockedTopics).match(text) {
            return try await trip(&turn, .blockedTopic, detail: "the message touches the blocked topic \"\(topic)\"", topic: topic, reply: true)
        }
        return nil
    }

    /// Logs a tripped guardrail, hands the session to a human, and (unless the agent may not speak
    /// at all) tells the customer in the agent's language that a person will answer.
    func trip(_ turn: inout Turn, _ guardrail: GuardrailTripped.Guardrail, detail: String, limit: Double? = nil,
              observed: Double? = nil, topic: String? = nil, reply: Bool) async throws(PipelineError) -> TurnOutcome {
        try turn.events.add(GuardrailTripped(agentId: turn.agent.agentId, sessionId: turn.session.id, guardrail: guardrail, detail: detail,
                                             limit: limit, observed: observed, topic: topic),
                            stream: turn.session.stream, actor: .system)
        // The notice goes out before the handoff: after it, the agent sends nothing in the session.
        var delivered: Delivered?
        let notice = Notices.handoff(language: turn.config.customProperties.language)
        if reply {
            delivered = try await deliver(&turn, text: notice, actor: .system, automaticNotice: true)
        }
        try turn.events.add(SessionHandedOff(sessionId: turn.session.id, trigger: .guardrail, reason: "\(guardrail.rawValue): \(detail)"),
                            stream: turn.session.stream, actor: .system)
        turn.session.handedOff = true
        turn.session.handedOffTo = nil
        try await flush(&turn.events)
        storeSession(turn.session)
        logger.info("guardrail \(guardrail.rawValue) tripped", metadata: ["org": "\(turn.agent.org)", "session": "\(turn.session.id)"])
        var outcome = turn.outcome(.blocked, reply: delivered == nil ? nil : notice, replyId: delivered?.replyId,
                                   approvalId: delivered?.approvalId, reason: "\(guardrail.rawValue): \(detail)")
        outcome.replySent = delivered?.kind == .sent
        return outcome
    }
}

/// Short messages the engine itself sends, in the agent's language.
enum Notices {
    static func handoff(language: String) -> String {
        switch language.prefix(2).lowercased() {
        case "de": "Vielen Dank für Ihre Nachricht! Eine Mitarbeiterin oder ein Mitarbeiter meldet sich in Kürze persönlich bei Ihnen."
        case "fr": "Merci pour votre message ! Un membre de notre équipe vous répondra personnellement très bientôt."
        case "es": "¡Gracias por su mensaje! Una persona de nuestro equipo le responderá personalmente en breve."
        case "it": "Grazie per il suo messaggio! Una persona del nostro team le risponderà personalmente a breve."
        case "nl": "Bedankt voor uw bericht! Een medewerker neemt binnenkort persoonlijk contact met u op."
        case "pl": "Dziękujemy za wiadomość! Wkrótce odpowie Państwu osobiście ktoś z naszego zespołu."
        default: "Thank you for your message! A member of our team will get back to you personally shortly."
        }
    }
}

/// Matches blocked topics against a message in a way that survives case, accents and simple
/// rephrasing: both sides are folded (lowercase, diacritics removed, ß → ss), split into words,
/// and each word cut to a stem (common English and German endings dropped: "pricing", "prices"
/// and "Preise" stem to "pric"/"preis"). A topic matches when every one of its stems occurs
/// among the message's stems, in any order, or when its folded text occurs in the folded message.
/// Words of two letters or fewer in a topic ("of", "to") are ignored.
struct TopicMatcher {
    let topics: [(name: String, stems: Set<String>, folded: String)]

    init(topics: [String]) {
        self.topics = topics.compactMap { topic in
            let folded = Self.fold(topic)
            let stems = Set(Self.words(folded).filter { $0.count > 2 }.map(Self.stem))
            guard !stems.isEmpty || !folded.isEmpty else { return nil }
            return (topic, stems, folded)
        }
    }

    func match(_ text: String) -> String? {
        guard !topics.isEmpty else { return nil }
        let folded = Self.fold(text)
        let stems = Set(Self.words(folded).map(Self.stem))
        for topic in topics {
            if !topic.folded.isEmpty, folded.contains(topic.folded) { return topic.name }
            if !topic.stems.isEmpty, topic.stems.isSubset(of: stems) { return topic.name }
        }
        return nil
    }

    static func fold(_ text: String) -> String {
        text.replacingOccurrences(of: "ß", with: "ss")
            .folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
            .lowercased()
    }

    static func words(_ folded: String) -> [String] {
        folded.split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Endings dropped, longest first; a stem keeps at least three letters.
    static let suffixes = ["ations", "ation", "ings", "ing", "ies", "ers", "ern", "er", "en", "es", "ed", "e", "s", "n"]

    static func stem(_ word: String) -> String {
        for suffix in suffixes where word.hasSuffix(suffix) && word.count - suffix.count >= 3 {
            return String(word.dropLast(suffix.count))
        }
        return word
    }
}
