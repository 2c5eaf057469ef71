import Channels
import Foundation

extension OrgAgentConfig {
    /// Reads, completes, validates and normalizes the JSON of an agent config as a user writes it.
    ///
    /// Members left out get the defaults of `AgentProperties.Defaults` (`subtype` "primary",
    /// `status` "active", `displayName` = `name`, `enabled` true on a binding). On success the
    /// returned config has its channel addresses normalized. On failure the error has code
    /// `invalidConfig` and lists every problem found, each with its JSON path, so the user can fix
    /// them all in one go.
    ///
    /// - Parameters:
    ///   - tools: every tool name a config may mention, in the order hints list them: the tool
    ///     catalog's `acceptedNames` (the catalog lives in `Tools`, above this module, so callers
    ///     pass it in).
    ///   - routing: the routing table in force, to refuse an address another agent already
    ///     serves. Entries of this config's own agent are not conflicts, so re-applying a config
    ///     is fine.
    public static func load(_ data: Data, tools: [String], routing: RoutingTable = [:]) throws(DomainError) -> OrgAgentConfig {
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch {
            throw DomainError(.invalidConfig, "the agent configuration is not valid JSON; fix the syntax and apply again",
                              problems: [ValidationProblem(path: "", message: error.message)], cause: error)
        }
        return try load(json, tools: tools, routing: routing)
    }

    /// `load(_:tools:routing:)` for an already parsed JSON document.
    public static func load(_ json: JSONValue, tools: [String], routing: RoutingTable = [:]) throws(DomainError) -> OrgAgentConfig {
        let parsed = read(json)
        let problems = merge(parsed.problems, parsed.config.validate(tools: tools, routing: routing, bindingIndices: parsed.bindingIndices))
        guard problems.isEmpty else {
            let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
            throw DomainError(.invalidConfig, "the agent configuration has \(count); fix them and apply again", problems: problems)
        }
        return parsed.config.normalized()
    }

    /// Reads the JSON of a config, applying defaults, without the semantic checks of `validate`.
    /// Returns the config as far as it could be read and the problems of shape found on the way
    /// (wrong types, unknown members, unknown enum values).
    public static func parse(_ json: JSONValue) -> (config: OrgAgentConfig, problems: [ValidationProblem]) {
        let parsed = read(json)
        return (parsed.config, parsed.problems)
    }

    /// Every semantic problem of this config, each with its JSON path; empty when it is valid.
    ///
    /// - Parameters: `tools` and `routing` as for `load(_:tools:routing:)`.
    public func validate(tools: [String], routing: RoutingTable = [:]) -> [ValidationProblem] {
        validate(tools: tools, routing: routing, bindingIndices: Array(customProperties.channelBindings.indices))
    }

    /// A problem found while reading keeps later checks from reporting the same member again.
    static func merge(_ shape: [ValidationProblem], _ semantic: [ValidationProblem]) -> [ValidationProblem] {
        let covered = shape.map(\.path)
        func isCovered(_ path: String) -> Bool {
            covered.contains { $0.isEmpty || $0 == path || path.hasPrefix($0 + ".") || path.hasPrefix($0 + "[") }
        }
        return shape + semantic.filter { !isCovered($0.path) }
    }
}

// MARK: - Reading

struct ParsedAgentConfig {
    var config: OrgAgentConfig
    var problems: [ValidationProblem]
    /// For each binding in `config`, its index in the source array: bindings with an unknown
    /// channel are left out, and later problems must still name the user's index.
    var bindingIndices: [Int]
}

private struct ConfigReader {
    var problems: [ValidationProblem] = []

    mutating func report(_ path: String, _ message: String) {
        problems.append(ValidationProblem(path: path, message: message))
    }

    static func join(_ base: String, _ key: String) -> String { base.isEmpty ? key : "\(base).\(key)" }

    mutating func checkMembers(_ members: [String: JSONValue], known: [String], ignored: [String] = [], at base: String) {
        for key in members.keys.sorted() where !known.contains(key) && !ignored.contains(key) {
            var message = "unknown member"
            if let suggestion = Self.suggestion(for: key, among: known) { message += "; did you mean \"\(suggestion)\"?" }
            else { message += "; known members here: \(known.joined(separator: ", "))" }
            report(Self.join(base, key), message)
        }
    }

