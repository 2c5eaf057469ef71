import Foundation
import Testing
@testable import PurserDomain

/// One way to break the seed config, and the problem it must produce.
struct ConfigCase: Sendable, CustomTestStringConvertible {
    let name: String
    let path: String
    let fragment: String
    let edit: @Sendable (inout JSONValue) -> Void

    init(_ name: String, path: String, _ fragment: String, edit: @escaping @Sendable (inout JSONValue) -> Void) {
        self.name = name
        self.path = path
        self.fragment = fragment
        self.edit = edit
    }

    var testDescription: String { name }
}

private func setProperty(_ key: String, _ value: JSONValue?) -> @Sendable (inout JSONValue) -> Void {
    { $0.set(["customProperties", key], value) }
}

private func bindings(_ list: JSONValue...) -> @Sendable (inout JSONValue) -> Void {
    setProperty("channelBindings", .array(list))
}

@Suite("org_agent configuration")
struct AgentConfigTests {
    static let cases: [ConfigCase] = [
        ConfigCase("unknown tool name", path: "customProperties.enabledTools[1]", "unknown tool 'data_query'; did you mean 'data_query_tool'?",
                   edit: setProperty("enabledTools", ["crm_tool", "data_query"])),
        ConfigCase("unknown disabled tool", path: "customProperties.disabledTools[0]", "unknown tool 'rm_rf_tool'",
                   edit: setProperty("disabledTools", ["rm_rf_tool"])),
        ConfigCase("tool enabled and disabled", path: "customProperties.enabledTools[1]", "both enabled and disabled",
                   edit: setProperty("enabledTools", ["crm_tool", "bulk_crm_email_tool"])),
        ConfigCase("zero messages per day", path: "customProperties.maxMessagesPerDay", "must be greater than 0",
                   edit: setProperty("maxMessagesPerDay", 0)),
        ConfigCase("negative messages per day", path: "customProperties.maxMessagesPerDay", "must be greater than 0",
                   edit: setProperty("maxMessagesPerDay", -5)),
        ConfigCase("fractional messages per day", path: "customProperties.maxMessagesPerDay", "whole number",
                   edit: setProperty("maxMessagesPerDay", 2.5)),
        ConfigCase("zero cost per day", path: "customProperties.maxCostPerDay", "positive amount of USD",
                   edit: setProperty("maxCostPerDay", 0)),
        ConfigCase("cost as a string", path: "customProperties.maxCostPerDay", "must be a number (USD per day), found string",
                   edit: setProperty("maxCostPerDay", "5.00")),
        ConfigCase("unknown autonomy level", path: "customProperties.autonomyLevel", "unknown autonomy level 'yolo'; use one of supervised, autonomous, draft_only",
                   edit: setProperty("autonomyLevel", "yolo")),
        ConfigCase("unknown status", path: "status", "unknown status 'sleeping'; use one of active, paused, draft",
                   edit: { $0.set(["status"], "sleeping") }),
        ConfigCase("bad language code", path: "customProperties.language", "'german' is not a language code; use a BCP-47 language tag such as de, en or de-DE",
                   edit: setProperty("language", "german")),
        ConfigCase("bad additional language", path: "customProperties.additionalLanguages[1]", "'e' is not a language code",
                   edit: setProperty("additionalLanguages", ["en", "e"])),
        ConfigCase("region with underscore", path: "customProperties.language", "not a language code",
                   edit: setProperty("language", "de_DE")),
        ConfigCase("unknown channel", path: "customProperties.channelBindings[1].channel", "unknown channel 'telegram'; use one of whatsapp, email, webchat, sms, instagram_dm",
                   edit: bindings(["channel": "whatsapp", "enabled": true, "address": "+4939771234567"], ["channel": "telegram", "enabled": true, "address": "@haff"])),
        ConfigCase("binding without channel", path: "customProperties.channelBindings[0].channel", "is missing",
                   edit: bindings(["enabled": true, "address": "+4939771234567"])),
        ConfigCase("unknown approval category", path: "customProperties.requireApprovalFor[1]", "unknown action category 'refunds'; use one of read, write, message, bulk_email, delete_contact, financial",
                   edit: setProperty("requireApprovalFor", ["financial", "refunds"])),
        ConfigCase("temperature above 2", path: "customProperties.temperature", "must be between 0 and 2, found 2.5",
                   edit: setProperty("temperature", 2.5)),
        ConfigCase("negative temperature", path: "customProperties.temperature", "must be between 0 and 2",
                   edit: setProperty("temperature", -0.1)),
        ConfigCase("zero max tokens", path: "customProperties.maxTokens", "must be greater than 0",
                   edit: setProperty("maxTokens", 0)),
        ConfigCase("enabled binding without address", path: "customProperties.channelBindings[0].address", "an enabled whatsapp binding needs the org's address",
                   edit: bindings(["channel": "whatsapp", "enabled": true])),
        ConfigCase("duplicate bindings", path: "customProperties.channelBindings[1]", "duplicates channelBindings[0]",
                   edit: bindings(["channel": "whatsapp", "enabled": true, "address": "+49 3977 1234567"], ["channel": "whatsapp", "enabled": false, "address": "0049-3977-1234567"])),
        ConfigCase("duplicate bindings without address", path: "customProperties.channelBindings[2]", "duplicates channelBindings[1]",
                   edit: bindings(["channel": "email", "enabled": true, "address": "info@haff.de"], ["channel": "sms", "enabled": false], ["channel": "sms", "enabled": false])),
        ConfigCase("unnormalizable phone address", path: "customProperties.channelBindings[0].address", "national number",
                   edit: bindings(["channel": "whatsapp", "enabled": true, "address": "03977 1234567"])),
        ConfigCase("bad email address", path: "customProperties.channelBindings[0].address", "not an email address",
                   edit: bindings(["channel": "email", "enabled": true, "address": "info at haff"])),
        ConfigCase("missing name", path: "name", "is missing; give the agent a name",
                   edit: { $0.set(["name"], nil) }),
        ConfigCase("blank name", path: "name", "is missing",
                   edit: { $0.set(["name"], "  ") }),
        ConfigCase("missing organizationId", path: "organizationId", "is missing; name the org",
                   edit: { $0.set(["organizationId"], nil) }),
        ConfigCase("organizationId with spaces", path: "organizationId", "not an org id",
                   edit: { $0.set(["organizationId"], "Segelschule Haff") }),
        ConfigCase("wrong object type", path: "type", "must be \"org_agent\"",
                   edit: { $0.set(["type"], "crm_contact") }),
        ConfigCase("bad explicit id", path: "id", "not a plain id",
                   edit: { $0.set(["id"], "primary agent") }),
        ConfigCase("misspelled member", path: "customProperties.maxCostPerday", "unknown member; did you mean \"maxCostPerDay\"?",
                   edit: setProperty("maxCostPerday", 3)),
        ConfigCase("unknown top-level member", path: "organisation", "unknown member",
                   edit: { $0.set(["organisation"], "haff") }),
        ConfigCase("empty FAQ answer", path: "customProperties.faqEntries[0].a", "is empty; write the answer",
                   edit: setProperty("faqEntries", [["q": "Wo?", "a": ""]])),
        ConfigCase("FAQ entry that is a string", path: "customProperties.faqEntries[0]", "must be an object",
                   edit: setProperty("faqEntries", ["Wo finde ich euch?"])),
        ConfigCase("tools not an array", path: "customProperties.enabledTools", "must be an array of strings, found string",
                   edit: setProperty("enabledTools", "crm_tool")),
        ConfigCase("tool name not a string", path: "customProperties.enabledTools[0]", "must be a string, found number",
                   edit: setProperty("enabledTools", [7])),
        ConfigCase("empty model id", path: "customProperties.modelId", "is empty",
                   edit: setProperty("modelId", "")),
        ConfigCase("empty blocked topic", path: "customProperties.blockedTopics[1]", "is empty",
                   edit: setProperty("blockedTopics", ["legal advice", " "])),
        ConfigCase("customProperties not an object", path: "customProperties", "must be an object, found array",
                   edit: { $0.set(["customProperties"], []) }),
        ConfigCase("enabled flag as a string", path: "customProperties.channelBindings[0].enabled", "must be true or false",
                   edit: bindings(["channel": "webchat", "enabled": "yes", "address": "w"])),
    ]

