import Foundation
import PurserCore

/// One parsed line of an ontology import.
public enum OntologyRecord: Sendable, Hashable {
    case object(OntologyObject)
    case link(ObjectLink)
}

/// What became of one line of an ontology JSON Lines file.
public enum OntologyLineOutcome: Sendable, Hashable {
    /// An empty or whitespace-only line, skipped.
    case blank
    /// A good line. `warnings` name members that were ignored (for example the `_id` of a
    /// platform export); the record is still imported.
    case record(OntologyRecord, warnings: [String])
    /// A line that cannot be imported, with every reason found on it.
    case rejected(reasons: [String])
}

/// A line of an import that was rejected or drew a warning, for reporting to the user.
public struct OntologyLineProblem: Sendable, Hashable, CustomStringConvertible {
    /// 1-based line number in the input.
    public var lineNumber: Int
    public var reason: String

    public init(lineNumber: Int, reason: String) {
        self.lineNumber = lineNumber
        self.reason = reason
    }

    public var description: String { "line \(lineNumber): \(reason)" }
}

/// A good line of an ontology import, with where it came from.
public struct OntologyParsedLine: Sendable, Hashable {
    /// 1-based line number in the input.
    public var lineNumber: Int
    public var record: OntologyRecord

    public init(lineNumber: Int, record: OntologyRecord) {
        self.lineNumber = lineNumber
        self.record = record
    }
}

/// The result of parsing a whole ontology file: the good records in input order plus every bad
/// line, so an import can apply the good lines and report the bad ones together.
public struct OntologyParseReport: Sendable, Hashable {
    /// The lines that parsed, in input order.
    public var records: [OntologyParsedLine]
    /// Lines that were not imported.
    public var rejected: [OntologyLineProblem]
    /// Lines that were imported but had members ignored.
    public var warnings: [OntologyLineProblem]

    public init(records: [OntologyParsedLine] = [], rejected: [OntologyLineProblem] = [], warnings: [OntologyLineProblem] = []) {
        self.records = records
        self.rejected = rejected
        self.warnings = warnings
    }

    public var objects: [OntologyObject] { records.compactMap { if case .object(let o) = $0.record { o } else { nil } } }
    public var links: [ObjectLink] { records.compactMap { if case .link(let l) = $0.record { l } else { nil } } }
}

/// Parses the ontology JSON Lines format (docs/INPUT-FORMATS.md): each line is an object
/// (`{"id", "type", "subtype", "name", "status", "customProperties", "createdAt", "updatedAt"}`)
/// or a link (`{"link": {"from", "to", "linkType"}}`).
///
/// A bad line never stops the parse: it is reported with its number and every reason found on
/// it, and the following lines are parsed as usual.
public struct OntologyLineParser: Sendable {
    public init() {}