    static func suggestion(for key: String, among known: [String]) -> String? {
        let lowered = key.lowercased()
        if let match = known.first(where: { $0.lowercased() == lowered }) { return match }
        // "data_query" for "data_query_tool": the user left off a suffix or a prefix.
        if lowered.count >= 4, let match = known.first(where: { $0.lowercased().contains(lowered) }) { return match }
        let scored = known.map { ($0, editDistance(lowered, $0.lowercased())) }.filter { $0.1 <= 2 }
        return scored.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    mutating func string(_ members: [String: JSONValue], _ key: String, at base: String, default fallback: String) -> String {
        switch members[key] {
        case nil, .null?: return fallback
        case .string(let value)?: return value
        case let other?:
            report(Self.join(base, key), "must be a string, found \(other.kindName)")
            return fallback
        }
    }

    mutating func optionalString(_ members: [String: JSONValue], _ key: String, at base: String) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        case let other?:
            report(Self.join(base, key), "must be a string, found \(other.kindName)")
            return nil
        }
    }

    /// Wrong-typed elements become "" so later checks still see the user's indices.
    mutating func strings(_ members: [String: JSONValue], _ key: String, at base: String) -> [String] {
        let path = Self.join(base, key)
        switch members[key] {
        case nil, .null?: return []
        case .array(let elements)?:
            return elements.enumerated().map { index, element in
                if case .string(let value) = element { return value }
                report("\(path)[\(index)]", "must be a string, found \(element.kindName)")
                return ""
            }
        case let other?:
            report(path, "must be an array of strings, found \(other.kindName)")
            return []
        }
    }

    mutating func int(_ members: [String: JSONValue], _ key: String, at base: String, default fallback: Int, unit: String) -> Int {
        switch members[key] {
        case nil, .null?: return fallback
        case .number(let value)? where value.rounded() == value && abs(value) <= 1e15: return Int(value)
        case .number(let value)?:
            report(Self.join(base, key), "must be a whole number of \(unit), found \(JSONValue.number(value))")
            return fallback
        case let other?:
            report(Self.join(base, key), "must be a whole number of \(unit), found \(other.kindName)")
            return fallback
        }
    }

    mutating func double(_ members: [String: JSONValue], _ key: String, at base: String, default fallback: Double, what: String) -> Double {
        switch members[key] {
        case nil, .null?: return fallback
        case .number(let value)?: return value
        case let other?:
            report(Self.join(base, key), "must be a number (\(what)), found \(other.kindName)")
            return fallback
        }
    }

    mutating func bool(_ members: [String: JSONValue], _ key: String, at base: String, default fallback: Bool) -> Bool {
        switch members[key] {
        case nil, .null?: return fallback
        case .bool(let value)?: return value
        case let other?:
            report(Self.join(base, key), "must be true or false, found \(other.kindName)")
            return fallback
        }
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ value: JSONValue?, at path: String, what: String) -> E? where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
        switch value {
        case nil, .null?: return nil
        case .string(let text)?:
            if let match = E(rawValue: text) { return match }
            report(path, "unknown \(what) '\(text)'; use one of \(allowed)")
            return nil
        case let other?:
            report(path, "must be one of \(allowed), found \(other.kindName)")
            return nil
        }
    }

    mutating func object(_ value: JSONValue?, at path: String) -> [String: JSONValue]? {
        switch value {
        case nil, .null?: return nil
        case .object(let members)?: return members
        case let other?:
            report(path, "must be an object, found \(other.kindName)")
            return nil
        }
    }
}

private let topLevelMembers = ["id", "type", "subtype", "organizationId", "name", "status", "customProperties"]
/// Ontology bookkeeping a config exported from the seed platform may carry; it means nothing here.
private let ignoredTopLevelMembers = ["createdAt", "updatedAt"]
private let propertyMembers = [
    "displayName", "personality", "language", "additionalLanguages", "brandVoiceInstructions",
    "systemPrompt", "knowledgeDocIds", "faqEntries", "enabledTools", "disabledTools", "autonomyLevel",
    "maxMessagesPerDay", "maxCostPerDay", "requireApprovalFor", "blockedTopics", "modelProvider",
    "modelId", "temperature", "maxTokens", "channelBindings",
]

