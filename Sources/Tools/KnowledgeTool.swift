import Foundation
import GRDB
import PurserDomain

extension ToolDefinition {
    /// `knowledge_tool`: the agent's FAQ and knowledge documents.
    public static let knowledge = ToolDefinition(
        name: "knowledge_tool", description: "Search the agent's FAQ entries and knowledge documents; returns the best matching passages, best first.",
        parameters: KnowledgeExecutor.parameters, baseCategory: .read,
        executor: { KnowledgeExecutor(reader: $0.crm) })
}

/// `knowledge_tool`: searches the agent's FAQ entries and knowledge documents.
///
/// The FAQ comes from the agent's config in force (`context.config`); the documents are the
/// objects of the context's org whose ids the config lists in `knowledgeDocIds`, read from the
/// `crm` read model, their text taken from `name` and `customProperties.text`, `content` or
/// `body`. An id the config lists that another org holds is simply not found: the lookup is
/// scoped to the caller's org like every other.
///
/// Scoring is word overlap, insensitive to case and accents, with rarer words weighing more
/// (inverse document frequency over the FAQ entries and document paragraphs) and a light
/// suffix trim so `Kurs`/`Kurse` and `booking`/`bookings` meet. It is deliberately simple and
/// deterministic: the model reads the returned passages and judges them itself.
public struct KnowledgeExecutor: ToolExecutor {
    /// Passages returned per call, best first.
    public static let maxMatches = 5
    /// Knowledge documents read per call; a config listing more is cut at this many.
    public static let maxDocuments = 200
    /// Longest passage returned, in characters; longer ones are cut and marked.
    public static let maxPassageLengthCharacters = 800
    /// The `customProperties` members holding a document's text, in the order they are read.
    static let textKeys = ["text", "content", "body"]

    public let reader: any DatabaseReader

    public init(reader: any DatabaseReader) {
        self.reader = reader
    }

    /// A scored unit: one FAQ entry or one paragraph of a document.
    struct Passage {
        var json: [String: JSONValue]
        var keyTerms: Set<String>
        /// Terms that support but do not identify the passage (an FAQ answer): half weight.
        var supportTerms: Set<String>
    }

    static let parameters: JSONValue = [
        "type": "object", "additionalProperties": false, "required": ["query"],
        "properties": ["query": ["type": "string", "minLength": 1, "maxLength": 500]],
    ]

    public func execute(arguments: JSONValue, context: ToolContext) async throws(ToolError) -> ToolOutcome {
        let query = try CRMAccess.string(arguments, "query", for: ToolDefinition.knowledge.name)
        let properties = context.config?.customProperties
        var passages: [Passage] = []
        for (index, entry) in (properties?.faqEntries ?? []).enumerated() {
            passages.append(Passage(json: ["source": "faq", "index": .number(Double(index)), "question": .string(Self.cut(entry.q)), "answer": .string(Self.cut(entry.a))],
                                    keyTerms: Set(Self.terms(entry.q)), supportTerms: Set(Self.terms(entry.a))))
        }
        var ids: [String] = []
        for id in properties?.knowledgeDocIds ?? [] where !ids.contains(id) { ids.append(id) }
        ids = Array(ids.prefix(Self.maxDocuments))
        if !ids.isEmpty {
            let org = context.org, ids = ids
            let documents = try await CRMAccess.read(reader) { db in
                // One placeholder per id: the statement's shape depends on the count only.
                let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
                return try Row.fetchAll(db, sql: """
                    SELECT \(CRMAccess.columns) FROM objects o WHERE o.org = ? AND o.deleted = 0 AND o.id IN (\(placeholders)) ORDER BY o.id
                    """, arguments: StatementArguments([org] + ids)).map { CRMAccess.stored($0).object }
            }
            for document in documents {
                let title = document.name ?? ""
                let titleTerms = Self.terms(title)
                let text = Self.textKeys.compactMap { document.customProperties[$0]?.stringValue }.joined(separator: "\n\n")
                var paragraphs = Self.paragraphs(text)
                if paragraphs.isEmpty { paragraphs = [title] }
                for paragraph in paragraphs {
                    var json: [String: JSONValue] = ["source": "document", "id": .string(document.id), "text": .string(Self.cut(paragraph))]
                    if !title.isEmpty { json["title"] = .string(title) }
                    passages.append(Passage(json: json, keyTerms: Set(titleTerms + Self.terms(paragraph)), supportTerms: []))
                }
            }
        }

        let matches = Self.rank(query: query, passages: passages).prefix(Self.maxMatches)
        var result: [String: JSONValue] = ["query": .string(query), "matches": .array(matches.map { match in
            var json = match.passage.json
            json["score"] = .number((match.score * 100).rounded() / 100)
            return .object(json)
        })]
        if matches.isEmpty {
            result["note"] = "nothing in the FAQ or knowledge documents matches; do not guess an answer: say you do not know or hand off to a human"
        }
        return ToolOutcome(result: .object(result))
    }

