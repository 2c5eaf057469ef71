import Foundation

/// A fresh temporary directory, removed with everything in it when the value goes away.
public final class TempDir: @unchecked Sendable {
    public let path: String

    /// - Parameter prefix: the start of the directory's name, so a leftover says which suite made it.
    public init(prefix: String = "purser-test") {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            preconditionFailure("cannot create the temporary directory \(path): \(error)")
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The event log's directory inside this one, as a data directory lays it out.
    public var logDirectory: String { path + "/eventlog" }
}
