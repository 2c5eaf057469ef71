import Foundation
import Hummingbird
import HummingbirdTesting
import PurserHTTP
import Testing

/// The dashboard files under Sources/PurserHTTP/Dashboard, found from this file's path.
private enum DashboardFiles {
    static let root: URL = {
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let repo = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent("Sources/PurserHTTP/Dashboard", isDirectory: true)
    }()
}

@Suite("Dashboard assets")
struct DashboardAssetsTests {
    @Test("the server serves the files under Dashboard/ byte for byte, with their content types",
          arguments: [("index.html", "/", "text/html"), ("app.js", "/app.js", "text/javascript"), ("app.css", "/app.css", "text/css")])
    func servedBytesEqualFile(name: String, path: String, type: String) async throws {
        let file = try Data(contentsOf: DashboardFiles.root.appendingPathComponent(name))
        let s = try await Server()
        try await s.app().test(.router) { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix(type) == true)
            #expect(Array(response.body.readableBytesView) == Array(file))
        }
    }

    @Test("the page loads its script and stylesheet and carries the ids the browser test drives")
    func pageWiring() {
        let html = DashboardAssets.indexHTML
        #expect(html.contains("<meta name=\"viewport\""))
        #expect(html.contains("src=\"app.js\""))
        #expect(html.contains("href=\"app.css\""))
        for id in ["token-input", "sign-in", "tab-sessions", "tab-approvals", "tab-activity", "tab-settings", "tab-chat",
                   "takeover", "release", "reply-text", "reply-send", "transcript", "spend", "chat-input", "chat-send",
                   "chat-log", "live-status"] {
            #expect(html.contains("id=\"\(id)\""), "missing #\(id)")
        }
    }

    @Test("the script never writes data as HTML")
    func noInnerHTML() {
        #expect(!DashboardAssets.appJS.contains("innerHTML"))
        #expect(!DashboardAssets.appJS.contains("insertAdjacentHTML"))
        #expect(!DashboardAssets.appJS.contains("document.write"))
    }
}
