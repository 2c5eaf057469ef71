import Foundation
import PurserCore
import PurserTestSupport
import Testing

/// `purser credentials set|list|delete` through the built binary: values go in through stdin and
/// never come out — not on stdout, not on stderr, not in the event log, not in the sealed file.
@Suite struct CredentialsCommandTests {
    static let secret = "whsec-7Qm2Zr9Lk4Xp1Vb8Nc3Td6Ys0Hf5Gj"

    func assertNoSecret(_ r: RunResult, _ what: String) {
        #expect(!r.stdout.contains(Self.secret), "\(what): value on stdout")
        #expect(!r.stderr.contains(Self.secret), "\(what): value on stderr")
    }

    @Test func setViaStdinListDelete() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let env = ["PURSER_MASTER_KEY": Data((0..<32).map { UInt8($0) }).base64EncodedString()]
        // A log with an event in it, so `log cat` below reads a real log.
        let seeded = try purser(["log", "append", "-"], data: data,
                                stdin: #"{"org":"haff","stream":"s","type":"message.received","data":{"text":"Moin"}}"# + "\n")
        #expect(seeded.status == 0, "\(seeded.stderr)")

        let set = try purser(["credentials", "set", "--org", "haff", "whatsapp_app_secret"], data: data, stdin: Self.secret + "\n", env: env)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.lines.first?["name"] as? String == "whatsapp_app_secret")
        assertNoSecret(set, "set")
        let dash = try purser(["credentials", "set", "--org", "haff", "twilio_auth_token", "-"], data: data, stdin: Self.secret, env: env)
        #expect(dash.status == 0, "\(dash.stderr)")
        assertNoSecret(dash, "set -")

        let list = try purser(["credentials", "list", "--org", "haff"], data: data, env: env)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.lines.compactMap { $0["name"] as? String } == ["twilio_auth_token", "whatsapp_app_secret"])
        assertNoSecret(list, "list")
        let other = try purser(["credentials", "list", "--org", "other"], data: data, env: env)
        #expect(other.status == 0 && other.lines.isEmpty)

        let wrongKey = try purser(["credentials", "list", "--org", "haff"], data: data, env: ["PURSER_MASTER_KEY": Data(repeating: 7, count: 32).base64EncodedString()])
        #expect(wrongKey.status == 1)
        #expect(wrongKey.stderr.contains("cannot decrypt: wrong master key or tampered file"))
        assertNoSecret(wrongKey, "wrong key")

        let badName = try purser(["credentials", "set", "--org", "haff", "Bad-Name"], data: data, stdin: "x", env: env)
        #expect(badName.status == 2)
        let badOrg = try purser(["credentials", "set", "--org", "../haff", "llm_api_key"], data: data, stdin: "x", env: env)
        #expect(badOrg.status == 2)

        let delete = try purser(["credentials", "delete", "--org", "haff", "whatsapp_app_secret"], data: data, env: env)
        #expect(delete.status == 0, "\(delete.stderr)")
        #expect(delete.lines.first?["deleted"] as? Bool == true)
        let again = try purser(["credentials", "delete", "--org", "haff", "whatsapp_app_secret"], data: data, env: env)
        #expect(again.status == 1)
        let after = try purser(["credentials", "list", "--org", "haff"], data: data, env: env)
        #expect(after.lines.compactMap { $0["name"] as? String } == ["twilio_auth_token"])

        // Nothing on disk holds the value in clear: the sealed files, and the event log if any.
        let log = try purser(["log", "cat"], data: data, env: env)
        #expect(log.status == 0 && log.stdout.contains("Moin"), "\(log.stderr)")
        assertNoSecret(log, "log cat")
        let enumerator = FileManager.default.enumerator(atPath: data)
        while let file = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: data + "/" + file, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: data + "/" + file))
            #expect(bytes.range(of: Data(Self.secret.utf8)) == nil, "\(file) holds the value in clear")
        }
    }

    /// Without a key in the environment a development key file is created, 0600, and reused.
    @Test func developmentKeyFileIsCreatedAndReused() throws {
        let dir = TempDir()
        let data = dir.path + "/data"
        let env = ["PURSER_MASTER_KEY": "", "PURSER_MASTER_KEY_FILE": ""]
        let set = try purser(["credentials", "set", "--org", "haff", "llm_api_key"], data: data, stdin: Self.secret, env: env)
        #expect(set.status == 0, "\(set.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: data + "/credentials/master.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let list = try purser(["credentials", "list", "--org", "haff"], data: data, env: env)
        #expect(list.lines.compactMap { $0["name"] as? String } == ["llm_api_key"])
    }
}
