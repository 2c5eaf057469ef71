import Foundation
import PurserDomain

/// The rule that decided a tool call, by a stable name `purser policy explain` prints.
public enum PolicyRule: String, Sendable, Hashable, CaseIterable {
    /// The tool catalog has no such tool (or names it as not implemented).
    case unknownTool = "unknown_tool"
    /// The tool is in `disabledTools` (which beats `enabledTools`).
    case disabledTools = "disabled_tools"
    /// The tool is not in `enabledTools`.
    case notEnabled = "not_enabled"
    /// `draft_only` never sends: `message` and `bulk_email` calls are refused.
    case draftOnlyNeverSends = "autonomy.draft_only.never_sends"
    /// `draft_only`: other effects (writes, deletes, payments) wait for a human as drafts.
    case draftOnlyDrafts = "autonomy.draft_only.drafts"
    /// The call's category is in `requireApprovalFor`.
    case requireApprovalFor = "require_approval_for"
    /// `supervised`: anything that sends or writes waits for a human.
    case supervised = "autonomy.supervised"
    /// Reads never need approval.
    case readAllowed = "read_allowed"
    /// `autonomous`: acts within the guardrails.
    case autonomous = "autonomy.autonomous"
}

/// The outcome for one tool call.
public enum PolicyDecision: Sendable, Hashable {
    case allow(rule: PolicyRule)
    case deny(reason: String, rule: PolicyRule)
    case needsApproval(reason: String, rule: PolicyRule)

    public var rule: PolicyRule {
        switch self {
        case .allow(let rule), .deny(_, let rule), .needsApproval(_, let rule): rule
        }
    }

    public var isAllowed: Bool { if case .allow = self { true } else { false } }
}

/// The tool policy (docs/ARCHITECTURE.md, "The pipeline"), as a pure function of the config in force
/// and the call, so an audit can re-run it on recorded events and get the same answer. The
/// categories come from the tool catalog.
///
/// Rules in order, first match decides:
/// 1. unknown tool → deny;
/// 2. in `disabledTools` → deny (disabled beats enabled);
/// 3. not in `enabledTools` → deny;
/// 4. `read` calls → allow at every autonomy level (a read changes nothing; `requireApprovalFor`
///    may still list `read`, and then rule 6 applies first — see below);
/// 5. `draft_only`: `message`/`bulk_email` → deny (the pipeline keeps the reply as a draft);
///    any other effect → needs approval;
/// 6. category in `requireApprovalFor` → needs approval;
/// 7. `supervised` → needs approval (it sends and writes nothing on its own);
/// 8. `autonomous` → allow.
///
/// Rule 6 is checked before rule 4 for reads, so an org that lists `read` in
/// `requireApprovalFor` gets what it asked for.
public enum ToolPolicy {
    public static func decide(config: OrgAgentConfig, tool: String, arguments: JSONValue, catalog: ToolCatalog = .standard) -> PolicyDecision {
        let properties = config.customProperties
        guard let category = catalog.category(of: tool, arguments: arguments) else {
            return .deny(reason: "no tool named '\(tool)'", rule: .unknownTool)
        }
        if properties.disabledTools.contains(tool) {
            return .deny(reason: "\(tool) is in disabledTools", rule: .disabledTools)
        }
        if !properties.enabledTools.contains(tool) {
            return .deny(reason: "\(tool) is not in enabledTools", rule: .notEnabled)
        }
        let approvalListed = properties.requireApprovalFor.contains(category)
        if category == .read {
            return approvalListed
                ? .needsApproval(reason: "requireApprovalFor lists read", rule: .requireApprovalFor)
                : .allow(rule: .readAllowed)
        }
        if properties.autonomyLevel == .draftOnly {
            if category == .message || category == .bulkEmail {
                return .deny(reason: "autonomy draft_only never sends (\(category.rawValue)); the reply is kept as a draft", rule: .draftOnlyNeverSends)
            }
            return .needsApproval(reason: "autonomy draft_only: the \(category.rawValue) action is drafted for a human to approve", rule: .draftOnlyDrafts)
        }
        if approvalListed {
            return .needsApproval(reason: "requireApprovalFor lists \(category.rawValue)", rule: .requireApprovalFor)
        }
        if properties.autonomyLevel == .supervised {
            return .needsApproval(reason: "autonomy supervised: a human approves every \(category.rawValue) action", rule: .supervised)
        }
        return .allow(rule: .autonomous)
    }
}
