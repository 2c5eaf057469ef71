import Foundation

/// The one grammar of org ids, checked wherever an org id comes from outside (agent configs,
/// `purser token create`, `credentials set`, `objects import`, URLs).
///
/// An org id is 1–64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit, so
/// it is safe as a path component, a SQL value and a URL segment, and never clashes with the ids
/// Purser reserves (which start with `_`). Org ids are compared exactly, but a new org whose id
/// differs from an existing one only in case (`HAFF` beside `haff`) is refused, so no tenant can
/// pass for another in a listing, a log line or a support ticket.
public enum OrgIDGrammar {
    /// The longest org id accepted.
    public static let bytesMax = 64

    /// Whether `text` follows the grammar.
    public static func isValid(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.utf8.count <= bytesMax, isLetterOrDigit(first) else { return false }
        return text.unicodeScalars.allSatisfy { isLetterOrDigit($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    /// Throws unless `text` follows the grammar, naming what is wrong.
    public static func validate(_ text: String) throws(DomainError) {
        guard isValid(text) else {
            throw DomainError(.invalidOrg, "'\(text)' is not an org id: use 1-\(bytesMax) letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. \"haff\")")
        }
    }

    /// Throws when `candidate` is a new org that differs from one of `existing` only in case.
    public static func refuseCaseVariant(_ candidate: String, of existing: some Sequence<String>) throws(DomainError) {
        let folded = candidate.lowercased()
        for org in existing where org != candidate && org.lowercased() == folded {
            throw DomainError(.invalidOrg, "'\(candidate)' differs from the existing org '\(org)' only in case; use '\(org)' or choose another id")
        }
    }

    private static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
