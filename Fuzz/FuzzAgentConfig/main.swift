// libFuzzer target: the agent-config validator of `PurserDomain` (scripts/fuzz.sh runs it).
//
// Input: the JSON text of an `org_agent` configuration as a user would apply it. It goes through
// `OrgAgentConfig.load(_:tools:routing:)` (with the tool catalog's names) twice: with an empty routing table and with one that already
// routes a WhatsApp number and a mailbox to another agent (the conflict checks). A config that
// loads is re-serialized and loaded again: what the validator accepted once it must accept again.
import CLibFuzzer
import Foundation
import PurserDomain
import Tools

private let tools = ToolCatalog.standard.acceptedNames

private let routing: RoutingTable = {
    // The routing table an org with one other agent would have: taken from a valid config so the
    // fuzz target does not depend on how addresses are spelled internally.
    let other = #"""
    {"type":"org_agent","subtype":"secondary","organizationId":"haff","name":"Other Agent","status":"active",
     "customProperties":{"systemPrompt":"x","channelBindings":[
       {"channel":"whatsapp","enabled":true,"address":"+49 3977 1234567"},
       {"channel":"email","enabled":true,"address":"Info@Segelschule-Haff.de"}]}}
    """#
    return (try? OrgAgentConfig.load(Data(other.utf8), tools: tools))?.routes ?? [:]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    for table in [RoutingTable(), routing] {
        do {
            let config = try OrgAgentConfig.load(data, tools: tools, routing: table)
            // Round trip: an accepted config, encoded and loaded again, is accepted again.
            if let again = try? JSONValue(encoding: config) {
                do {
                    _ = try OrgAgentConfig.load(again, tools: tools, routing: [:])
                } catch {
                    fatalError("an accepted config is refused after a round trip: \(error)")
                }
            }
        } catch {
            _ = String(describing: error)
            _ = error.problems.map(\.description)
        }
    }
    return 0
}

// MARK: Entry

// SwiftPM links executables with `--defsym main=FuzzAgentConfig_main`, so libFuzzer's own `main` is not
// used: this is the program's entry, and it hands control to libFuzzer's driver.
@_cdecl("FuzzAgentConfig_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        // libFuzzer may pass no buffer for the empty input.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
            fuzz(UnsafeRawPointer(data ?? UnsafePointer(empty.baseAddress!)), size)
        }
    }
}
