import ArgumentParser
import Foundation
import EventLog
import EventStore
import PostgresStore
import Projection
import PurserCore

/// Opening the PostgreSQL store for a command: a failure is one line on stderr naming the server
/// without its password, and exit 1.
enum StoreAccess {
    /// Opens the store at `url`, runs `body`, closes it. With `migrate`, the schema is brought up
    /// to date first; without, a database that has no Purser schema yet is refused.
    static func withDatabase<T>(_ url: PostgresURL, migrate: Bool, label: String,
                                _ body: (PostgresEventStore) async throws -> T) async throws -> T {
        let store: PostgresEventStore
        do {
            store = try await PostgresEventStore.open(url: url, migrate: migrate, retrySecondsMax: 10, logger: LogSetup.logger(label))
        } catch {
            Output.note("cannot open \(url): \(error)")
            throw Exit.failure
        }
        do {
            if !migrate, try await store.schemaVersion() == 0 {
                Output.note("\(url) holds no Purser schema; run `purser db migrate` or `purser store migrate --to URL` first")
                throw Exit.failure
            }
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// A copy between stores with its progress on stderr, one line per org and batch;
    /// `orgsAtOnce` orgs at a time (their lines then interleave, each naming its org).
    static func copy(from source: any EventStore, to target: any EventStore, verb: String, orgsAtOnce: Int = 1) async throws -> EventCopier.Summary {
        try await EventCopier(from: source, to: target, orgsAtOnce: orgsAtOnce).run { p in
            if p.starting {
                Output.note("\(verb) org \(p.org): \(p.total) event\(p.total == 1 ? "" : "s")" + (p.done > 0 ? ", \(p.done) already there" : ""))
            } else {
                Output.note("\(verb) org \(p.org): \(p.done)/\(p.total)")
            }
        }
    }
}

/// Where a command that appends writes, for the synchronous commands (`agent apply`, `agent
/// pause|resume`, `objects import`): the data directory's log (this process its one writer while
/// the command runs), or the PostgreSQL store `--database` / `PURSER_DATABASE_URL` names, its
/// schema migrated first. The read models the command consults follow the same store (`source`).
///
/// Synchronous on purpose: these commands run on the main thread, which is not one of the
/// cooperative pool's, so waiting there for the async store (`BlockingIO.wait`) is safe.
final class CommandStore {
    let source: ProjectionSource
    private let log: EventLog?
    private let database: PostgresEventStore?

    private init(source: ProjectionSource, log: EventLog?, database: PostgresEventStore?) {
        self.source = source
        self.log = log
        self.database = database
    }

    static func open(_ global: GlobalOptions, _ options: DatabaseOptions) throws -> CommandStore {
        guard let url = try options.given() else {
            let log = try EventLog.open(directory: global.eventLogDirectory)
            if !log.recovery.isClean { Output.note("recovered the event log: \(log.recovery.truncations.map(\.description).joined(separator: "; "))") }
            return CommandStore(source: .log(directory: global.eventLogDirectory), log: log, database: nil)
        }
        let logger = LogSetup.logger("purser.store")
        do {
            let store = try BlockingIO.wait { try await PostgresEventStore.open(url: url, retrySecondsMax: 10, logger: logger) }
            return CommandStore(source: .store(store), log: nil, database: store)
        } catch {
            Output.note("cannot open \(url): \(error)")
            throw Exit.failure
        }
    }

    /// For a command that only reads: the data directory's log without its writer lock (a server
    /// may be writing it), or the PostgreSQL store (its schema migrated first).
    static func openForReading(_ global: GlobalOptions, _ options: DatabaseOptions) throws -> CommandStore {
        guard options.url != nil || ProcessInfo.processInfo.environment["PURSER_DATABASE_URL"]?.isEmpty == false else {
            return CommandStore(source: .log(directory: global.eventLogDirectory), log: nil, database: nil)
        }
        return try open(global, options)
    }

    /// Appends one batch, acknowledged once durable; `expecting` as the stores' append.
    func append(_ drafts: [EventDraft], expecting: [ExpectedVersion] = []) throws -> AppendResult {
        if let log { return try log.appendSync(drafts, expecting: expecting) }
        guard let store = database else { throw LogError(.closed, "this command opened the store for reading only") }
        return try BlockingIO.wait { try await store.append(drafts, expecting: expecting) }
    }

    func streamVersion(org: String, stream: String) throws -> UInt32 {
        if let log { return log.streamVersion(org: org, stream: stream) }
        guard let store = database else { throw LogError(.closed, "this command opened the store for reading only") }
        return try BlockingIO.wait { try await store.streamVersion(org: org, stream: stream) }
    }

    func close() {
        log?.close()
        if let store = database { _ = try? BlockingIO.wait { await store.close() } }
    }
}
