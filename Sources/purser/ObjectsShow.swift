import ArgumentParser
import CRMProjection
import Foundation
import PurserDomain

struct ObjectsShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print an org's ontology objects as JSON Lines (in the import format).",
        discussion: "With --id, the one object plus its links ({\"links\":{\"out\":[...],\"in\":[...]}}); exit 1 when the org has no such object."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: "The organization.") var org: String
    @Option(help: "Only objects of this type.") var type: String?
    @Option(help: "Only the object with this id, with its links.") var id: String?
    @Flag(help: "Include deleted objects (marked \"deleted\": true).") var deleted = false

    func validate() throws {
        if org.isEmpty { throw ValidationError("--org must not be empty") }
    }

    func run() throws {
        let store = try ReadModels.current(CRMProjector.name, global)
        let out = BufferedOutput()
        defer { out.flush() }
        if let id {
            let found: (CRMObjectRecord, [ObjectLink], [ObjectLink])? = try store.read { db in
                guard let r = try CRMQueries.object(db, org: org, id: id), deleted || !r.deleted,
                      type == nil || r.object.type == type else { return nil }
                return (r, try CRMQueries.links(db, org: org, from: id), try CRMQueries.links(db, org: org, to: id))
            }
            guard let (record, outgoing, incoming) = found else {
                Output.note("org \(org) has no object \(id)\(type.map { " of type \($0)" } ?? "")")
                throw Exit.failure
            }
            var json = record.json
            if case .object(var fields) = json {
                func linkJSON(_ l: ObjectLink) -> JSONValue {
                    .object(["from": .string(l.from), "to": .string(l.to), "linkType": .string(l.linkType)])
                }
                fields["links"] = .object(["out": .array(outgoing.map(linkJSON)), "in": .array(incoming.map(linkJSON))])
                json = .object(fields)
            }
            out.write(json.serialized())
            return
        }
        let records = try store.read { try CRMQueries.objects($0, org: org, type: type, includeDeleted: deleted) }
        for r in records { out.write(r.json.serialized()) }
        Output.note("\(records.count) object(s)")
    }
}
