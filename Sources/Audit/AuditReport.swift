import Foundation

/// The checks `purser audit` runs, by the stable name each violation carries as its rule.
public enum AuditCheck: String, Sendable, Hashable, CaseIterable, Codable {
    /// Every CRC, the hash chain and seq continuity of the whole log (`LogReader.verify`).
    case integrity = "log.integrity"
    /// Every event of the org can be read (envelope and payload, upcast).
    case readable = "event.readable"
    /// Each executed tool was allowed by the policy in force then (enabled, not disabled, not
    /// refused by the autonomy level).
    case toolPolicy = "tool.policy"
    /// Each executed tool that needed approval had a human's approval before it ran, for that
    /// call and those arguments.
    case toolApproval = "tool.approval"
    /// Under `supervised`, each send by the agent had a human's approval before it.
    case supervisedSend = "send.supervised"
    /// Under `draft_only`, the agent sent nothing.
    case draftOnlySend = "send.draft_only"
    /// No agent send while the session was handed to a human.
    case handedOffSend = "send.handed_off"
    /// Per agent and UTC day, charged messages ≤ `maxMessagesPerDay`.
    case messagesCap = "cap.messages_per_day"
    /// Per agent and UTC day, charged USD ≤ `maxCostPerDay`.
    case costCap = "cap.cost_per_day"
    /// Nothing went out on its own (agent or engine, not a human) after a day's cap tripped for
    /// that agent, nor while its charged messages or dollars stood at the cap.
    case capSend = "send.past_cap"
    /// Every session an event names was opened in this org.
    case sessionScope = "scope.session"
    /// Every object id a tool call or link names exists in this org.
    case objectScope = "scope.object"
    /// Every completed LLM call has its `cost.charged` (same reservation).
    case llmCharged = "llm.charged"
}

/// One broken rule, with the event that broke it.
public struct AuditViolation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The event's seq; for a log fault, the first seq of the damaged batch when known.
    public var seq: UInt64?
    public var rule: AuditCheck
    public var detail: String

    public init(seq: UInt64?, rule: AuditCheck, detail: String) {
        self.seq = seq
        self.rule = rule
        self.detail = detail
    }

    public var description: String { "\(seq.map { "#\($0)" } ?? "-")  \(rule.rawValue)  \(detail)" }
}

/// A past action that a proposed configuration would have handled differently.
public struct WhatIfFinding: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Action: String, Sendable, Hashable, Codable { case tool, send, llmCall = "llm_call" }
    public enum Decision: String, Sendable, Hashable, Codable { case deny, needsApproval = "needs_approval" }

    public var seq: UInt64
    public var action: Action
    public var agentId: String
    public var tool: String?
    public var decision: Decision
    /// The deciding rule under the proposed config: a `PolicyRule` name, or a cap's `AuditCheck` name (`cap.cost_per_day`).
    public var rule: String
    public var detail: String
    /// Whether a human had approved the action when it ran (it would still be held, but it was).
    public var approvedAtTheTime: Bool

    public var description: String {
        "#\(seq)  \(action.rawValue)\(tool.map { " \($0)" } ?? "")  \(decision.rawValue) (\(rule))\(approvedAtTheTime ? " [approved at the time]" : "")  \(detail)"
    }
}

/// What `purser audit` prints.
public struct AuditReport: Sendable, Codable {
    public struct CheckCount: Sendable, Codable, Hashable {
        public var check: AuditCheck
        /// How many events or items the check looked at.
        public var checked: Int
        public var violations: Int
    }

    public struct LogSummary: Sendable, Codable, Hashable {
        public var ok: Bool
        public var segments: Int
        public var batches: Int
        public var events: UInt64
        public var lastSeq: UInt64
        public var headHash: String
        public var faults: Int
    }

    public var org: String
    /// Events of the org read.
    public var events: Int
    public var firstSeq: UInt64?
    public var lastSeq: UInt64?
    public var log: LogSummary?
    public var checks: [CheckCount]
    public var violations: [AuditViolation]
    /// Present for a what-if run: the agent the proposed config is for, and its findings.
    public var whatIfAgent: String?
    public var whatIf: [WhatIfFinding]?

    public var ok: Bool { violations.isEmpty }

    /// The report for people (stdout of `purser audit`).
    public func text() -> [String] {
        var out: [String] = []
        out.append("audit of \(org): \(events) event\(events == 1 ? "" : "s")" + (firstSeq.map { " (seq \($0)–\(lastSeq ?? $0))" } ?? ""))
        if let log {
            if log.segments > 0 {
                out.append("log: \(log.ok ? "ok" : "DAMAGED") — \(log.events) events in \(log.segments) segment(s), \(log.batches) batches, head \(log.headHash.prefix(16))…")
            } else {
                // A store without segments (PostgreSQL) verifies the org's own hash chain.
                out.append("log: \(log.ok ? "ok" : "DAMAGED") — the org's \(log.events) events, hash chain recomputed")
            }
        }
        out.append("")
        out.append("check                    checked  violations")
        for c in checks {
            out.append("\(c.check.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(c.checked).leftPadded(7))  \(String(c.violations).leftPadded(10))")
        }
        out.append("")
        if violations.isEmpty {
            out.append("no violations")
        } else {
            out.append("\(violations.count) violation\(violations.count == 1 ? "" : "s"):")
            for v in violations { out.append("  \(v)") }
        }
        if let whatIf {
            out.append("")
            out.append("what-if for agent \(whatIfAgent ?? "?"): \(whatIf.count) past action\(whatIf.count == 1 ? "" : "s") would have been denied or held")
            for f in whatIf { out.append("  \(f)") }
        }
        return out
    }

    /// The report as one JSON document (`--format json`).
    public func json() throws(AuditError) -> Data {
        struct Doc: Encodable {
            var ok: Bool
            var report: AuditReport
            func encode(to encoder: any Encoder) throws {
                try report.encode(to: encoder)
                enum K: String, CodingKey { case ok }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(ok, forKey: .ok)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(Doc(ok: ok, report: self))
        } catch {
            throw AuditError(.log, "the audit report could not be encoded as JSON", cause: error)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
