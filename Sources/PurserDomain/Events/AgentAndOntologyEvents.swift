import Foundation

/// A config was applied to an agent. Holds the full effective config, so the log keeps every
/// version that was in force and an audit can re-derive the policy at any moment.
public struct AgentConfigured: EventPayload {
    public static let type = "agent.configured"
    public static let version = 1

    public var agentId: String
    /// 1 for the agent's first config, one more for each config applied after it.
    public var revision: Int
    public var config: OrgAgentConfig

    public init(agentId: String, revision: Int, config: OrgAgentConfig) {
        self.agentId = agentId
        self.revision = revision
        self.config = config
    }
}

/// An agent was paused, resumed or otherwise changed status without a new config.
public struct AgentStatusChanged: EventPayload {
    public static let type = "agent.status_changed"
    public static let version = 1

    public var agentId: String
    public var from: AgentStatus
    public var to: AgentStatus
    public var reason: String?

    public init(agentId: String, from: AgentStatus, to: AgentStatus, reason: String? = nil) {
        self.agentId = agentId
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// An ontology object came into existence in the envelope's org.
public struct ObjectCreated: EventPayload {
    public static let type = "object.created"
    public static let version = 1

    public var object: OntologyObject

    public init(object: OntologyObject) {
        self.object = object
    }
}

/// An ontology object changed. Carries the whole new state, so a read model upserts it without
/// reading the old one.
public struct ObjectUpdated: EventPayload {
    public static let type = "object.updated"
    public static let version = 1

    public var object: OntologyObject
    /// Query-field names that changed (`status`, `customProperties.phone`...), for the
    /// activity log.
    public var changedFields: [String]

    public init(object: OntologyObject, changedFields: [String] = []) {
        self.object = object
        self.changedFields = changedFields
    }
}

/// An ontology object was removed; its links go with it.
public struct ObjectDeleted: EventPayload {
    public static let type = "object.deleted"
    public static let version = 1

    public var id: String
    public var objectType: String
    public var reason: String?

    public init(id: String, objectType: String, reason: String? = nil) {
        self.id = id
        self.objectType = objectType
        self.reason = reason
    }
}

/// A link between two objects of the envelope's org was added.
public struct LinkCreated: EventPayload {
    public static let type = "link.created"
    public static let version = 1

    public var link: ObjectLink

    public init(link: ObjectLink) {
        self.link = link
    }
}

/// A link was removed.
public struct LinkDeleted: EventPayload {
    public static let type = "link.deleted"
    public static let version = 1

    public var link: ObjectLink

    public init(link: ObjectLink) {
        self.link = link
    }
}
