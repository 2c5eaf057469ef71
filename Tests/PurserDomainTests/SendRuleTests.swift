import PurserDomain
import Testing

@Suite struct SendRuleTests {
    @Test func autonomousSendsSupervisedHoldsDraftOnlyDrafts() {
        #expect(SendRule(.autonomous) == .send)
        #expect(SendRule(.supervised) == .holdForApproval)
        #expect(SendRule(.draftOnly) == .draft)
    }

    /// The pipeline refused spend past `cap + 1e-11` while the audit flagged only past
    /// `cap + 1e-9`; both now use `SpendCap.toleranceUSD` (1e-9), so what one allows the other passes.
    @Test func capToleranceIsOneBillionthOfADollarForPipelineAndAudit() {
        #expect(SpendCap.toleranceUSD == 1e-9)
        let cap = 0.30
        let summed = 0.1 + 0.2 // 0.30000000000000004
        #expect(!SpendCap.isOver(summed, cap: cap))
        #expect(SpendCap.isReached(summed, cap: cap))
        #expect(SpendCap.isOver(cap + 2e-9, cap: cap))
        #expect(!SpendCap.isReached(cap - 2e-9, cap: cap))
    }
}