    /// Parses a whole file. Lines end in `\n` (a preceding `\r` is dropped).
    public func parse(_ data: Data) -> OntologyParseReport {
        var report = OntologyParseReport()
        var lineNumber = 0
        var start = data.startIndex
        while start < data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            lineNumber += 1
            var line = data[start..<end]
            if line.last == 0x0D { line = line.dropLast() }
            if lineNumber == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line = line.dropFirst(3) }
            switch parseLine(line) {
            case .blank:
                break
            case .record(let record, let warnings):
                report.records.append(OntologyParsedLine(lineNumber: lineNumber, record: record))
                report.warnings += warnings.map { OntologyLineProblem(lineNumber: lineNumber, reason: $0) }
            case .rejected(let reasons):
                report.rejected.append(OntologyLineProblem(lineNumber: lineNumber, reason: reasons.joined(separator: "; ")))
            }
            start = end < data.endIndex ? data.index(after: end) : end
        }
        return report
    }

    /// Parses a whole file given as text.
    public func parse(_ text: String) -> OntologyParseReport { parse(Data(text.utf8)) }

    /// Parses one line (without its line terminator), for callers that stream large files.
    public func parseLine(_ line: some Collection<UInt8>) -> OntologyLineOutcome {
        if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return .blank }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: line)
        } catch {
            return .rejected(reasons: [error.message])
        }
        guard case .object(let members) = value else {
            return .rejected(reasons: ["a line must hold a JSON object (an ontology object, or {\"link\": {...}}), found \(value.kindName)"])
        }
        if let link = members["link"] {
            return parseLink(link, members: members)
        }
        return parseObject(members)
    }

    /// Parses one line given as text.
    public func parseLine(_ line: String) -> OntologyLineOutcome { parseLine(Array(line.utf8)) }

    /// The members an object line may have; others are dropped with a warning.
    static let objectFields = Set(OntologyObject.CodingKeys.allCases.map(\.rawValue))

    private func parseObject(_ members: [String: JSONValue]) -> OntologyLineOutcome {
        var reasons: [String] = []
        var warnings: [String] = []

        func requiredString(_ key: String, _ hint: String) -> String {
            switch members[key] {
            case .string(let text) where !text.trimmingCharacters(in: .whitespaces).isEmpty: return text
            case .string: reasons.append("\"\(key)\" is empty; \(hint)")
            case nil, .null?: reasons.append("\"\(key)\" is missing; \(hint)")
            case let other?: reasons.append("\"\(key)\" must be a string, found \(other.kindName)")
            }
            return ""
        }
        func optionalString(_ key: String) -> String? {
            switch members[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            case let other?:
                reasons.append("\"\(key)\" must be a string or null, found \(other.kindName)")
                return nil
            }
        }
        func optionalTimestamp(_ key: String) -> Timestamp? {
            switch members[key] {
            case nil, .null?: return nil
            case .string(let text)?:
                if let value = Timestamp(iso8601: text) { return value }
                reasons.append("\"\(key)\" is '\(text)', not an ISO-8601 timestamp; write it like 2025-03-01T09:00:00Z")
                return nil
            case let other?:
                reasons.append("\"\(key)\" must be an ISO-8601 timestamp string such as 2025-03-01T09:00:00Z, found \(other.kindName)")
                return nil
            }
        }

        let id = requiredString("id", "every object needs an id, unique within the org")
        let type = requiredString("type", "every object needs a type such as crm_contact or booking")
        let subtype = optionalString("subtype")
        let name = optionalString("name")
        let status = optionalString("status")
        var properties = JSONValue.emptyObject
        switch members["customProperties"] {
        case nil, .null?: break
        case .object(let object)?: properties = .object(object)
        case let other?: reasons.append("\"customProperties\" must be a JSON object, found \(other.kindName)")
        }
        let createdAt = optionalTimestamp("createdAt")
        let updatedAt = optionalTimestamp("updatedAt")

        for key in members.keys.sorted() where !Self.objectFields.contains(key) {
            if key == "organizationId" || key == "org" {
                warnings.append("ignored \"\(key)\": the org is the one given to the import, not part of the object")
            } else {
                warnings.append("ignored unknown member \"\(key)\" (known: \(OntologyObject.CodingKeys.allCases.map(\.rawValue).joined(separator: ", ")); put custom data under customProperties)")
            }
        }
        guard reasons.isEmpty else { return .rejected(reasons: reasons) }
        let object = OntologyObject(id: id, type: type, subtype: subtype, name: name, status: status,
                                    customProperties: properties, createdAt: createdAt, updatedAt: updatedAt)
        return .record(.object(object), warnings: warnings)
    }

    private func parseLink(_ link: JSONValue, members: [String: JSONValue]) -> OntologyLineOutcome {
        guard case .object(let fields) = link else {
            return .rejected(reasons: ["\"link\" must be an object {\"from\", \"to\", \"linkType\"}, found \(link.kindName)"])
        }
        var reasons: [String] = []
        var warnings: [String] = []
        func field(_ key: String, _ hint: String) -> String {
            switch fields[key] {
            case .string(let text) where !text.trimmingCharacters(in: .whitespaces).isEmpty: return text
            case .string: reasons.append("link \"\(key)\" is empty; \(hint)")
            case nil, .null?: reasons.append("link is missing \"\(key)\"; \(hint)")
            case let other?: reasons.append("link \"\(key)\" must be a string, found \(other.kindName)")
            }
            return ""
        }
        let from = field("from", "give the id of the object the link starts at")
        let to = field("to", "give the id of the object the link points to")
        let linkType = field("linkType", "name the relation, e.g. bookings")
        for key in fields.keys.sorted() where !["from", "to", "linkType"].contains(key) {
            warnings.append("ignored unknown link member \"\(key)\" (known: from, to, linkType)")
        }
        for key in members.keys.sorted() where key != "link" {
            warnings.append("ignored \"\(key)\" next to \"link\": a line holds either an object or a link")
        }
        guard reasons.isEmpty else { return .rejected(reasons: reasons) }
        return .record(.link(ObjectLink(from: from, to: to, linkType: linkType)), warnings: warnings)
    }
}
