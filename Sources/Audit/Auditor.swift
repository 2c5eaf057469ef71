import EventLog
import EventStore
import Foundation
import Logging
import PurserCore
import PurserDomain
import Tools

/// Re-derives, from the log alone, the agent configuration in force at each event of an org
/// and checks every recorded action against it (see `AuditCheck`), plus the log's integrity.
///
/// One streaming pass over the org's events (through the org index); checks that need the whole
/// history (sessions opened later in the same batch, charges that follow their LLM call, objects
/// created by a later import) keep small maps and are settled at the end. It never calls an LLM
/// or a tool: the tool policy is a pure function re-run on the recorded arguments.
public struct Auditor: Sendable {
    /// Where the events come from: the embedded log's reader (the synchronous `audit`), or any
    /// store behind the seam (the asynchronous one, which also takes a reader's log).
    enum Source: Sendable {
        case reader(LogReader)
        case store(any EventStore)
    }

    let source: Source
    let logger: Logger
    let catalog: ToolCatalog

    /// - Parameter catalog: for the action category of each tool call and for the config's
    ///   tool names.
    public init(reader: LogReader, logger: Logger, catalog: ToolCatalog = .standard) throws(AuditError) {
        self.source = .reader(reader)
        self.logger = logger
        self.catalog = catalog
    }

    /// Audits from any store (the embedded log or PostgreSQL), with `await audit(of:)`.
    public init(store: any EventStore, logger: Logger, catalog: ToolCatalog = .standard) {
        self.source = .store(store)
        self.logger = logger
        self.catalog = catalog
    }

    /// Audits `org`. With `proposed`, also replays the history under that config (for its agent)
    /// and lists what it would have denied or held (`report.whatIf`).
    public func audit(org: String, proposed: OrgAgentConfig? = nil, verifyLog: Bool = true) throws(AuditError) -> AuditReport {
        guard case .reader(let reader) = source else { preconditionFailure("an Auditor over a store audits with `await audit(of:)`") }
        guard reader.exists else { throw AuditError(.noLog, "no event log at \(reader.directory); append events first or pass --data") }
        var state = AuditState(catalog: catalog, proposed: proposed)
        var logSummary: AuditReport.LogSummary?
        if verifyLog {
            do {
                let v = try reader.verify()
                logSummary = .init(ok: v.ok, segments: v.segments, batches: v.batches, events: v.events, lastSeq: v.lastSeq,
                                   headHash: v.headHash, faults: v.faults.count)
                state.count(.integrity, Int(v.batches))
                for f in v.faults { state.violate(f.firstSeq, .integrity, f.description) }
            } catch {
                state.violate(nil, .integrity, "the log could not be verified: \(error)")
            }
        }
        // Decoding payloads is nearly all of an audit's time (reading the org through its index is
        // ~5%; see purser-bench audit). Decoding chunks on both cores was measured slower on this
        // loaded 2-core machine, so events are decoded in order, one at a time.
        do {
            try reader.scan(LogReader.Filter(org: org)) { record in
                state.read(record)
                return true
            }
        } catch {
            // A damaged batch stops the scan; the faults from verify name where.
            state.violate(state.lastSeq.map { $0 + 1 }, .integrity, "reading the org's events stopped: \(error)")
        }
        return report(org: org, state: &state, log: logSummary)
    }

    /// Audits `org` from the store behind the seam (a reader's log is read through
    /// `EmbeddedEventStore`): the same checks, and the store's own verify for the integrity check.
    /// (Its own label: an async overload of `audit(org:)` would take over the synchronous callers
    /// that run inside async code.)
    public func audit(of org: String, proposed: OrgAgentConfig? = nil, verifyLog: Bool = true) async throws(AuditError) -> AuditReport {
        let store: any EventStore
        switch source {
        case .reader(let reader):
            guard reader.exists else { throw AuditError(.noLog, "no event log at \(reader.directory); append events first or pass --data") }
            store = EmbeddedEventStore(reader: reader)
        case .store(let s):
            store = s
        }
        var state = AuditState(catalog: catalog, proposed: proposed)
        var logSummary: AuditReport.LogSummary?
        if verifyLog {
            do {
                let v = try await store.verify(org: org)
                logSummary = .init(ok: v.ok, segments: v.segments, batches: v.batches, events: v.events, lastSeq: v.lastSeq,
                                   headHash: v.headHash, faults: v.faults.count)
                state.count(.integrity, v.batches > 0 ? v.batches : Int(v.events))
                for f in v.faults { state.violate(f.seq, .integrity, f.description) }
            } catch {
                state.violate(nil, .integrity, "the log could not be verified: \(error)")
            }
        }
        do {
            try await store.scan(EventQuery(org: org)) { batch in
                for event in batch { event.withRecord { state.read($0) } }
                return true
            }
        } catch {
            state.violate(state.lastSeq.map { $0 + 1 }, .integrity, "reading the org's events stopped: \(error)")
        }
        return report(org: org, state: &state, log: logSummary)
    }

