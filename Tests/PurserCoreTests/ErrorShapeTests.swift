import PurserCore
import Testing

private struct SampleError: PurserError {
    enum Code: String, Sendable { case notFound = "not_found" }
    var code: Code
    var message: String
    var cause: (any Error)?
    var details: [String] = []
}

@Suite struct ErrorShapeTests {
    @Test func descriptionIsMessageThenCodeThenDetailsThenCause() {
        #expect(SampleError(code: .notFound, message: "no agent a1 in org haff").description
            == "no agent a1 in org haff [not_found]")
        let cause = SystemCallError(call: "open", path: "/x", errno: 2)
        let full = SampleError(code: .notFound, message: "cannot read /x", cause: cause, details: ["line 3: bad", "line 4: worse"])
        #expect(full.description == "cannot read /x [not_found]\n  - line 3: bad\n  - line 4: worse\n  caused by: open /x: No such file or directory (errno 2)")
    }

    @Test func lockedSerializesChanges() async {
        let counter = Locked(0)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { for _ in 0..<1000 { counter.withLock { $0 += 1 } } } }
        }
        #expect(counter.withLock { $0 } == 8000)
    }
}
