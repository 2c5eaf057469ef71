import Foundation
import GRDB
import PurserDomain
import Testing
@testable import Tools

/// The policy table: every autonomy level × category, and the tool-list rules before it.
@Suite struct PolicyTests {
    static let registry = ToolRegistry.standard(crm: try! DatabaseQueue())

    /// A call of each category.
    static let calls: [(ActionCategory, String, JSONValue)] = [
        (.read, ToolDefinition.dataQuery.name, ["objectType": "booking"]),
        (.write, ToolDefinition.crm.name, ["action": "update", "contactId": "c_1", "name": "Lisa"]),
        (.message, ToolDefinition.sendMessage.name, ["text": "Hello"]),
        (.bulkEmail, ToolDefinition.bulkCRMEmail.name, ["segment": ["objectType": "crm_contact"], "subject": "Hi", "body": "News"]),
        (.deleteContact, ToolDefinition.crm.name, ["action": "delete", "contactId": "c_1"]),
        (.financial, ToolDefinition.booking.name, ["action": "create", "resourceId": "boat", "from": "2026-12-01T10:00:00Z", "to": "2026-12-01T12:00:00Z", "price": 90]),
    ]

    static func config(_ autonomy: AutonomyLevel, approval: [ActionCategory] = [], enabled: [String] = ToolCatalog.standard.names,
                       disabled: [String] = []) -> OrgAgentConfig {
        OrgAgentConfig(organizationId: "org_a", name: "Agent", customProperties: AgentProperties(
            enabledTools: enabled, disabledTools: disabled, autonomyLevel: autonomy, requireApprovalFor: approval))
    }

    enum Expected: Equatable { case allow, deny, approval }

    static func kind(_ decision: PolicyDecision) -> Expected {
        switch decision {
        case .allow: .allow
        case .deny: .deny
        case .needsApproval: .approval
        }
    }

    /// The documented table with an empty `requireApprovalFor`.
    static let table: [AutonomyLevel: [ActionCategory: (Expected, PolicyRule)]] = [
        .autonomous: [.read: (.allow, .readAllowed), .write: (.allow, .autonomous), .message: (.allow, .autonomous),
                      .bulkEmail: (.allow, .autonomous), .deleteContact: (.allow, .autonomous), .financial: (.allow, .autonomous)],
        .supervised: [.read: (.allow, .readAllowed), .write: (.approval, .supervised), .message: (.approval, .supervised),
                      .bulkEmail: (.approval, .supervised), .deleteContact: (.approval, .supervised), .financial: (.approval, .supervised)],
        .draftOnly: [.read: (.allow, .readAllowed), .write: (.approval, .draftOnlyDrafts), .message: (.deny, .draftOnlyNeverSends),
                     .bulkEmail: (.deny, .draftOnlyNeverSends), .deleteContact: (.approval, .draftOnlyDrafts),
                     .financial: (.approval, .draftOnlyDrafts)],
    ]

    @Test(arguments: AutonomyLevel.allCases)
    func tableWithoutApprovalList(autonomy: AutonomyLevel) {
        for (category, tool, arguments) in Self.calls {
            #expect(Self.registry.category(of: tool, arguments: arguments) == category)
            let decision = ToolPolicy.decide(config: Self.config(autonomy), tool: tool, arguments: arguments, catalog: Self.registry.catalog)
            let expected = Self.table[autonomy]![category]!
            #expect(Self.kind(decision) == expected.0, "\(autonomy) \(category)")
            #expect(decision.rule == expected.1, "\(autonomy) \(category)")
        }
    }

    @Test(arguments: AutonomyLevel.allCases, ActionCategory.allCases)
    func approvalListApplies(autonomy: AutonomyLevel, listed: ActionCategory) {
        for (category, tool, arguments) in Self.calls {
            let decision = ToolPolicy.decide(config: Self.config(autonomy, approval: [listed]), tool: tool, arguments: arguments, catalog: Self.registry.catalog)
            let base = Self.table[autonomy]![category]!
            if category == listed, base.0 != .deny {
                #expect(Self.kind(decision) == .approval, "\(autonomy) \(category) listed")
                if base.1 != .draftOnlyDrafts { #expect(decision.rule == .requireApprovalFor) }
            } else {
                #expect(Self.kind(decision) == base.0 && decision.rule == base.1, "\(autonomy) \(category) with \(listed) listed")
            }
        }
    }

    @Test func disabledBeatsEnabledAndUnlistedIsDenied() {
        let args: JSONValue = ["objectType": "booking"]
        let both = Self.config(.autonomous, enabled: [ToolDefinition.dataQuery.name], disabled: [ToolDefinition.dataQuery.name])
        #expect(ToolPolicy.decide(config: both, tool: ToolDefinition.dataQuery.name, arguments: args, catalog: Self.registry.catalog).rule == .disabledTools)
        let none = Self.config(.autonomous, enabled: [ToolDefinition.crm.name])
        #expect(ToolPolicy.decide(config: none, tool: ToolDefinition.dataQuery.name, arguments: args, catalog: Self.registry.catalog).rule == .notEnabled)
        let unknown = ToolPolicy.decide(config: Self.config(.autonomous, enabled: ["drop_tables_tool"]), tool: "drop_tables_tool",
                                        arguments: .emptyObject, catalog: Self.registry.catalog)
        #expect(unknown.rule == .unknownTool && !unknown.isAllowed)
    }

    @Test func categoriesDependOnArguments() {
        #expect(CRMExecutor.category(["action": "find"]) == .read)
        #expect(CRMExecutor.category(["action": "create"]) == .write)
        #expect(CRMExecutor.category(["action": "delete"]) == .deleteContact)
        #expect(CRMExecutor.category(["action": "obliterate"]) == .deleteContact)
        #expect(BookingExecutor.category(["action": "create"]) == .write)
        #expect(BookingExecutor.category(["action": "create", "price": 0]) == .write)
        #expect(BookingExecutor.category(["action": "create", "price": 0.01]) == .financial)
        #expect(BookingExecutor.category(["action": "create", "price": "90"]) == .financial)
        #expect(BookingExecutor.category(["action": "availability"]) == .read)
        #expect(BookingExecutor.category(["action": "cancel"]) == .write)
    }
}
