import Channels
import Foundation

/// Locates the sample inputs kept in the repository, `<repo>/Tests/Fixtures/samples`, found from
/// this file's path so the tests work wherever the repository is cloned.
enum Samples {
    static let root: URL = {
        let here = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        let tests = here.deletingLastPathComponent().deletingLastPathComponent()
        return tests.appendingPathComponent("Fixtures/samples", isDirectory: true)
    }()

    /// Every file under the channel sample folders, as paths relative to `root`, sorted.
    static let channelFiles: [String] = {
        var found: [String] = []
        for folder in ["whatsapp", "twilio", "email"] {
            let base = root.appendingPathComponent(folder)
            guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            for case let url as URL in walker {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
                found.append(String(url.resolvingSymlinksInPath().path.dropFirst(root.resolvingSymlinksInPath().path.count + 1)))
            }
        }
        return found.sorted()
    }()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

    /// Reads a sample through a `FileHandle`, streamed, in the given format.
    static func outcomes(_ relative: String, format: InputFormat = .auto, limits: ChannelLimits = .standard) throws -> (outcomes: [InboundOutcome], format: InputFormat?) {
        let handle = try FileHandle(forReadingFrom: url(relative))
        defer { try? handle.close() }
        let reader = InboundReader(fileHandle: handle, sourceName: relative, format: format, limits: limits)
        let outcomes = try reader.readAll()
        return (outcomes, reader.detectedFormat)
    }

    static func messages(_ relative: String, format: InputFormat = .auto) throws -> [InboundMessage] {
        try outcomes(relative, format: format).outcomes.compactMap(\.message)
    }

    static func message(_ relative: String, format: InputFormat = .auto) throws -> InboundMessage? {
        try messages(relative, format: format).first
    }
}