    /// Passages with a score above zero, best first; ties keep FAQ-then-document order.
    static func rank(query: String, passages: [Passage]) -> [(passage: Passage, score: Double)] {
        let queryTerms = Set(terms(query))
        guard !queryTerms.isEmpty else { return [] }
        var frequency: [String: Int] = [:]
        for passage in passages {
            for term in passage.keyTerms.union(passage.supportTerms) { frequency[term, default: 0] += 1 }
        }
        let count = Double(max(passages.count, 1))
        func weight(_ term: String) -> Double { 1 + log((1 + count) / (1 + Double(frequency[term] ?? 0))) }
        let queryWeight = queryTerms.reduce(0) { $0 + weight($1) }
        var scored: [(passage: Passage, score: Double, order: Int)] = []
        for (order, passage) in passages.enumerated() {
            var score = 0.0
            for term in queryTerms.sorted() {
                if passage.keyTerms.contains(term) { score += weight(term) } else if passage.supportTerms.contains(term) { score += weight(term) / 2 }
            }
            if score > 0 { scored.append((passage, score / queryWeight, order)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.order < $1.order }
        return scored.map { ($0.passage, $0.score) }
    }

    /// German and English words too common to tell passages apart.
    static let stopwords: Set<String> = [
        "der", "die", "das", "und", "oder", "ein", "eine", "ist", "sind", "ich", "du", "wir", "ihr", "sie", "es", "was", "wie",
        "wann", "wo", "mit", "fur", "von", "zu", "im", "in", "am", "an", "auf", "bei", "den", "dem", "des", "nicht", "kann",
        "the", "a", "an", "and", "or", "is", "are", "i", "you", "we", "it", "what", "how", "when", "where", "with", "for",
        "of", "to", "in", "on", "at", "do", "does", "can", "my", "your", "be", "there",
    ]

    static let suffixes = ["ungen", "ung", "ing", "en", "er", "es", "ed", "e", "s", "n"]
    static let minimumStemLength = 3

    /// Folded words without stopwords, each cut by one common suffix.
    static func terms(_ text: String) -> [String] {
        TextMatching.words(text).compactMap { word in
            guard !stopwords.contains(word) else { return nil }
            guard !word.allSatisfy(\.isNumber) else { return word }
            for suffix in suffixes where word.hasSuffix(suffix) && word.count - suffix.count >= minimumStemLength {
                return String(word.dropLast(suffix.count))
            }
            return word
        }
    }

    /// Paragraphs split at blank lines; a text without blank lines is one paragraph per line.
    static func paragraphs(_ text: String) -> [String] {
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        var blocks = normalized.components(separatedBy: "\n\n")
        if blocks.count == 1 { blocks = normalized.components(separatedBy: "\n") }
        return blocks.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    static func cut(_ text: String) -> String {
        let limit = maxPassageLengthCharacters
        guard text.count > limit else { return text }
        return String(text.prefix(limit)) + "…[trimmed \(text.count - limit) chars]"
    }
}