extension OrgAgentConfig {
    static func read(_ json: JSONValue) -> ParsedAgentConfig {
        var reader = ConfigReader()
        guard case .object(let top) = json else {
            reader.report("", "an agent configuration must be a JSON object (the org_agent object), found \(json.kindName)")
            return ParsedAgentConfig(config: OrgAgentConfig(organizationId: "", name: ""), problems: reader.problems, bindingIndices: [])
        }
        reader.checkMembers(top, known: topLevelMembers, ignored: ignoredTopLevelMembers, at: "")
        let id = reader.optionalString(top, "id", at: "")
        let type = reader.string(top, "type", at: "", default: objectType)
        let subtype = reader.string(top, "subtype", at: "", default: defaultSubtype)
        let organizationId = reader.string(top, "organizationId", at: "", default: "")
        let name = reader.string(top, "name", at: "", default: "")
        let status: AgentStatus = reader.choice(top["status"], at: "status", what: "status") ?? .active

        let base = "customProperties"
        let members = reader.object(top[base], at: base) ?? [:]
        reader.checkMembers(members, known: propertyMembers, at: base)
        typealias D = AgentProperties.Defaults
        var properties = AgentProperties()
        properties.displayName = reader.string(members, "displayName", at: base, default: name)
        properties.personality = reader.string(members, "personality", at: base, default: "")
        properties.language = reader.string(members, "language", at: base, default: D.language)
        properties.additionalLanguages = reader.strings(members, "additionalLanguages", at: base)
        properties.brandVoiceInstructions = reader.string(members, "brandVoiceInstructions", at: base, default: "")
        properties.systemPrompt = reader.string(members, "systemPrompt", at: base, default: "")
        properties.knowledgeDocIds = reader.strings(members, "knowledgeDocIds", at: base)
        properties.enabledTools = reader.strings(members, "enabledTools", at: base)
        properties.disabledTools = reader.strings(members, "disabledTools", at: base)
        properties.autonomyLevel = reader.choice(members["autonomyLevel"], at: "\(base).autonomyLevel", what: "autonomy level") ?? D.autonomyLevel
        properties.maxMessagesPerDay = reader.int(members, "maxMessagesPerDay", at: base, default: D.maxMessagesPerDay, unit: "messages")
        properties.maxCostPerDay = reader.double(members, "maxCostPerDay", at: base, default: D.maxCostPerDay, what: "USD per day")
        properties.blockedTopics = reader.strings(members, "blockedTopics", at: base)
        properties.modelProvider = reader.string(members, "modelProvider", at: base, default: D.modelProvider)
        properties.modelId = reader.string(members, "modelId", at: base, default: D.modelId)
        properties.temperature = reader.double(members, "temperature", at: base, default: D.temperature, what: "0 to 2")
        properties.maxTokens = reader.int(members, "maxTokens", at: base, default: D.maxTokens, unit: "tokens")

        switch members["requireApprovalFor"] {
        case nil, .null?: break
        case .array(let elements)?:
            properties.requireApprovalFor = elements.enumerated().compactMap { index, element in
                reader.choice(element, at: "\(base).requireApprovalFor[\(index)]", what: "action category")
            }
        case let other?:
            reader.report("\(base).requireApprovalFor", "must be an array of action categories (\(ActionCategory.allCases.map(\.rawValue).joined(separator: ", "))), found \(other.kindName)")
        }

        switch members["faqEntries"] {
        case nil, .null?: break
        case .array(let elements)?:
            properties.faqEntries = elements.enumerated().map { index, element in
                let path = "\(base).faqEntries[\(index)]"
                guard let entry = reader.object(element, at: path) else {
                    if element.isNull { reader.report(path, "must be an object {\"q\": question, \"a\": answer}, found null") }
                    return FAQEntry(q: "", a: "")
                }
                reader.checkMembers(entry, known: ["q", "a"], at: path)
                return FAQEntry(q: reader.string(entry, "q", at: path, default: ""), a: reader.string(entry, "a", at: path, default: ""))
            }
        case let other?:
            reader.report("\(base).faqEntries", "must be an array of {\"q\", \"a\"} objects, found \(other.kindName)")
        }

        var bindingIndices: [Int] = []
        switch members["channelBindings"] {
        case nil, .null?: break
        case .array(let elements)?:
            for (index, element) in elements.enumerated() {
                let path = "\(base).channelBindings[\(index)]"
                guard let binding = reader.object(element, at: path) else {
                    if element.isNull { reader.report(path, "must be an object {\"channel\", \"enabled\", \"address\"}, found null") }
                    continue
                }
                reader.checkMembers(binding, known: ["channel", "enabled", "address"], at: path)
                let enabled = reader.bool(binding, "enabled", at: path, default: true)
                let address = reader.optionalString(binding, "address", at: path)
                guard let channelValue = binding["channel"], !channelValue.isNull else {
                    reader.report("\(path).channel", "is missing; use one of \(Channel.allNames)")
                    continue
                }
                guard let channel: Channel = reader.choice(channelValue, at: "\(path).channel", what: "channel") else { continue }
                properties.channelBindings.append(ChannelBinding(channel: channel, enabled: enabled, address: address))
                bindingIndices.append(index)
            }
        case let other?:
            reader.report("\(base).channelBindings", "must be an array of {\"channel\", \"enabled\", \"address\"} objects, found \(other.kindName)")
        }

        let config = OrgAgentConfig(id: id, type: type, subtype: subtype, organizationId: organizationId, name: name,
                                    status: status, customProperties: properties)
        return ParsedAgentConfig(config: config, problems: reader.problems, bindingIndices: bindingIndices)
    }
}

