import EventLog
import Foundation
import Logging
import Pipeline
import PurserCore
import PurserDomain
import PurserRuntime
import PurserTestSupport
import Testing

private let logger = Logger(label: "purser.tests.runtime")

@Suite struct RuntimeTests {
    @Test(arguments: [
        ["PURSER_LLM_CONCURRENCY": "0"], ["PURSER_LLM_CONCURRENCY": "many"],
        ["PURSER_APPROVAL_EXPIRY_SECONDS": "-5"], ["PURSER_APPROVAL_EXPIRY_SECONDS": "inf"],
    ])
    func aBadSettingIsRefusedBeforeAnythingIsOpened(environment: [String: String]) async throws {
        let dir = TempDir(prefix: "purser-runtime")
        let error = await #expect(throws: RuntimeError.self) {
            _ = try await Runtime.open(dataDirectory: dir.path, environment: environment, logger: logger)
        }
        #expect(error?.code == .badSetting)
        #expect(error?.message.contains(environment.keys.first ?? "") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.logDirectory), "nothing may be created for a runtime that does not start")
    }

    @Test func settingsFromTheEnvironmentReachTheEngine() throws {
        let options = try RuntimeSettings.pipelineOptions(["PURSER_LLM_CONCURRENCY": "3", "PURSER_APPROVAL_EXPIRY_SECONDS": "90"])
        #expect(options.llmCallsInFlightMax == 3)
        #expect(options.approvalExpirySeconds == 90)
        #expect(try RuntimeSettings.pipelineOptions([:]).llmCallsInFlightMax == PipelineOptions().llmCallsInFlightMax)
    }

    /// The runtime owns the log: while it is open a second writer is refused, and `close`
    /// releases it for the next process.
    @Test func theRuntimeIsTheLogsOneWriterUntilItCloses() async throws {
        let dir = TempDir(prefix: "purser-runtime")
        let runtime = try await Runtime.open(dataDirectory: dir.path, environment: [:], logger: logger)
        #expect(runtime.admin.agents(org: "haff").isEmpty)
        #expect(runtime.engine.logHead == 0)
        #expect(throws: (any Error).self) { _ = try EventLog.open(directory: dir.logDirectory) }
        await runtime.close()
        let again = try await Runtime.open(dataDirectory: dir.path, environment: [:], logger: logger)
        await again.close()
    }

    /// An agent configured through the runtime's admin part is served by its engine after a
    /// restart: the parts share one engine, and the engine loads what the log holds.
    @Test func anAgentConfiguredThroughTheRuntimeIsServedAfterARestart() async throws {
        let dir = TempDir(prefix: "purser-runtime")
        let json = """
            {"type":"org_agent","subtype":"primary","organizationId":"haff","name":"Haff","status":"active",
             "customProperties":{"language":"de","autonomyLevel":"draft_only","maxMessagesPerDay":10,"maxCostPerDay":1,
             "channelBindings":[{"channel":"webchat","enabled":true,"address":"web-haff"}]}}
            """
        let config = try OrgAgentConfig.load(Data(json.utf8), tools: [])
        let runtime = try await Runtime.open(dataDirectory: dir.path, environment: [:], logger: logger)
        #expect(try await runtime.admin.configure(config, by: "owner") == 1)
        await runtime.close()
        let again = try await Runtime.open(dataDirectory: dir.path, environment: [:], logger: logger)
        #expect(again.admin.agents(org: "haff").map(\.agentId) == ["primary"])
        #expect(again.admin.agents(org: "kite").isEmpty)
        await again.close()
    }
}