    @Test("the seed's sailing-school config validates clean")
    func seedValidates() throws {
        let config = try Fixtures.sailingSchool
        #expect(config.validate(tools: Fixtures.toolNames).isEmpty)
        #expect(config.agentId == "primary")
        #expect(config.agentRef == AgentRef(org: "haff", agentId: "primary"))
        #expect(config.status == .active)
        let p = config.customProperties
        #expect(p.language == "de")
        #expect(p.additionalLanguages == ["en"])
        #expect(p.faqEntries.count == 2)
        #expect(p.autonomyLevel == .supervised)
        #expect(p.maxMessagesPerDay == 100)
        #expect(p.maxCostPerDay == 5.0)
        #expect(p.requireApprovalFor == [.bulkEmail, .deleteContact, .financial])
        #expect(p.temperature == 0.7)
        #expect(p.allowedTools == ["crm_tool", "booking_tool", "sequences_tool", "data_query_tool"])
        // Addresses come back normalized.
        #expect(p.channelBindings.map(\.address) == ["+4939771234567", "info@segelschule-haff.de", "haff-web", nil])
        #expect(config.routes == [
            ChannelAddress(channel: .whatsapp, address: "+4939771234567"): config.agentRef,
            ChannelAddress(channel: .email, address: "info@segelschule-haff.de"): config.agentRef,
            ChannelAddress(channel: .webchat, address: "haff-web"): config.agentRef,
        ])
        // Re-applying over its own routes is not a conflict.
        #expect(try OrgAgentConfig.load(Fixtures.sailingSchoolJSON, tools: Fixtures.toolNames, routing: config.routes) == config)
        // The Codable form (as in agent.configured) round-trips.
        #expect(try JSONDecoder().decode(OrgAgentConfig.self, from: JSONEncoder().encode(config)) == config)
    }

    @Test("each problem is reported at its path", arguments: cases)
    func problem(_ testCase: ConfigCase) throws {
        var json = try Fixtures.sailingSchoolJSON
        testCase.edit(&json)
        let error = #expect(throws: DomainError.self) { try OrgAgentConfig.load(json, tools: Fixtures.toolNames) }
        #expect(error?.code == .invalidConfig)
        let problems = error?.problems ?? []
        let atPath = problems.filter { $0.path == testCase.path }
        #expect(atPath.count == 1, "problems: \(problems)")
        #expect(atPath.first?.message.contains(testCase.fragment) == true, "problems: \(problems)")
    }

    @Test("non-finite caps and temperature are refused", arguments: [Double.infinity, -.infinity, .nan])
    func nonFinite(value: Double) throws {
        var config = try Fixtures.sailingSchool
        config.customProperties.maxCostPerDay = value
        config.customProperties.temperature = value
        let paths = config.validate(tools: Fixtures.toolNames).map(\.path)
        #expect(paths == ["customProperties.maxCostPerDay", "customProperties.temperature"])
    }

    @Test("a config with many problems reports all of them at once")
    func manyProblems() throws {
        let text = #"""
        {"type": "org_agent", "name": "", "status": "on",
         "customProperties": {
           "language": "Deutsch", "additionalLanguages": ["en", "english"],
           "enabledTools": ["crm_tool", "booking_tool", "magic_tool", "handoff_tool"],
           "disabledTools": ["booking_tool"],
           "autonomyLevel": "full",
           "maxMessagesPerDay": 0, "maxCostPerDay": -1,
           "requireApprovalFor": ["financial", "everything"],
           "temperature": 3, "maxTokens": -1,
           "channelBindings": [
             {"channel": "fax", "enabled": true, "address": "+49 30 1234567"},
             {"channel": "whatsapp", "enabled": true},
             {"channel": "sms", "enabled": true, "address": "+49 30 1234567"},
             {"channel": "sms", "enabled": true, "address": "0049 30 1234567"},
             {"channel": "email", "enabled": true, "address": "bookings@haff.de"}
           ]
         }}
        """#
        let routing: RoutingTable = [ChannelAddress(channel: .email, address: "bookings@haff.de"): AgentRef(org: "someone-else", agentId: "primary")]
        let error = #expect(throws: DomainError.self) { try OrgAgentConfig.load(Data(text.utf8), tools: Fixtures.toolNames, routing: routing) }
        let problems = error?.problems ?? []
        let expected: [(String, String)] = [
            ("name", "is missing"),
            ("organizationId", "is missing"),
            ("status", "unknown status 'on'"),
            ("customProperties.language", "'Deutsch' is not a language code"),
            ("customProperties.additionalLanguages[1]", "'english' is not a language code"),
            ("customProperties.enabledTools[2]", "unknown tool 'magic_tool'"),
            ("customProperties.enabledTools[1]", "both enabled and disabled"),
            ("customProperties.autonomyLevel", "unknown autonomy level 'full'"),
            ("customProperties.maxMessagesPerDay", "greater than 0"),
            ("customProperties.maxCostPerDay", "positive amount"),
            ("customProperties.requireApprovalFor[1]", "unknown action category 'everything'"),
            ("customProperties.temperature", "between 0 and 2"),
            ("customProperties.maxTokens", "greater than 0"),
            ("customProperties.channelBindings[0].channel", "unknown channel 'fax'"),
            ("customProperties.channelBindings[1].address", "is missing"),
            ("customProperties.channelBindings[3]", "duplicates channelBindings[2]"),
            ("customProperties.channelBindings[4].address", "already bound to another organization's agent"),
        ]
        for (path, fragment) in expected {
            #expect(problems.contains { $0.path == path && $0.message.contains(fragment) }, "missing \(path): \(fragment) in \(problems)")
        }
        #expect(problems.count == expected.count, "\(problems.map(\.description).joined(separator: "\n"))")
        #expect(error?.message == "the agent configuration has \(expected.count) problems; fix them and apply again")
        // The description a CLI prints lists every problem with its path.
        #expect(error?.description.contains("customProperties.channelBindings[4].address: ") == true)
    }

    @Test("an address another org's agent serves is refused without naming that org")
    func routingConflictAcrossOrgs() throws {
        let routing: RoutingTable = [ChannelAddress(channel: .whatsapp, address: "+4939771234567"): AgentRef(org: "rival", agentId: "primary")]
        let error = #expect(throws: DomainError.self) { try OrgAgentConfig.load(Fixtures.sailingSchoolJSON, tools: Fixtures.toolNames, routing: routing) }
        let problems = error?.problems ?? []
        #expect(problems.count == 1)
        #expect(problems.first?.path == "customProperties.channelBindings[0].address")
        #expect(problems.first?.message.contains("+4939771234567 is already bound to another organization's agent") == true)
        #expect(problems.first?.message.contains("rival") == false)
    }

    @Test("an address another agent of the same org serves is refused, naming that agent")
    func routingConflictWithinOrg() throws {
        let routing: RoutingTable = [ChannelAddress(channel: .email, address: "info@segelschule-haff.de"): AgentRef(org: "haff", agentId: "sales")]
        let error = #expect(throws: DomainError.self) { try OrgAgentConfig.load(Fixtures.sailingSchoolJSON, tools: Fixtures.toolNames, routing: routing) }
        #expect(error?.problems.map(\.path) == ["customProperties.channelBindings[1].address"])
        #expect(error?.problems.first?.message.contains("this org's agent 'sales'") == true)
    }

    @Test("a disabled binding does not claim its address")
    func disabledBindingNoConflict() throws {
        var json = try Fixtures.sailingSchoolJSON
        json.set(["customProperties", "channelBindings"], [["channel": "whatsapp", "enabled": false, "address": "+4939771234567"]])
        let routing: RoutingTable = [ChannelAddress(channel: .whatsapp, address: "+4939771234567"): AgentRef(org: "rival", agentId: "primary")]
        let config = try OrgAgentConfig.load(json, tools: Fixtures.toolNames, routing: routing)
        #expect(config.routes.isEmpty)
    }

    @Test("the agent id is the subtype unless an explicit id is given")
    func agentIdentity() throws {
        var json = try Fixtures.sailingSchoolJSON
        json.set(["subtype"], nil)
        #expect(try OrgAgentConfig.load(json, tools: Fixtures.toolNames).agentId == "primary")
        json.set(["subtype"], "support")
        #expect(try OrgAgentConfig.load(json, tools: Fixtures.toolNames).agentId == "support")
        json.set(["id"], "support-2")
        let config = try OrgAgentConfig.load(json, tools: Fixtures.toolNames)
        #expect(config.agentId == "support-2")
        #expect(config.name == "Sailing School Assistant")
    }

    @Test("a minimal config gets the documented defaults")
    func defaults() throws {
        let config = try OrgAgentConfig.load(Data(#"{"organizationId": "haff", "name": "Haff Bot"}"#.utf8), tools: Fixtures.toolNames)
        #expect(config.type == "org_agent")
        #expect(config.subtype == "primary")
        #expect(config.status == .active)
        let p = config.customProperties
        #expect(p.displayName == "Haff Bot")
        #expect(p.language == "en")
        #expect(p.autonomyLevel == .supervised)
        #expect(p.maxMessagesPerDay == 100)
        #expect(p.maxCostPerDay == 5)
        #expect(p.requireApprovalFor == [.bulkEmail, .deleteContact, .financial])
        #expect(p.enabledTools.isEmpty)
        #expect(p.channelBindings.isEmpty)
        #expect(p.temperature == 0.7)
        #expect(p.maxTokens == 4096)
    }

    @Test("invalid JSON and a non-object are refused as configs")
    func notAConfig() {
        let syntax = #expect(throws: DomainError.self) { try OrgAgentConfig.load(Data("{\"name\": ".utf8), tools: Fixtures.toolNames) }
        #expect(syntax?.code == .invalidConfig)
        #expect(syntax?.problems.first?.message.contains("not valid JSON") == true)
        let array = #expect(throws: DomainError.self) { try OrgAgentConfig.load(Data("[]".utf8), tools: Fixtures.toolNames) }
        #expect(array?.problems.map(\.path) == [""])
    }

    @Test("language codes", arguments: [("de", true), ("en", true), ("de-DE", true), ("zh-Hant-TW", true), ("gsw", true),
                                         ("german", false), ("d", false), ("de_DE", false), ("de-", false), ("", false), ("de-D", false)])
    func languageCodes(code: String, valid: Bool) {
        #expect(OrgAgentConfig.isLanguageCode(code) == valid)
    }
}