// MARK: - Validation

extension OrgAgentConfig {
    /// Letters, digits, `.`, `_`, `-`; starting with a letter or digit; at most 64 characters.
    /// Ids appear in stream names, file names and URLs, so they stay plain.
    static func isPlainIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 64,
              ("0"..."9").contains(first) || ("a"..."z").contains(first) || ("A"..."Z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "." || scalar == "_" || scalar == "-"
        }
    }

    /// A BCP-47-like tag: a 2–3 letter language, then optional subtags of 2–8 letters or digits
    /// (`de`, `en`, `de-DE`, `zh-Hant-TW`).
    public static func isLanguageCode(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let language = parts.first, (2...3).contains(language.count),
              language.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) }) else { return false }
        return parts.dropFirst().allSatisfy { part in
            (2...8).contains(part.count) && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        }
    }

    func validate(tools: [String], routing: RoutingTable, bindingIndices: [Int]) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        func report(_ path: String, _ message: String) { problems.append(ValidationProblem(path: path, message: message)) }
        let p = customProperties
        let base = "customProperties"

        if name.trimmingCharacters(in: .whitespaces).isEmpty {
            report("name", "is missing; give the agent a name people will see, e.g. \"Sailing School Assistant\"")
        }
        if organizationId.trimmingCharacters(in: .whitespaces).isEmpty {
            report("organizationId", "is missing; name the org this agent belongs to, e.g. \"haff\"")
        } else if !OrgIDGrammar.isValid(organizationId) {
            report("organizationId", "'\(organizationId)' is not an org id; use 1-\(OrgIDGrammar.bytesMax) letters, digits, '.', '_' or '-', starting with a letter or digit")
        } else {
            do {
                try OrgIDGrammar.refuseCaseVariant(organizationId, of: Set(routing.values.map(\.org)))
            } catch {
                report("organizationId", error.message)
            }
        }
        if type != Self.objectType {
            report("type", "must be \"\(Self.objectType)\", found \"\(type)\"")
        }
        if !Self.isPlainIdentifier(subtype) {
            report("subtype", "'\(subtype)' is not a plain id; use letters, digits, '.', '_' or '-', e.g. \"primary\" or \"support\"")
        }
        if let id, !Self.isPlainIdentifier(id) {
            report("id", "'\(id)' is not a plain id; use letters, digits, '.', '_' or '-' (at most 64), or leave it out to use the subtype")
        }

        let languageHint = "use a BCP-47 language tag such as de, en or de-DE"
        if !Self.isLanguageCode(p.language) {
            report("\(base).language", "'\(p.language)' is not a language code; \(languageHint)")
        }
        for (index, language) in p.additionalLanguages.enumerated() where !Self.isLanguageCode(language) {
            report("\(base).additionalLanguages[\(index)]", "'\(language)' is not a language code; \(languageHint)")
        }

        for (index, id) in p.knowledgeDocIds.enumerated() where id.trimmingCharacters(in: .whitespaces).isEmpty {
            report("\(base).knowledgeDocIds[\(index)]", "is empty; give the id of a knowledge document object of this org")
        }
        for (index, entry) in p.faqEntries.enumerated() {
            if entry.q.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                report("\(base).faqEntries[\(index)].q", "is empty; write the question as customers ask it")
            }
            if entry.a.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                report("\(base).faqEntries[\(index)].a", "is empty; write the answer the agent should give")
            }
        }

        let known = Set(tools)
        let toolHint = "known tools: \(tools.joined(separator: ", "))"
        for (key, listed) in [("enabledTools", p.enabledTools), ("disabledTools", p.disabledTools)] {
            for (index, tool) in listed.enumerated() where !known.contains(tool) {
                var message = "unknown tool '\(tool)'"
                if let suggestion = ConfigReader.suggestion(for: tool, among: tools) { message += "; did you mean '\(suggestion)'?" }
                report("\(base).\(key)[\(index)]", "\(message) (\(toolHint))")
            }
        }
        let disabled = Set(p.disabledTools)
        for (index, tool) in p.enabledTools.enumerated() where disabled.contains(tool) && known.contains(tool) {
            report("\(base).enabledTools[\(index)]", "'\(tool)' is both enabled and disabled; disabled wins, so remove it from one of the two lists")
        }

        if p.maxMessagesPerDay <= 0 {
            report("\(base).maxMessagesPerDay", "must be greater than 0, found \(p.maxMessagesPerDay); it caps the messages the agent handles per UTC day (pause the agent to stop it)")
        }
        if !p.maxCostPerDay.isFinite || p.maxCostPerDay <= 0 {
            report("\(base).maxCostPerDay", "must be a positive amount of USD per day, found \(p.maxCostPerDay) (pause the agent to stop it)")
        }
        for (index, topic) in p.blockedTopics.enumerated() where topic.trimmingCharacters(in: .whitespaces).isEmpty {
            report("\(base).blockedTopics[\(index)]", "is empty; name a topic such as \"legal advice\" or remove the entry")
        }

        if p.modelProvider.trimmingCharacters(in: .whitespaces).isEmpty {
            report("\(base).modelProvider", "is empty; name the provider, e.g. \"anthropic\" or \"openai\"")
        }
        if p.modelId.trimmingCharacters(in: .whitespaces).isEmpty {
            report("\(base).modelId", "is empty; name the model, e.g. \"claude-sonnet-4-20250514\"")
        }
        if !p.temperature.isFinite || p.temperature < 0 || p.temperature > 2 {
            report("\(base).temperature", "must be between 0 and 2, found \(p.temperature)")
        }
        if p.maxTokens <= 0 {
            report("\(base).maxTokens", "must be greater than 0, found \(p.maxTokens); it caps the length of each reply")
        }

        problems += validateBindings(routing: routing, bindingIndices: bindingIndices)
        return problems
    }

    private func validateBindings(routing: RoutingTable, bindingIndices: [Int]) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        var seen: [String: Int] = [:]
        let me = agentRef
        for (position, binding) in customProperties.channelBindings.enumerated() {
            let index = position < bindingIndices.count ? bindingIndices[position] : position
            let path = "customProperties.channelBindings[\(index)]"
            var normalized: String?
            if let raw = binding.address {
                do {
                    normalized = try AddressNormalizer.address(raw, on: binding.channel)
                } catch {
                    problems.append(ValidationProblem(path: "\(path).address", message: error.message))
                }
            } else if binding.enabled {
                problems.append(ValidationProblem(path: "\(path).address", message: "is missing; an enabled \(binding.channel) binding needs the org's address on it (what inbound messages are sent to), or set \"enabled\": false"))
            }
            let key = "\(binding.channel.rawValue)|\(normalized ?? binding.address ?? "")"
            if let first = seen[key] {
                let what = binding.address == nil ? "a \(binding.channel) binding without address" : "\(binding.channel) address \(normalized ?? binding.address ?? "")"
                problems.append(ValidationProblem(path: path, message: "duplicates channelBindings[\(first)] (\(what)); keep one of them"))
            } else {
                seen[key] = index
            }
            guard binding.enabled, let normalized, let owner = routing[ChannelAddress(channel: binding.channel, address: normalized)], owner != me else { continue }
            let message = owner.org == organizationId
                ? "\(binding.channel) address \(normalized) is already served by this org's agent '\(owner.agentId)'; remove it there first or use another address"
                : "\(binding.channel) address \(normalized) is already bound to another organization's agent; use an address of your own"
            problems.append(ValidationProblem(path: "\(path).address", message: message))
        }
        return problems
    }
}
