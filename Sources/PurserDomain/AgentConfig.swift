import Channels
import Foundation

/// Whether an agent answers at all.
public enum AgentStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Answers messages.
    case active
    /// Temporarily stopped by its owner; makes no LLM calls.
    case paused
    /// Being set up; makes no LLM calls.
    case draft
}

/// How far an agent may act without a human.
public enum AutonomyLevel: String, Sendable, Hashable, Codable, CaseIterable {
    /// The agent drafts; a human approves every send.
    case supervised
    /// The agent acts immediately within the guardrails.
    case autonomous
    /// The agent only creates drafts and never sends.
    case draftOnly = "draft_only"
}

/// The kind of effect a tool call has; `requireApprovalFor` lists the categories a human must
/// approve.
public enum ActionCategory: String, Sendable, Hashable, Codable, CaseIterable {
    case read
    case write
    case message
    case bulkEmail = "bulk_email"
    case deleteContact = "delete_contact"
    case financial
}

/// A frequently asked question and the org's answer to it.
public struct FAQEntry: Sendable, Hashable, Codable {
    public var q: String
    public var a: String

    public init(q: String, a: String) {
        self.q = q
        self.a = a
    }
}

/// A channel the agent serves, and the org's address on it.
public struct ChannelBinding: Sendable, Hashable, Codable {
    public var channel: Channel
    public var enabled: Bool
    /// The org's address on the channel (its WhatsApp number, its support mailbox, its webchat
    /// widget id): what an inbound message's `to` is matched against. Required when enabled.
    public var address: String?

    public init(channel: Channel, enabled: Bool, address: String? = nil) {
        self.channel = channel
        self.enabled = enabled
        self.address = address
    }
}

/// The `customProperties` of an `org_agent`: everything that shapes what the agent says and may
/// do. Field names are the seed's.
public struct AgentProperties: Sendable, Hashable, Codable {
    // Personality and voice
    public var displayName: String
    public var personality: String
    /// BCP-47 tag of the primary language, e.g. `de`.
    public var language: String
    public var additionalLanguages: [String]
    public var brandVoiceInstructions: String

    // Knowledge
    public var systemPrompt: String
    /// Ids of ontology objects (in the agent's org) the agent may cite.
    public var knowledgeDocIds: [String]
    public var faqEntries: [FAQEntry]

    // Tool access
    public var enabledTools: [String]
    /// Beats `enabledTools`.
    public var disabledTools: [String]

    // Autonomy and guardrails
    public var autonomyLevel: AutonomyLevel
    public var maxMessagesPerDay: Int
    /// USD per UTC day.
    public var maxCostPerDay: Double
    public var requireApprovalFor: [ActionCategory]
    public var blockedTopics: [String]

    // Model
    public var modelProvider: String
    public var modelId: String
    public var temperature: Double
    public var maxTokens: Int

    // Channels
    public var channelBindings: [ChannelBinding]

    public init(displayName: String = "", personality: String = "", language: String = Defaults.language,
                additionalLanguages: [String] = [], brandVoiceInstructions: String = "", systemPrompt: String = "",
                knowledgeDocIds: [String] = [], faqEntries: [FAQEntry] = [], enabledTools: [String] = [],
                disabledTools: [String] = [], autonomyLevel: AutonomyLevel = Defaults.autonomyLevel,
                maxMessagesPerDay: Int = Defaults.maxMessagesPerDay, maxCostPerDay: Double = Defaults.maxCostPerDay,
                requireApprovalFor: [ActionCategory] = Defaults.requireApprovalFor, blockedTopics: [String] = [],
                modelProvider: String = Defaults.modelProvider, modelId: String = Defaults.modelId,
                temperature: Double = Defaults.temperature, maxTokens: Int = Defaults.maxTokens,
                channelBindings: [ChannelBinding] = []) {
        self.displayName = displayName
        self.personality = personality
        self.language = language
        self.additionalLanguages = additionalLanguages
        self.brandVoiceInstructions = brandVoiceInstructions
        self.systemPrompt = systemPrompt
        self.knowledgeDocIds = knowledgeDocIds
        self.faqEntries = faqEntries
        self.enabledTools = enabledTools
        self.disabledTools = disabledTools
        self.autonomyLevel = autonomyLevel
        self.maxMessagesPerDay = maxMessagesPerDay
        self.maxCostPerDay = maxCostPerDay
        self.requireApprovalFor = requireApprovalFor
        self.blockedTopics = blockedTopics
        self.modelProvider = modelProvider
        self.modelId = modelId
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.channelBindings = channelBindings
    }

