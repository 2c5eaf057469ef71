import NIOSSL
import PostgresNIO

/// Where the PostgreSQL store lives: `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=MODE`.
///
/// The password is kept out of every description and error: `redacted` is what logs and messages
/// show. `sslmode` follows libpq's names for the ones that make sense here: `disable`, `prefer`
/// (the default) and `require` (TLS or no connection; the certificate is not checked, as libpq's
/// `require`), `verify-full` (TLS with the certificate checked against the system's roots and the
/// host name).
public struct PostgresURL: Sendable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    /// Parses a connection string; the error names what is wrong and never repeats the password.
    public init(_ text: String) throws(PostgresStoreError) {
        func bad(_ why: String) -> PostgresStoreError {
            PostgresStoreError(.badURL, "the database URL \(PostgresURL.redact(text)) \(why); expected postgres://USER:PASSWORD@HOST:PORT/DB")
        }
        var rest = Substring(text)
        if rest.hasPrefix("postgres://") { rest = rest.dropFirst(11) }
        else if rest.hasPrefix("postgresql://") { rest = rest.dropFirst(13) }
        else { throw bad("does not start with postgres://") }
        var query = Substring("")
        if let q = rest.firstIndex(of: "?") { query = rest[rest.index(after: q)...]; rest = rest[..<q] }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") { path = rest[rest.index(after: slash)...]; rest = rest[..<slash] }
        var userInfo = Substring("")
        if let at = rest.lastIndex(of: "@") { userInfo = rest[..<at]; rest = rest[rest.index(after: at)...] }
        // Host and port; [v6]:port is accepted.
        var hostPart = rest
        var portText: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw bad("has an unclosed [ in its host") }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty { throw bad("has text after its host") }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portText = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        guard !hostPart.isEmpty else { throw bad("names no host") }
        host = String(hostPart)
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else { throw bad("has port \"\(portText)\", not a number from 1 to 65535") }
            port = p
        } else {
            port = 5432
        }
        if let colon = userInfo.firstIndex(of: ":") {
            user = try Self.percentDecoded(userInfo[..<colon], bad)
            password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], bad)
        } else {
            user = try Self.percentDecoded(userInfo, bad)
            password = nil
        }
        guard !user.isEmpty else { throw bad("names no user") }
        database = try Self.percentDecoded(path, bad)
        if database.isEmpty { database = user }
        sslMode = .prefer
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1)
            let key = String(parts[0]), value = parts.count > 1 ? String(parts[1]) : ""
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw bad("has sslmode=\(value); use one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            case "application_name", "connect_timeout":
                continue
            default:
                throw bad("has an unknown parameter \"\(key)\"")
            }
        }
    }

    /// The URL as logs and errors may show it.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(sslMode.rawValue)"
    }

    /// A connection string with any password replaced by `***`, for messages about text that did not parse.
    public static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://") else { return text.contains("@") ? "(unparsable; not shown)" : text }
        let afterScheme = text[scheme.upperBound...]
        guard let at = afterScheme.lastIndex(of: "@") else { return text }
        let userInfo = afterScheme[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    private static func percentDecoded(_ s: Substring, _ bad: (String) -> PostgresStoreError) throws(PostgresStoreError) -> String {
        guard s.contains("%") else { return String(s) }
        var bytes: [UInt8] = []
        var i = s.utf8.startIndex
        let u = s.utf8
        while i < u.endIndex {
            if u[i] == 37 {
                let h1 = u.index(after: i)
                guard h1 < u.endIndex, u.index(after: h1) < u.endIndex,
                      let hi = hexValue(u[h1]), let lo = hexValue(u[u.index(after: h1)]) else { throw bad("has a broken %-escape") }
                bytes.append(hi << 4 | lo)
                i = u.index(h1, offsetBy: 2)
            } else {
                bytes.append(u[i])
                i = u.index(after: i)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw bad("has a %-escape that is not UTF-8") }
        return text
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    /// The client configuration postgres-nio takes (also for plain clients beside the store, as the
    /// benchmark's baselines, so both speak to the server the same way).
    public func clientConfiguration(connectionsMax: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable:
            tls = .disable
        case .prefer, .require:
            var config = TLSConfiguration.makeClientConfiguration()
            config.certificateVerification = .none
            tls = sslMode == .prefer ? .prefer(config) : .require(config)
        case .verifyFull:
            tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                                         database: database, tls: tls)
        configuration.options.maximumConnections = connectionsMax
        configuration.options.additionalStartupParameters = [("application_name", "purser")]
        return configuration
    }
}
