import Foundation

/// Case-, accent- and width-insensitive text comparison, shared by name search and the
/// knowledge scorer.
public enum TextMatching {
    /// Lowercased, diacritics removed, `ß` as `ss`: `Müller` and `MULLER` fold alike.
    public static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .lowercased()
            .replacingOccurrences(of: "ß", with: "ss")
    }

    /// The folded words of `text`: runs of letters and digits.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for scalar in fold(text).unicodeScalars {
            if CharacterSet.alphanumerics.contains(scalar) {
                current.unicodeScalars.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
