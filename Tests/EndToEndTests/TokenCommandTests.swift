import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser token create` through the built binary: org ids follow the one grammar, and a case
/// variant of an existing org is refused, so a token for `HAFF` can never sit beside `haff`.
@Suite struct TokenCommandTests {
    @Test func tokenCreateRefusesBadOrgIdsAndCaseVariants() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let ok = try purser(["token", "create", "--org", "haff", "--role", "admin", "--label", "anna"], data: data)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.lines.first?["org"] as? String == "haff")
        for bad in ["../x", "a b", "HAFF", "Haff", "-x", "x/y", ""] {
            let refused = try purser(["token", "create", "--org", bad, "--role", "viewer"], data: data)
            #expect(refused.status != 0, "--org \(bad) was accepted")
            #expect(refused.stderr.contains("org"), "\(refused.stderr)")
        }
        let listed = try purser(["token", "list"], data: data)
        #expect(listed.lines.count == 1, "only haff's token is stored: \(listed.stdout)")
    }
}