    private func report(org: String, state: inout AuditState, log: AuditReport.LogSummary?) -> AuditReport {
        state.finish()
        logger.debug("audited \(org): \(state.events) events, \(state.violations.count) violations")
        return AuditReport(org: org, events: state.events, firstSeq: state.firstSeq, lastSeq: state.lastSeq, log: log,
                           checks: AuditCheck.allCases.map { .init(check: $0, checked: state.checked[$0, default: 0], violations: state.violationCounts[$0, default: 0]) },
                           violations: state.violations,
                           whatIfAgent: state.proposed?.agentId, whatIf: state.proposed == nil ? nil : state.findings)
    }

    /// Reads a proposed configuration for `--config NEW.json` (validated like `agent apply`).
    public static func loadProposedConfig(path: String) throws(AuditError) -> OrgAgentConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AuditError(.invalidConfig, "cannot read the proposed configuration \(path)", cause: error)
        }
        do {
            return try OrgAgentConfig.load(data, tools: ToolCatalog.standard.acceptedNames)
        } catch {
            throw AuditError(.invalidConfig, "the proposed configuration \(path) is not valid; fix it as for `purser agent apply`", cause: error)
        }
    }
}

/// The state of one audit pass: what the log said was in force, and what is still to settle.
struct AuditState {
    struct Approval {
        var requested: ApprovalRequested?
        var grantedSeq: UInt64?
        var granted: ApprovalGranted?
        var grantedByHuman = false
        var grantActor = ""
    }

    struct Spend {
        var usd = 0.0
        var messages = 0
        var flaggedCost = false
        var flaggedMessages = false
    }

    let catalog: ToolCatalog
    let proposed: OrgAgentConfig?

    var events = 0
    var firstSeq: UInt64?
    var lastSeq: UInt64?
    var checked: [AuditCheck: Int] = [:]
    var violationCounts: [AuditCheck: Int] = [:]
    var violations: [AuditViolation] = []
    var findings: [WhatIfFinding] = []

    var configs: [String: OrgAgentConfig] = [:]
    var approvals: [String: Approval] = [:]
    var handedOff: Set<String> = []
    var sessionAgent: [String: String] = [:]
    var spend: [String: Spend] = [:]
    /// Agent + UTC day keys on which a messages or cost cap tripped.
    var capTripped: Set<String> = []
    var proposedSpend: [String: Spend] = [:]
    var openedSessions: Set<String> = []
    var sessionRefs: [(seq: UInt64, session: String, type: String)] = []
    var knownObjects: Set<String> = []
    var objectRefs: [(seq: UInt64, id: String, context: String)] = []
    var completedReservations: [(seq: UInt64, reservation: String?)] = []
    var chargedReservations: Set<String> = []

    /// Takes one event of the org: counted, its envelope and payload read, its checks applied.
    mutating func read(_ record: EventRecord) {
        events += 1
        firstSeq = firstSeq ?? record.seq
        lastSeq = record.seq
        count(.readable)
        let event: AuditEvent
        do {
            event = try AuditEvent(record, keepRaw: false)
        } catch {
            violate(record.seq, .readable, "\(error)")
            return
        }
        do {
            apply(event, try event.decode())
        } catch {
            violate(record.seq, .readable, "\(error)")
        }
    }

    init(catalog: ToolCatalog, proposed: OrgAgentConfig?) {
        self.catalog = catalog
        self.proposed = proposed
    }

    mutating func count(_ check: AuditCheck, _ n: Int = 1) { checked[check, default: 0] += n }