    /// The values a config file may leave out. They lean safe: a human approves sends, the
    /// seed's caps apply, and the risky action categories need approval.
    public enum Defaults {
        public static let language = "en"
        public static let autonomyLevel = AutonomyLevel.supervised
        public static let maxMessagesPerDay = 100
        public static let maxCostPerDay = 5.0
        public static let requireApprovalFor: [ActionCategory] = [.bulkEmail, .deleteContact, .financial]
        public static let modelProvider = "anthropic"
        public static let modelId = "claude-sonnet-4-20250514"
        public static let temperature = 0.7
        public static let maxTokens = 4096
    }

    /// The tools the agent may call: enabled and not disabled, in the order enabled.
    public var allowedTools: [String] {
        let disabled = Set(disabledTools)
        return enabledTools.filter { !disabled.contains($0) }
    }
}

/// An org's agent configuration: the seed's `org_agent` ontology object.
///
/// Build it from the JSON a user writes with `OrgAgentConfig.load(_:tools:routing:)`, which applies the
/// documented defaults, normalizes channel addresses and refuses the config with every problem
/// listed. Its `Codable` form is the full effective config, as recorded in `agent.configured`.
public struct OrgAgentConfig: Sendable, Hashable, Codable {
    /// The object type every agent config has.
    public static let objectType = "org_agent"
    /// The subtype when none is given; also the default agent id.
    public static let defaultSubtype = "primary"

    /// An explicit agent id, when the org wants one that differs from `subtype`.
    public var id: String?
    /// Always `org_agent`.
    public var type: String
    /// The agent's role within the org (`primary`, `sales`, `support`...).
    public var subtype: String
    public var organizationId: OrgID
    /// The display label for people, e.g. "Sailing School Assistant". Not an identifier.
    public var name: String
    public var status: AgentStatus
    public var customProperties: AgentProperties

    public init(id: String? = nil, type: String = OrgAgentConfig.objectType, subtype: String = OrgAgentConfig.defaultSubtype,
                organizationId: OrgID, name: String, status: AgentStatus = .active,
                customProperties: AgentProperties = AgentProperties()) {
        self.id = id
        self.type = type
        self.subtype = subtype
        self.organizationId = organizationId
        self.name = name
        self.status = status
        self.customProperties = customProperties
    }

    /// The agent's id within its org.
    ///
    /// The config's `name` is a label people edit, so it cannot identify the agent. The seed
    /// gives each org one agent per role (`subtype`: "primary", later "sales", "support"...), so
    /// the role is the natural id: `primary` unless the config says otherwise. A config may set
    /// an explicit `id` instead, e.g. to run two agents with the same role. Applying a config with
    /// the same id replaces that agent's config; the id never changes for the agent's lifetime.
    public var agentId: String { id ?? subtype }

    /// The agent within its org.
    public var agentRef: AgentRef { AgentRef(org: organizationId, agentId: agentId) }

    /// The routing-table entries this config claims: each enabled binding's normalized address.
    /// Bindings whose address cannot be normalized are left out (validation reports them).
    public var routes: RoutingTable {
        var table: RoutingTable = [:]
        for binding in customProperties.channelBindings where binding.enabled {
            guard let raw = binding.address,
                  let address = try? AddressNormalizer.address(raw, on: binding.channel) else { continue }
            table[ChannelAddress(channel: binding.channel, address: address)] = agentRef
        }
        return table
    }

    /// This config with every binding address in its normalized form; addresses that cannot be
    /// normalized are left as written.
    public func normalized() -> OrgAgentConfig {
        var copy = self
        copy.customProperties.channelBindings = customProperties.channelBindings.map { binding in
            var binding = binding
            if let raw = binding.address, let address = try? AddressNormalizer.address(raw, on: binding.channel) {
                binding.address = address
            }
            return binding
        }
        return copy
    }
}
