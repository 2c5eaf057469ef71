import CRMProjection
import EventLog
import Foundation
import GRDB
import Channels
import PurserDomain

// Stage 3: the CRM contact behind the sender, found by normalized phone or email, or created.

extension Pipeline {
    /// Links the session to a CRM contact when it has none yet, appending `contact.resolved` (and
    /// `object.created` for a new contact) to the turn.
    ///
    /// The id is settled under the engine's lock before anything is appended, so two sessions of
    /// one new customer (WhatsApp and SMS from the same phone) do not both create a contact.
    func resolveContact(_ turn: inout Turn, inbound: Inbound) async throws(PipelineError) {
        guard turn.session.contactId == nil else { return }
        let org = turn.agent.org
        let address = inbound.from
        let cacheKey = "\(org)|\(address)"
        let cached = state.withLock { $0.contacts[cacheKey] }
        var found = cached
        if cached == nil {
            try await models.ensure("crm", org: org, upTo: state.withLock { $0.crmWritten[org] ?? 0 })
            found = try await lookUpContact(org: org, address: address, channel: inbound.channel)
        }

        let newId = "c_" + ULID.make(ms: clock().millisecondsSinceEpoch).lowercased()
        let (contactId, created): (String, Bool) = state.withLock { state in
            if let known = state.contacts[cacheKey] { return (known, false) }
            let id = found ?? newId
            state.contacts[cacheKey] = id
            return (id, found == nil)
        }
        let match: ContactResolved.Match
        if created {
            let properties: [String: JSONValue] = ["source": .string(inbound.channel.rawValue),
                                                   inbound.channel.adapter.addressKind.contactProperty: .string(address)]
            let object = OntologyObject(id: contactId, type: "crm_contact", subtype: "lead", name: inbound.contactName ?? address,
                                        status: "active", customProperties: .object(properties), createdAt: clock(), updatedAt: clock())
            try turn.events.add(ObjectCreated(object: object), stream: EventStream.object(contactId), actor: .system)
            match = .created
        } else {
            switch inbound.channel.adapter.addressKind {
            case .phone: match = .phone
            case .email: match = .email
            case .identifier: match = .externalId
            }
        }
        try turn.events.add(ContactResolved(channel: inbound.channel, externalContactId: address, crmContactId: contactId,
                                            matchedBy: match, sessionId: turn.session.id),
                            stream: turn.session.stream, actor: .system)
        turn.session.contactId = contactId
    }

    /// The org's contact with this address: a `crm_contact` first, else any object holding it.
    private func lookUpContact(org: String, address: String, channel: Channel) async throws(PipelineError) -> String? {
        do {
            return try await models.crmDatabase().read { db -> String? in
                let ids: [String]
                switch channel.adapter.addressKind {
                case .phone: ids = try CRMQueries.objectIDs(db, org: org, phone: address)
                case .email: ids = try CRMQueries.objectIDs(db, org: org, email: address)
                case .identifier(let key, _):
                    ids = try String.fetchAll(db, sql: """
                        SELECT id FROM objects WHERE org = ? AND type = 'crm_contact' AND deleted = 0
                        AND json_extract(custom_properties, '$.' || ?) = ? ORDER BY id LIMIT 1
                        """, arguments: [org, key, address])
                }
                for id in ids {
                    if let record = try CRMQueries.object(db, org: org, id: id), record.object.type == "crm_contact", !record.deleted {
                        return id
                    }
                }
                return ids.first
            }
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError(.readModelFailed, "cannot look up the contact \(address) in the crm read model", cause: error)
        }
    }
}