    mutating func violate(_ seq: UInt64?, _ check: AuditCheck, _ detail: String) {
        violations.append(AuditViolation(seq: seq, rule: check, detail: detail))
        violationCounts[check, default: 0] += 1
    }

    mutating func apply(_ event: AuditEvent, _ payload: DomainEvent) {
        let seq = event.seq
        if let sid = event.sessionId(payload) { sessionRefs.append((seq, sid, event.type)) }
        switch payload {
        case .agentConfigured(let p):
            configs[p.agentId] = p.config
        case .agentStatusChanged(let p):
            configs[p.agentId]?.status = p.to
        case .objectCreated(let p):
            knownObjects.insert(p.object.id)
        case .objectUpdated(let p):
            knownObjects.insert(p.object.id)
        case .linkCreated(let p):
            objectRefs.append((seq, p.link.from, "link.created from"))
            objectRefs.append((seq, p.link.to, "link.created to"))
        case .sessionOpened(let p):
            openedSessions.insert(p.sessionId)
            sessionAgent[p.sessionId] = p.agentId
        case .sessionHandedOff(let p):
            handedOff.insert(p.sessionId)
        case .sessionReleased(let p):
            handedOff.remove(p.sessionId)
        case .approvalRequested(let p):
            approvals[p.approvalId, default: Approval()].requested = p
        case .approvalGranted(let p):
            var a = approvals[p.approvalId, default: Approval()]
            if a.grantedSeq == nil {
                a.grantedSeq = seq
                a.granted = p
                a.grantedByHuman = event.actor.kind == .human
                a.grantActor = event.actor.description
            }
            approvals[p.approvalId] = a
        case .toolExecuted(let p):
            checkTool(seq, p)
        case .messageSent(let p):
            checkSend(seq, event.actor, p)
            checkCapSend(seq, event.actor, p, day: Timestamp(millisecondsSinceEpoch: event.timestampMs).utcDay)
        case .guardrailTripped(let p) where p.guardrail == .maxMessagesPerDay || p.guardrail == .maxCostPerDay:
            capTripped.insert("\(p.agentId)\u{1}\(Timestamp(millisecondsSinceEpoch: event.timestampMs).utcDay)")
        case .llmCompleted(let p):
            completedReservations.append((seq, p.reservationId))
        case .costCharged(let p):
            chargedReservations.insert(p.reservationId)
            checkCaps(seq, p)
        default:
            break
        }
    }

    /// Settles the checks that needed the whole history.
    mutating func finish() {
        for ref in sessionRefs {
            count(.sessionScope)
            if !openedSessions.contains(ref.session) {
                violate(ref.seq, .sessionScope, "\(ref.type) names session \(ref.session), which was never opened in this org")
            }
        }
        for ref in objectRefs {
            count(.objectScope)
            if !knownObjects.contains(ref.id) {
                violate(ref.seq, .objectScope, "\(ref.context) names object \(ref.id), which does not exist in this org")
            }
        }
        for c in completedReservations {
            count(.llmCharged)
            guard let r = c.reservation else {
                violate(c.seq, .llmCharged, "llm.completed has no reservationId, so no charge can settle it")
                continue
            }
            if !chargedReservations.contains(r) {
                violate(c.seq, .llmCharged, "llm.completed (reservation \(r)) has no cost.charged")
            }
        }
        violations.sort { ($0.seq ?? 0, $0.rule.rawValue) < ($1.seq ?? 0, $1.rule.rawValue) }
    }

    // MARK: Tools

    /// Object ids in top-level tool arguments: members named like `contactId`, `bookingId`.
    /// Ids Purser itself generates (sessions, calls, approvals…) are not objects.
    static let nonObjectIdKeys: Set<String> = ["sessionId", "callId", "approvalId", "messageId", "reservationId", "agentId",
                                                "externalMessageId", "generationId", "correlationId", "causationId"]

