import EventLog
import Foundation
import PurserDomain
import SessionsProjection

// Stages 1 and 4: which org and agent a message is for, and which conversation it belongs to.

extension Pipeline {
    /// Stage 1: the channel binding that serves one of the message's org addresses.
    func route(_ inbound: Inbound) -> (AgentRef, String)? {
        if let agent = inbound.internalAgent { return (agent, inbound.orgAddresses.first ?? "dashboard") }
        return state.withLock { state in
            for address in inbound.orgAddresses {
                if let ref = state.routes[ChannelAddress(channel: inbound.channel, address: address)] {
                    return (ref, address)
                }
            }
            return nil
        }
    }

    /// Stage 4: the open session of org + channel + contact, from memory, else from the sessions
    /// read model, else a new one (appended by the caller as `session.opened`).
    func openSession(org: String, agentId: String, channel: Channel, contact: String,
                     orgAddress: String, isInternal: Bool = false) async throws(PipelineError) -> SessionState {
        let key = EngineState.sessionKey(org: org, channel: channel, contact: contact)
        if let session = state.withLock({ $0.sessions[key] }) { return session }
        // Not in memory: never touched since start (the model, caught up at start, has it), or
        // evicted (the model has it once it has caught up with what this engine wrote).
        let limit = options.transcriptMessagesMax
        @Sendable func restored(_ row: SessionRecord, _ lines: [TranscriptLine]) -> SessionState {
            SessionState(id: row.sessionId, org: org, agentId: row.agentId ?? agentId, channel: channel, contactAddress: contact,
                         orgAddress: orgAddress, contactId: row.crmContact, handedOff: row.status == "handed_off",
                         handedOffTo: row.handedOffTo, isInternal: row.isInternal,
                         transcript: lines.map(Self.entry), isNew: false)
        }
        let stored: SessionState?
        if let shared = options.sessions {
            stored = try await Self.sharedRead { () async throws -> SessionState? in
                guard let row = try await shared.openSession(org: org, channel: channel.rawValue, contact: contact) else { return nil }
                return restored(row, try await shared.transcript(org: org, session: row.sessionId, last: limit))
            }
        } else {
            try await ensureSessionsModel(org: org)
            stored = try await models.read(SessionsProjector.name) { db in
                guard let row = try SessionsQueries.openSession(db, org: org, channel: channel.rawValue, contact: contact) else { return nil }
                return restored(row, try SessionsQueries.transcript(db, org: org, session: row.sessionId, last: limit))
            }
        }
        if let stored {
            storeSession(stored)
            return stored
        }
        let fresh = SessionState(id: "ses_" + ULID.make(ms: clock().millisecondsSinceEpoch), org: org, agentId: agentId,
                                 channel: channel, contactAddress: contact, orgAddress: orgAddress, contactId: nil,
                                 handedOff: false, handedOffTo: nil, isInternal: isInternal, transcript: [], isNew: true)
        return fresh
    }

    /// The session with this id, from memory or the read model; nil when the org has none.
    func session(org: String, id: String) async throws(PipelineError) -> SessionState? {
        if let key = state.withLock({ $0.sessionKeys["\(org)|\(id)"] }), let session = state.withLock({ $0.sessions[key] }) {
            return session
        }
        let limit = options.transcriptMessagesMax
        @Sendable func restored(_ row: SessionRecord, _ lines: [TranscriptLine]) -> SessionState? {
            guard let channelName = row.channel, let channel = Channel(rawValue: channelName), let contact = row.externalContact else { return nil }
            return SessionState(id: id, org: org, agentId: row.agentId ?? "", channel: channel, contactAddress: contact,
                                orgAddress: "", contactId: row.crmContact, handedOff: row.status == "handed_off",
                                handedOffTo: row.handedOffTo, isInternal: row.isInternal, transcript: lines.map(Self.entry), isNew: false)
        }
        let stored: SessionState?
        if let shared = options.sessions {
            stored = try await Self.sharedRead { () async throws -> SessionState? in
                guard let row = try await shared.session(org: org, id: id) else { return nil }
                return restored(row, try await shared.transcript(org: org, session: id, last: limit))
            }
        } else {
            try await ensureSessionsModel(org: org)
            stored = try await models.read(SessionsProjector.name) { db in
                guard let row = try SessionsQueries.session(db, org: org, id: id) else { return nil }
                return restored(row, try SessionsQueries.transcript(db, org: org, session: id, last: limit))
            }
        }
        guard var stored else { return nil }
        // The org's address on the channel: the agent's binding (what the customer wrote to).
        if let config = agent(AgentRef(org: org, agentId: stored.agentId))?.config {
            stored.orgAddress = config.customProperties.channelBindings.first { $0.channel == stored.channel && $0.enabled }?.address
                .flatMap { try? AddressNormalizer.address($0, on: stored.channel) } ?? ""
        }
        storeSession(stored)
        return stored
    }

    func ensureSessionsModel(org: String) async throws(PipelineError) {
        let (evicted, written) = state.withLock { ($0.sessionsEvicted, $0.sessionsWritten[org] ?? 0) }
        if evicted { try await models.ensure(SessionsProjector.name, org: org, upTo: written) }
    }

    func storeSession(_ session: SessionState) {
        let key = EngineState.sessionKey(org: session.org, channel: session.channel, contact: session.contactAddress)
        let limit = options.sessionsCachedMax
        state.withLock { state in
            state.sessions[key] = session
            state.sessionKeys["\(session.org)|\(session.id)"] = key
            // Bounded memory: past the limit, forget half of the sessions. They are reloaded from
            // the sessions read model (caught up first) when their next message or action comes.
            if state.sessions.count > limit {
                state.sessionsEvicted = true
                for (evicted, old) in state.sessions where evicted != key {
                    state.sessions[evicted] = nil
                    state.sessionKeys["\(old.org)|\(old.id)"] = nil
                    if state.sessions.count <= limit / 2 { break }
                }
            }
        }
    }

    static func entry(_ line: TranscriptLine) -> TranscriptEntry {
        let speaker: TranscriptEntry.Speaker = line.direction == "inbound" ? .customer : (line.actorKind == "human" ? .human : .agent)
        return TranscriptEntry(speaker: speaker, who: line.actorId, text: line.text)
    }
}
