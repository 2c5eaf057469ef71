import Foundation
import PurserCore

/// Turns customer text into comparable terms, and scores how well a question matches a text.
///
/// Matching must survive what customers do to a question: capitals, accents and umlauts
/// (`Prüfung`, `prufung`, `pruefung`), inflection (`Kurs`/`Kurse`, `booking`/`book`), filler
/// words, and asking in English what the FAQ says in German. So a text becomes a list of terms:
///
/// 1. case and diacritics are folded, `ß` becomes `ss`, and the German `ae`/`oe`/`ue` spellings
///    become `a`/`o`/`u`;
/// 2. it is split at anything that is not a letter or digit;
/// 3. words of a small German/English concept table become one shared concept term (`kostet`,
///    `Preis`, `cost`, `price` → `#price`), so a question in one language finds an answer
///    written in the other;
/// 4. German and English stopwords are dropped;
/// 5. a common inflection suffix is cut (`-ungen`, `-ung`, `-ing`, `-en`, `-er`, `-es`, `-ed`,
///    `-e`, `-s`, `-n`…), keeping at least three letters.
///
/// Terms are weighted by inverse document frequency over everything the agent knows, so a rare
/// term such as `sbf` counts more than a common one.
struct OfflineMatcher {
    /// A passage the matcher can answer with.
    struct Passage {
        enum Source: Equatable {
            case faq(index: Int)
            case document(id: String)
        }

        var source: Source
        /// The terms that identify the passage: an FAQ entry's question, a document paragraph.
        var keyTerms: [String]
        /// Further terms that support a match (an FAQ entry's answer).
        var supportTerms: [String]
        var answer: String
    }

    struct Match {
        var passage: Passage
        var score: Double
    }

    let passages: [Passage]
    private let inverseDocumentFrequency: [String: Double]

    init(passages: [Passage]) {
        self.passages = passages
        var documentFrequency: [String: Int] = [:]
        for passage in passages {
            for term in Set(passage.keyTerms + passage.supportTerms) { documentFrequency[term, default: 0] += 1 }
        }
        let count = Double(max(passages.count, 1))
        inverseDocumentFrequency = documentFrequency.mapValues { 1 + log((1 + count) / (1 + Double($0))) }
        idfForUnknown = 1 + log(1 + count)
    }

    private let idfForUnknown: Double

    func weight(_ term: String) -> Double { inverseDocumentFrequency[term] ?? idfForUnknown }

    /// Summed in sorted order so the score is bit-for-bit the same in every run.
    private func weight(of terms: Set<String>) -> Double {
        terms.sorted().reduce(0) { $0 + weight($1) }
    }

    /// The best passage for `query` with its score in `0...1`; ties go to the earlier passage.
    func bestMatch(for queryTerms: [String], faqWeight: Double, documentWeight: Double) -> Match? {
        let query = Set(queryTerms)
        guard !query.isEmpty else { return nil }
        let queryWeight = weight(of: query)
        var best: Match?
        for passage in passages {
            let key = Set(passage.keyTerms)
            let keyOverlap = weight(of: query.intersection(key))
            let score: Double
            switch passage.source {
            case .faq:
                // Cosine-like agreement with the question, or (weaker) the query's coverage by
                // question and answer together, for questions the FAQ answers but words otherwise.
                let keyWeight = weight(of: key)
                let agreement = keyWeight > 0 ? keyOverlap / (queryWeight * keyWeight).squareRoot() : 0
                let all = key.union(passage.supportTerms)
                let coverage = weight(of: query.intersection(all)) / queryWeight
                score = faqWeight * max(agreement, Self.answerCoverageDiscount * coverage)
            case .document:
                // A paragraph is long; only how much of the question it covers matters, and a
                // single shared term is not evidence unless the question has only one.
                let shared = query.intersection(key).count
                guard shared >= min(2, query.count) else { continue }
                score = documentWeight * keyOverlap / queryWeight
            }
            if score > (best?.score ?? 0) { best = Match(passage: passage, score: score) }
        }
        return best
    }