    mutating func checkTool(_ seq: UInt64, _ p: ToolExecuted) {
        count(.toolPolicy)
        if let args = p.arguments.objectValue {
            for (key, value) in args where key.hasSuffix("Id") && !Self.nonObjectIdKeys.contains(key) {
                if let id = value.stringValue { objectRefs.append((seq, id, "\(p.tool) argument \(key)")) }
            }
        }
        let approval = p.approvalId.flatMap { approvals[$0] }
        let approvedByHuman = approval.map { $0.grantedByHuman && ($0.grantedSeq ?? .max) < seq } ?? false
        if let proposed, proposed.agentId == p.agentId {
            let d = ToolPolicy.decide(config: proposed, tool: p.tool, arguments: p.arguments, catalog: catalog)
            switch d {
            case .allow: break
            case .deny(let reason, let rule):
                findings.append(.init(seq: seq, action: .tool, agentId: p.agentId, tool: p.tool, decision: .deny, rule: rule.rawValue, detail: reason, approvedAtTheTime: approvedByHuman))
            case .needsApproval(let reason, let rule):
                findings.append(.init(seq: seq, action: .tool, agentId: p.agentId, tool: p.tool, decision: .needsApproval, rule: rule.rawValue, detail: reason, approvedAtTheTime: approvedByHuman))
            }
        }
        guard let config = configs[p.agentId] else {
            violate(seq, .toolPolicy, "\(p.tool) ran for agent \(p.agentId), which had no configuration (no agent.configured before it)")
            return
        }
        switch ToolPolicy.decide(config: config, tool: p.tool, arguments: p.arguments, catalog: catalog) {
        case .allow:
            break
        case .deny(let reason, let rule):
            violate(seq, .toolPolicy, "\(p.tool) ran although the policy in force denied it (\(rule.rawValue): \(reason))")
        case .needsApproval(let reason, let rule):
            count(.toolApproval)
            guard let approvalId = p.approvalId else {
                violate(seq, .toolApproval, "\(p.tool) ran without approval although it needed one (\(rule.rawValue): \(reason))")
                return
            }
            guard let approval, let grantedSeq = approval.grantedSeq, grantedSeq < seq else {
                violate(seq, .toolApproval, "\(p.tool) ran citing approval \(approvalId), which was not granted before it (\(rule.rawValue))")
                return
            }
            if !approval.grantedByHuman {
                violate(seq, .toolApproval, "\(p.tool) ran on approval \(approvalId), granted by \(approval.grantActor), not by a human")
            } else if let requested = approval.requested {
                if requested.kind != .toolCall || (requested.tool != nil && requested.tool != p.tool) || (requested.callId != nil && requested.callId != p.callId) {
                    violate(seq, .toolApproval, "\(p.tool) call \(p.callId) ran on approval \(approvalId), which was for \(requested.kind.rawValue) \(requested.tool ?? "") \(requested.callId ?? "")")
                } else if let approved = approval.granted?.editedArguments ?? requested.arguments, approved != p.arguments {
                    violate(seq, .toolApproval, "\(p.tool) ran with arguments \(p.arguments.serialized()) but \(approvalId) approved \(approved.serialized())")
                }
            }
        }
    }

    // MARK: Sends

    mutating func checkSend(_ seq: UInt64, _ actor: EventActor, _ p: MessageSent) {
        guard actor.kind == .agent else { return }
        let agentId = p.agentId ?? p.sessionId.flatMap { sessionAgent[$0] } ?? actor.id
        let session = p.sessionId ?? ""
        count(.handedOffSend)
        if handedOff.contains(session) {
            violate(seq, .handedOffSend, "the agent sent \(p.messageId) in session \(session) while it was handed to a human")
        }
        let approval = p.approvalId.flatMap { approvals[$0] }
        let approvedByHuman = approval.map { $0.grantedByHuman && ($0.grantedSeq ?? .max) < seq } ?? false
        if let proposed, proposed.agentId == agentId {
            switch SendRule(proposed.customProperties.autonomyLevel) {
            case .draft:
                findings.append(.init(seq: seq, action: .send, agentId: agentId, tool: nil, decision: .deny, rule: "autonomy.draft_only",
                                      detail: "the reply \(p.messageId) would have stayed a draft", approvedAtTheTime: approvedByHuman))
            case .holdForApproval:
                findings.append(.init(seq: seq, action: .send, agentId: agentId, tool: nil, decision: .needsApproval, rule: "autonomy.supervised",
                                      detail: "the reply \(p.messageId) would have waited for a human", approvedAtTheTime: approvedByHuman))
            case .send:
                break
            }
        }
        guard let config = configs[agentId] else {
            count(.supervisedSend)
            violate(seq, .supervisedSend, "the agent \(agentId) sent \(p.messageId) without any configuration in force")
            return
        }
        switch SendRule(config.customProperties.autonomyLevel) {
        case .draft:
            count(.draftOnlySend)
            violate(seq, .draftOnlySend, "the agent \(agentId) sent \(p.messageId) under draft_only")
        case .holdForApproval:
            count(.supervisedSend)
            guard let approvalId = p.approvalId else {
                violate(seq, .supervisedSend, "the agent \(agentId) sent \(p.messageId) under supervised without approval")
                return
            }
            guard let approval, let grantedSeq = approval.grantedSeq, grantedSeq < seq else {
                violate(seq, .supervisedSend, "the agent \(agentId) sent \(p.messageId) citing approval \(approvalId), which was not granted before it")
                return
            }
            if !approval.grantedByHuman {
                violate(seq, .supervisedSend, "\(p.messageId) was sent on approval \(approvalId), granted by \(approval.grantActor), not by a human")
            } else if let requested = approval.requested, requested.kind != .reply {
                violate(seq, .supervisedSend, "\(p.messageId) was sent on approval \(approvalId), which was for a \(requested.kind.rawValue)")
            }
        case .send:
            break
        }
    }

