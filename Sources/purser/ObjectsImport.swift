import ArgumentParser
import CRMProjection
import Channels
import EventLog
import Foundation
import PurserDomain

struct ObjectsImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import ontology objects and links (JSON Lines) into an org.",
        discussion: """
        Each line is an object {"id","type","subtype","name","status","customProperties","createdAt","updatedAt"}
        or a link {"link":{"from","to","linkType"}} (docs/INPUT-FORMATS.md). The file is streamed. A new id becomes
        object.created, a known one object.updated (with the fields that changed), an unchanged one nothing; a
        link becomes link.created unless it exists. A bad line is reported with its number and reason on stderr
        and as {"line":N,"error":{"code","message"},"raw":...} on stdout; the other lines are still imported.
        The last stdout line sums up. Exit status 2 if any line was bad.
        """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var database: DatabaseOptions
    @Option(help: "The organization the objects belong to.") var org: String
    @Argument(help: ArgumentHelp("The JSON Lines file, or - for standard input.", valueName: "FILE")) var file: String

    /// Lines longer than this are refused (an object is one event, which the log caps).
    static let lineBytesMax = EventLimits.eventBytesMax - 4096
    /// Events per append: big enough to amortize the log's fsync, small enough to stream.
    static let appendEventsMax = 2048

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
        _ = try database.given()
        if file != "-" && !FileManager.default.fileExists(atPath: file) { throw ValidationError("no such file: \(file)") }
    }

    func run() throws {
        let writer = try CommandStore.open(global, database)
        defer { writer.close() }
        let store = try ReadModels.current(CRMProjector.name, global, source: writer.source)
        let input = try InputLines.open(file, lineBytesMax: Self.lineBytesMax)
        let parser = OntologyLineParser()
        let actor = Actor(.human, commandLineActor())
        let out = BufferedOutput()
        var counts = Counts()

        func reject(_ line: InputLine, _ message: String) {
            counts.rejected += 1
            Output.note("line \(line.number): \(message)")
            out.write(JSONValue.from(["line": .number(Double(line.number)),
                                      "error": .object(["code": .string("invalid_line"), "message": .string(message)]),
                                      "raw": .string(String(decoding: line.isTruncated ? line.bytes.prefix(1024) : line.bytesWithoutCarriageReturn, as: UTF8.self))]).serialized())
        }

        // Objects and links of lines read but not yet in the read model: a file may name an id twice.
        var pendingObjects: [String: OntologyObject] = [:]
        var pendingLinks = Set<ObjectLink>()
        var drafts: [EventDraft] = []

        func flush() throws {
            guard !drafts.isEmpty else { return }
            var start = 0
            while start < drafts.count {
                let end = min(drafts.count, start + Self.appendEventsMax)
                let result = try writer.append(Array(drafts[start..<end]))
                counts.lastSeq = max(counts.lastSeq, result.seqs.max() ?? 0)
                start = end
            }
            drafts.removeAll(keepingCapacity: true)
            try store.catchUp()
            pendingObjects.removeAll(keepingCapacity: true)
            pendingLinks.removeAll(keepingCapacity: true)
        }

        func draft<P: EventPayload>(_ payload: P, stream: String) throws {
            let encoded = try EventCatalog.standard.encode(payload)
            drafts.append(EventDraft(org: org, stream: stream, type: encoded.type, version: encoded.version,
                                     data: Array(encoded.data), actor: actor))
        }

        while let lines = try input.lines.nextLines() {
            // Existing state for this chunk's ids, read once per chunk from the caught-up model.
            var ids: [String] = []
            var outcomes: [(InputLine, OntologyLineOutcome)] = []
            for line in lines {
                if line.isTruncated {
                    reject(line, "line is longer than \(Self.lineBytesMax) bytes")
                    continue
                }
                let outcome = parser.parseLine(Array(line.bytesWithoutCarriageReturn))
                if case .record(.object(let o), _) = outcome { ids.append(o.id) }
                outcomes.append((line, outcome))
            }
            let existing: [String: OntologyObject] = try store.read { db in
                var found: [String: OntologyObject] = [:]
                for id in ids where found[id] == nil {
                    if let r = try CRMQueries.object(db, org: org, id: id), !r.deleted { found[id] = r.object }
                }
                return found
            }
            let links: Set<ObjectLink> = try store.read { db in
                var found = Set<ObjectLink>()
                for case (_, .record(.link(let l), _)) in outcomes
                    where try CRMQueries.links(db, org: org, from: l.from).contains(l) { found.insert(l) }
                return found
            }
            for (line, outcome) in outcomes {
                switch outcome {
                case .blank:
                    continue
                case .rejected(let reasons):
                    reject(line, reasons.joined(separator: "; "))
                case .record(let record, let warnings):
                    for w in warnings { Output.note("line \(line.number): warning: \(w)") }
                    switch record {
                    case .object(let object):
                        if let old = pendingObjects[object.id] ?? existing[object.id] {
                            let changed = Self.changedFields(old, object)
                            if changed.isEmpty {
                                counts.unchanged += 1
                                continue
                            }
                            try draft(ObjectUpdated(object: object, changedFields: changed), stream: EventStream.object(object.id))
                            counts.updated += 1
                        } else {
                            try draft(ObjectCreated(object: object), stream: EventStream.object(object.id))
                            counts.created += 1
                        }
                        pendingObjects[object.id] = object
                    case .link(let link):
                        if links.contains(link) || pendingLinks.contains(link) {
                            counts.unchanged += 1
                            continue
                        }
                        try draft(LinkCreated(link: link), stream: EventStream.links(from: link.from))
                        pendingLinks.insert(link)
                        counts.links += 1
                    }
                }
            }
            if drafts.count >= Self.appendEventsMax { try flush() }
            out.flush()
        }
        try flush()
        out.write(JSONValue.from([
            "org": .string(org), "created": .number(Double(counts.created)), "updated": .number(Double(counts.updated)),
            "unchanged": .number(Double(counts.unchanged)), "links": .number(Double(counts.links)),
            "rejected": .number(Double(counts.rejected)), "lastSeq": .number(Double(counts.lastSeq)),
        ]).serialized())
        out.flush()
        Output.note("imported into \(org): \(counts.created) created, \(counts.updated) updated, \(counts.unchanged) unchanged, \(counts.links) link(s), \(counts.rejected) line(s) rejected")
        if counts.rejected > 0 { throw Exit.invalidInput }
    }

    /// What an import did, for its summary line.
    struct Counts {
        var created = 0, updated = 0, unchanged = 0, links = 0, rejected = 0
        var lastSeq: UInt64 = 0
    }

    /// The query fields (`name`, `customProperties.phone`...) that differ between two versions.
    static func changedFields(_ old: OntologyObject, _ new: OntologyObject) -> [String] {
        var changed: [String] = []
        for field in ["type", "subtype", "name", "status", "createdAt", "updatedAt"] where old.value(forField: field) != new.value(forField: field) {
            if field == "createdAt" && new.createdAt == nil { continue }
            if field == "updatedAt" && new.updatedAt == nil { continue }
            changed.append(field)
        }
        for change in JSONValue.diff(from: old.customProperties, to: new.customProperties) {
            changed.append(change.path.isEmpty ? "customProperties" : "customProperties." + change.path)
        }
        return changed
    }
}