    /// How much an FAQ match found through the answer text counts against one found through
    /// the question.
    static let answerCoverageDiscount = 0.75

    // MARK: - Terms

    static func terms(_ text: String) -> [String] {
        words(text).compactMap { word in
            if let concept = concepts[word] { return concept }
            if stopwords.contains(word) { return nil }
            return stem(word)
        }
    }

    /// Folded words, stopwords included.
    static func words(_ text: String) -> [String] {
        TextMatching.words(text).map(unfoldTranscription)
    }

    /// `pruefung` → `prufung`, so the transcribed spelling matches the folded umlaut. Only
    /// inside a word, and not in `ue` after `q` (`quelle`), and not for `oe`/`ae` that English uses
    /// (`does`, `shoes`, `israel`) — those are stopwords or rare enough not to matter.
    private static func unfoldTranscription(_ word: String) -> String {
        guard word.count > 3 else { return word }
        var result = word
        for (from, to) in [("ae", "a"), ("oe", "o"), ("ue", "u")] where result.dropFirst().contains(from) {
            if from == "ue", result.contains("que") { continue }
            if from == "oe", result.hasSuffix("oes") { continue }
            result = String(result.prefix(1)) + result.dropFirst().replacingOccurrences(of: from, with: to)
        }
        return result
    }

    private static let suffixes = ["ungen", "ung", "ern", "est", "ing", "en", "er", "es", "em", "et", "ed", "e", "s", "n"]
    private static let minimumStemLength = 3

    static func stem(_ word: String) -> String {
        guard !word.allSatisfy(\.isNumber) else { return word }
        for suffix in suffixes where word.hasSuffix(suffix) && word.count - suffix.count >= minimumStemLength {
            return String(word.dropLast(suffix.count))
        }
        return word
    }

    /// Words customers use for the same thing in German and English, folded as `words` folds.
    static let concepts: [String: String] = {
        let groups: [String: [String]] = [
            "#price": ["preis", "preise", "kosten", "kostet", "kost", "teuer", "gebuhr", "gebuhren", "cost", "costs",
                       "price", "prices", "pricing", "fee", "fees", "expensive", "euro", "eur"],
            "#book": ["buchen", "buche", "buchung", "buchungen", "gebucht", "reservieren", "reservierung", "anmelden",
                      "anmeldung", "book", "books", "booking", "bookings", "booked", "reserve", "reservation", "register",
                      "registration", "enrol", "enroll", "signup"],
            "#duration": ["dauer", "dauert", "dauern", "lange", "duration", "long", "last", "lasts"],
            "#when": ["wann", "termin", "termine", "datum", "zeitraum", "when", "date", "dates", "schedule", "start", "starts",
                      "beginnt", "beginn"],
            "#where": ["wo", "adresse", "anfahrt", "standort", "where", "address", "location", "directions"],
            "#course": ["kurs", "kurse", "kursen", "lehrgang", "unterricht", "course", "courses", "class", "classes", "lesson",
                        "lessons", "training"],
            "#licence": ["fuhrerschein", "schein", "sportbootfuhrerschein", "licence", "license", "licences", "licenses",
                         "certificate"],
            "#boat": ["boot", "boote", "booten", "yacht", "yachten", "jolle", "jollen", "boat", "boats", "dinghy"],
            "#cancel": ["stornieren", "storno", "stornierung", "absagen", "absage", "rucktritt", "cancel", "cancels",
                        "cancellation", "cancelled", "canceled", "refund"],
            "#pay": ["bezahlen", "zahlen", "zahlung", "bezahlung", "uberweisung", "pay", "paying", "payment", "transfer"],
            "#hours": ["offnungszeiten", "geoffnet", "offen", "opening", "open", "hours"],
            "#exam": ["prufung", "prufungen", "exam", "exams", "examination", "test"],
            "#weather": ["wetter", "wind", "regen", "sturm", "weather", "rain", "storm"],
            "#age": ["alter", "alt", "jahre", "mindestalter", "age", "old", "years"],
            "#contact": ["kontakt", "telefon", "erreichen", "anrufen", "email", "mail", "contact", "phone", "call", "reach"],
            "#rent": ["mieten", "miete", "vermietung", "charter", "chartern", "leihen", "rent", "rental", "hire"],
        ]
        var map: [String: String] = [:]
        for (concept, words) in groups.sorted(by: { $0.key < $1.key }) {
            for word in words { map[word] = concept }
        }
        return map
    }()