    // MARK: Caps

    /// The engine's own notices (actor `system`; no model call paid for them) must not go out
    /// after the agent's messages or cost cap tripped that day. The agent's replies are bounded by
    /// `cap.messages_per_day` through their charged messages: a reply whose reservation was
    /// granted before another turn tripped the cap is within it.
    mutating func checkCapSend(_ seq: UInt64, _ actor: EventActor, _ p: MessageSent, day: String) {
        guard actor.kind == .system else { return }
        let agentId = p.agentId ?? p.sessionId.flatMap { sessionAgent[$0] } ?? actor.id
        count(.capSend)
        if capTripped.contains("\(agentId)\u{1}\(day)") {
            violate(seq, .capSend, "\(p.messageId) went out automatically on \(day) after agent \(agentId)'s daily cap had tripped")
        }
    }

    mutating func checkCaps(_ seq: UInt64, _ p: CostCharged) {
        count(.messagesCap)
        count(.costCap)
        let key = "\(p.agentId)\u{1}\(p.day)"
        if let config = configs[p.agentId] {
            var s = spend[key, default: Spend()]
            s.usd += p.usd
            s.messages += p.messages
            let c = config.customProperties
            if !s.flaggedMessages && s.messages > c.maxMessagesPerDay {
                s.flaggedMessages = true
                violate(seq, .messagesCap, "agent \(p.agentId) reached \(s.messages) messages on \(p.day), over maxMessagesPerDay \(c.maxMessagesPerDay)")
            }
            if !s.flaggedCost && SpendCap.isOver(s.usd, cap: c.maxCostPerDay) {
                s.flaggedCost = true
                violate(seq, .costCap, "agent \(p.agentId) spent \(String(format: "$%.4f", s.usd)) on \(p.day), over maxCostPerDay \(String(format: "$%.2f", c.maxCostPerDay))")
            }
            spend[key] = s
        }
        if let proposed, proposed.agentId == p.agentId {
            var s = proposedSpend[key, default: Spend()]
            s.usd += p.usd
            s.messages += p.messages
            let c = proposed.customProperties
            if s.messages > c.maxMessagesPerDay && p.messages > 0 {
                findings.append(.init(seq: seq, action: .llmCall, agentId: p.agentId, tool: nil, decision: .deny, rule: AuditCheck.messagesCap.rawValue,
                                      detail: "message \(s.messages) of \(p.day) is over the proposed cap \(c.maxMessagesPerDay)", approvedAtTheTime: false))
            } else if SpendCap.isOver(s.usd, cap: c.maxCostPerDay) && p.usd > 0 {
                findings.append(.init(seq: seq, action: .llmCall, agentId: p.agentId, tool: nil, decision: .deny, rule: AuditCheck.costCap.rawValue,
                                      detail: String(format: "$%.4f spent on %@ is over the proposed cap $%.2f", s.usd, p.day, c.maxCostPerDay), approvedAtTheTime: false))
            }
            proposedSpend[key] = s
        }
    }
}
