import CoreMetrics

/// What the engine counts for an operator's dashboards: events appended, turns by outcome, model
/// call latency. Recorded through swift-metrics into the factory the composition root chooses
/// (Prometheus in `purser serve`); the default records nothing. No label names an org or a
/// customer: the figures are the platform's, never a tenant's data.
public struct EngineMetrics: Sendable {
    let appended: Counter
    let modelOK: Timer
    let modelFailed: Timer
    /// One counter per outcome, made once: a turn only increments.
    let turns: [TurnOutcome.Kind: Counter]

    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        appended = Counter(label: "purser_events_appended_total", factory: factory)
        turns = Dictionary(uniqueKeysWithValues: TurnOutcome.Kind.allCases.map {
            ($0, Counter(label: "purser_turns_total", dimensions: [("outcome", $0.rawValue)], factory: factory))
        })
        modelOK = Timer(label: "purser_model_call_seconds", dimensions: [("result", "ok")], factory: factory)
        modelFailed = Timer(label: "purser_model_call_seconds", dimensions: [("result", "failed")], factory: factory)
    }

    /// A turn ended with `outcome` (`sent`, `held`, `handed_off`, …).
    func turn(_ outcome: TurnOutcome.Kind) {
        turns[outcome]?.increment()
    }

    /// A model call took `nanoseconds`.
    func modelCall(nanoseconds: UInt64, ok: Bool) {
        (ok ? modelOK : modelFailed).recordNanoseconds(Int64(clamping: nanoseconds))
    }
}
