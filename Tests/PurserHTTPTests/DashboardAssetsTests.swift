import Foundation
import PurserHTTP
import Testing

/// The dashboard files under Sources/PurserHTTP/Dashboard, found from this file's path.
private enum DashboardFiles {
    static let root: URL = {
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let repo = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent("Sources/PurserHTTP/Dashboard", isDirectory: true)
    }()

    static func text(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
    }
}

@Suite("Dashboard assets")
struct DashboardAssetsTests {
    @Test("the embedded assets equal the files (rerun scripts/embed-dashboard.sh after editing them)",
          arguments: ["index.html", "app.js", "app.css"])
    func embeddedEqualsFile(name: String) throws {
        let embedded: String
        switch name {
        case "index.html": embedded = DashboardAssets.indexHTML
        case "app.js": embedded = DashboardAssets.appJS
        default: embedded = DashboardAssets.appCSS
        }
        let file = try DashboardFiles.text(name)
        #expect(embedded == file, "DashboardAssets is stale for \(name): run scripts/embed-dashboard.sh")
        #expect(Array(embedded.utf8) == Array(file.utf8))
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
