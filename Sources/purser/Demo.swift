import ArgumentParser
import Audit
import Channels
import EventLog
import Foundation
import Pipeline
import PurserCore
import PurserDomain

/// The main job: the sailing school of the seed set up from embedded data, a short conversation
/// fed through `ingest` on the offline provider, then what an operator would look at — the
/// replies, a held approval, the spend — and the replayed, verified history.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set up the example sailing school, run a conversation through the pipeline offline, print what happened.",
        discussion: """
        Runs with no network and no key: the offline provider answers from the agent's FAQ and knowledge docs
        and hands a conversation to a human when it cannot. The agent is 'supervised', as in the seed: its
        replies wait for a human; the demo approves one as the owner and leaves the others pending. Running
        it again appends nothing new (the set-up events and messages carry fixed ids; the log stores an id
        once) and shows the same history.
        """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        print("Purser demo — Segelschule am Stettiner Haff (org \(DemoData.org)), data in \(global.dataDirectory)\n")
        try setUp()

        try await Engine.run(global, nil) { runtime in
            let pipeline = runtime.engine

            print("Conversation (fed through ingest as JSON Lines, offline provider):")
            let reader = InboundReader(data: Data(DemoData.conversation.utf8), sourceName: "demo", format: .jsonl)
            let lines = DemoData.conversation.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let collected = Locked<[TurnOutcome]>([])
            _ = await Ingestor(pipeline: pipeline, inFlightMax: 1).run(reader) { outcome in collected.withLock { $0.append(outcome) } }
            for outcome in collected.withLock({ $0 }) {
                let lineNumber = outcome.source.flatMap { $0.split(separator: ":").last.flatMap { Int($0) } }
                let text = lineNumber.flatMap { n -> String? in
                    guard n >= 1, n <= lines.count else { return nil }
                    return (try? JSONValue(parsing: lines[n - 1]))?["text"]?.stringValue ?? lines[n - 1]
                } ?? ""
                print("  customer: \(text)")
                switch outcome.kind {
                case .sent: print("  agent (sent): \(outcome.reply ?? "")")
                case .held: print("  agent (held for approval \(outcome.approvalId ?? "")): \(outcome.reply ?? "")")
                case .drafted: print("  agent (draft): \(outcome.reply ?? "")")
                case .handedOff: print("  → handed to a human: \(outcome.reason ?? "")\(outcome.reply.map { "\n    notice (\(outcome.approvalId == nil ? "sent" : "held")): \($0)" } ?? "")")
                case .blocked: print("  → blocked: \(outcome.reason ?? "")\(outcome.reply.map { "\n    notice (\(outcome.approvalId == nil ? "sent" : "held")): \($0)" } ?? "")")
                case .duplicate: print("  (already processed in an earlier run)")
                case .rejected: print("  → rejected and kept as message.rejected: \(outcome.reason ?? "")")
                case .unrouted: print("  → unrouted: \(outcome.reason ?? "")")
                case .failed: print("  → FAILED: \(outcome.reason ?? "")")
                }
                print("")
            }

            // The owner approves the first reply held in this run; the rest stay in the queue.
            if let first = collected.withLock({ $0.first { $0.kind == .held } })?.approvalId {
                let approved = try await pipeline.humans.approve(org: DemoData.org, approvalId: first, by: "owner@segelschule-haff.de")
                print("The owner approves \(first): \(approved.kind.rawValue) — “\(approved.reply ?? "")”\n")
            }
            let still = pipeline.humans.pendingApprovals(org: DemoData.org)
            print("Held for approval (\(still.count)):")
            for approval in still {
                print("  \(approval.approvalId)  [\(approval.rule)]  \(approval.summary)  (expires \(approval.expiresAt))")
            }

            let spend = try await pipeline.spendToday(org: DemoData.org, agentId: "primary")
            print("\nSpend today, agent primary: \(spend.messages) of 100 messages, $\(String(format: "%.4f", spend.usd)) of $5.00 (offline provider: free)")

            print("\nReplayed history of org \(DemoData.org) (purser replay --org \(DemoData.org)):")
            let replayer = Replayer(reader: LogReader(directory: global.eventLogDirectory), logger: LogSetup.logger("purser.demo"))
            for line in try replayer.text(ReplayOptions(org: DemoData.org)) { print("  " + line) }

            let reader2 = LogReader(directory: global.eventLogDirectory)
            let stats = try reader2.stats()
            let verify = try reader2.verify()
            print("\nLog: \(stats.events) events, \(stats.segments) segment(s), \(stats.rawBytes) bytes raw → \(stats.compressedBytes) compressed; verify: \(verify.ok ? "ok" : "\(verify.faults.count) fault(s)")")
            if !verify.ok { throw Exit.failure }
        }
    }

    /// The agent and the org's data, with fixed event ids so a second run appends nothing.
    private func setUp() throws {
        let log = try EventLog.open(directory: global.eventLogDirectory)
        defer { log.close() }
        let owner = Actor(.human, "owner@segelschule-haff.de")
        var drafts: [EventDraft] = []
        let config = try JSONValue(parsing: DemoData.agentConfig).decode(OrgAgentConfig.self)
        let configured = try EventCatalog.standard.encode(AgentConfigured(agentId: config.agentId, revision: 1, config: config))
        drafts.append(EventDraft(org: DemoData.org, stream: EventStream.agent(config.agentId), type: configured.type, version: configured.version,
                                 data: Array(configured.data), actor: owner, id: "demo-haff-agent-1"))
        for (i, line) in DemoData.objects.split(separator: "\n").enumerated() {
            guard case .record(let record, _) = OntologyLineParser().parseLine(String(line)) else { continue }
            let encoded: EncodedPayload
            let stream: String
            switch record {
            case .object(let object):
                encoded = try EventCatalog.standard.encode(ObjectCreated(object: object))
                stream = EventStream.object(object.id)
            case .link(let link):
                encoded = try EventCatalog.standard.encode(LinkCreated(link: link))
                stream = EventStream.links(from: link.from)
            }
            drafts.append(EventDraft(org: DemoData.org, stream: stream, type: encoded.type, version: encoded.version,
                                     data: Array(encoded.data), actor: owner, id: "demo-haff-object-\(i)"))
        }
        let result = try log.appendSync(drafts)
        let fresh = result.duplicates.filter { !$0 }.count
        print(fresh > 0 ? "Set up the agent and \(fresh - 1) objects/links.\n" : "The sailing school is already set up (same event ids).\n")
    }
}
