/// What happens to a reply the agent has written, by its autonomy level: the one rule the
/// pipeline applies when it delivers and the audit re-checks afterwards.
public enum SendRule: Sendable, Hashable {
    /// Sent at once (`message.sent`).
    case send
    /// Held until a human approves it (`approval.requested`, then `message.sent`).
    case holdForApproval
    /// Kept as a draft for a human; never sent by the agent.
    case draft

    public init(_ level: AutonomyLevel) {
        switch level {
        case .autonomous: self = .send
        case .supervised: self = .holdForApproval
        case .draftOnly: self = .draft
        }
    }
}

/// The daily dollar cap, compared the same way where it is enforced (the pipeline's reservations)
/// and where it is audited.
public enum SpendCap {
    /// Slack when comparing summed dollars with a cap: sums of binary doubles drift in their last
    /// bits. A billionth of a dollar, far below any price a provider reports.
    public static let toleranceUSD = 1e-9

    /// Whether `usd` spent (or about to be) is over `cap`.
    public static func isOver(_ usd: Double, cap: Double) -> Bool {
        usd > cap + toleranceUSD
    }

    /// Whether `usd` charged leaves nothing of `cap` for another automatic send.
    public static func isReached(_ usd: Double, cap: Double) -> Bool {
        usd >= cap - toleranceUSD
    }
}