    /// German and English words that carry no meaning for matching, folded as `words` folds.
    static let stopwords = Set<String>([
        // German
        "aber", "alle", "als", "also", "am", "an", "auch", "auf", "aus", "bei", "bin", "bis", "bist", "bitte", "da",
        "damit", "dann", "das", "dass", "dein", "deine", "dem", "den", "denn", "der", "des", "dich", "die", "dir", "doch",
        "du", "durch", "ein", "eine", "einem", "einen", "einer", "eines", "er", "es", "etwas", "euch", "euer", "eure",
        "fur", "gibt", "gern", "gerne", "hab", "habe", "haben", "hat", "hatte", "ich", "ihr", "ihre", "ihnen", "im", "in",
        "ist", "ja", "jemand", "kann", "kannst", "konnen", "konnt", "konnte", "mal", "man", "mein", "meine", "meinen",
        "mich", "mir", "mit", "muss", "mussen", "nach", "nicht", "noch", "nur", "ob", "oder", "sein", "seine", "sich",
        "sie", "sind", "so", "soll", "sollte", "uber", "um", "und", "uns", "unser", "unsere", "vom", "von", "vor",
        "war", "was", "welche", "welcher", "welches", "wenn", "wer", "werden", "wie", "wieviel", "viel", "viele", "wir",
        "wird", "wirklich", "zu", "zum", "zur", "hallo", "danke", "vielen", "dank", "guten", "tag", "morgen", "abend",
        "moin", "servus", "frage", "fragen", "eigentlich", "genau", "gut", "bzw", "mochte", "mochten", "wurde", "wurden",
        "weiss", "wissen",
        // English
        "a", "about", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by", "can",
        "could", "did", "do", "does", "for", "from", "get", "got", "had", "has", "have", "hello", "hey", "hi", "how",
        "i", "if", "in", "into", "is", "it", "its", "just", "know", "like", "many", "may", "me", "much", "my", "need",
        "of", "on", "or", "our", "please", "so", "some", "tell", "thank", "thanks", "that", "the", "their", "them",
        "there", "these", "they", "this", "to", "us", "want", "was", "we", "what", "which", "who", "why", "will", "with",
        "would", "you", "your", "good", "morning", "evening", "question", "wondering", "wonder", "im", "whats", "id",
    ])

    /// Words of a greeting or a thank-you, folded.
    static let courtesyWords: Set<String> = [
        "hallo", "hello", "hi", "hey", "moin", "servus", "guten", "tag", "morgen", "abend", "good", "morning",
        "evening", "danke", "dank", "vielen", "thanks", "thank",
    ]

    static let thanksWords: Set<String> = ["danke", "dank", "thanks", "thank"]

    /// `de` or `en` when the text clearly reads as one of them, by stopword hits.
    static func detectLanguage(_ text: String) -> String? {
        var german = 0
        var english = 0
        for word in words(text) {
            if germanMarkers.contains(word) { german += 1 }
            if englishMarkers.contains(word) { english += 1 }
        }
        if german > english { return "de" }
        if english > german { return "en" }
        return nil
    }

    private static let germanMarkers: Set<String> = [
        "der", "die", "das", "und", "ist", "ich", "was", "wie", "wo", "wann", "kann", "ein", "eine", "fur", "mit", "nicht",
        "bitte", "hallo", "danke", "kostet", "gibt", "habe", "haben", "sie", "wir", "euch", "ihr", "mochte", "auch",
    ]

    private static let englishMarkers: Set<String> = [
        "the", "and", "is", "i", "what", "how", "where", "when", "can", "a", "an", "for", "with", "not", "please",
        "hello", "thanks", "does", "do", "you", "we", "your", "would", "like", "much", "of",
    ]
}
