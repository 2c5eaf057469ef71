import ArgumentParser
import EventStore
import PostgresStore

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

    /// A copy between stores with its progress on stderr, one line per org and batch.
    static func copy(from source: any EventStore, to target: any EventStore, verb: String) async throws -> EventCopier.Summary {
        var lastOrg = ""
        return try await EventCopier(from: source, to: target).run { p in
            if p.org != lastOrg {
                lastOrg = p.org
                Output.note("\(verb) org \(p.org): \(p.total) event\(p.total == 1 ? "" : "s")" + (p.done > 0 ? ", \(p.done) already there" : ""))
            } else {
                Output.note("\(verb) org \(p.org): \(p.done)/\(p.total)")
            }
        }
    }
}
