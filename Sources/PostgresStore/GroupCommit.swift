import EventLog
import PostgresNIO
import PurserCore

/// One caller's append, validated and encoded once, in the column arrays `purser_append_calls`
/// takes (the caller's order; the database numbers each org's events in that order).
struct AppendCall: Sendable {
    var orgs: [String] = []
    var ids: [String] = []
    var streams: [String] = []
    var types: [String] = []
    var timestamps: [Int64] = []
    var bodies: [String] = []
    var expectations: [ExpectedVersion]

    var count: Int { ids.count }

    init(drafts: [EventDraft], expecting: [ExpectedVersion]) throws {
        expectations = expecting
        for draft in drafts {
            let body = try draft.storedBody()
            guard let text = String(validating: body, as: UTF8.self) else {
                throw LogError(.invalidEvent, "event \(draft.id): the encoded event is not UTF-8")
            }
            orgs.append(draft.org)
            ids.append(draft.id)
            streams.append(draft.stream)
            types.append(draft.type)
            timestamps.append(draft.timestampMs)
            bodies.append(text)
        }
    }
}

/// What the database answered for one call: each draft's seq and whether it was a duplicate (in
/// the caller's order), or the conflict that refused the whole call.
enum CallOutcome: Sendable {
    case stored(seqs: [UInt64], duplicates: [Bool])
    case conflict(String)
}

/// The client's group commit: appends that arrive while others are being committed wait and go
/// together, in one `purser_append_calls` statement and one commit, so concurrent producers share
/// the round trip, the transaction and the WAL flush instead of paying for one each.
///
/// Each caller keeps its own answer: a stale expectation refuses only that caller (the database
/// checks it just before the caller's events are written, under every head lock of the batch),
/// and a batch that the server refuses for another reason is sent again caller by caller, so the
/// error reaches the caller it belongs to. A lone append is sent at once: nothing waits for
/// company. Durability is the statement's: every caller of a batch is answered only after its
/// commit, and a commit whose answer was lost is sent again whole (ids de-duplicate it).
final class GroupCommit: Sendable {
    private struct Waiting: Sendable {
        var call: AppendCall
        var continuation: CheckedContinuation<CallOutcome, any Error>
    }

    private struct State: Sendable {
        var queue: [Waiting] = []
        var flushing = 0
    }

    private let state = Locked(State())
    /// Batches committed at once (each on a connection of its own); more callers wait in line.
    let flushesMax: Int
    /// Events one batch takes at most (a single larger call still goes, alone).
    let batchEventsMax: Int

    init(flushesMax: Int, batchEventsMax: Int) {
        precondition(flushesMax > 0 && batchEventsMax > 0, "a group commit sends at least one batch of one event")
        self.flushesMax = flushesMax
        self.batchEventsMax = batchEventsMax
    }

    /// Queues `call` and returns once its batch has committed in `store` (or failed).
    func submit(_ call: AppendCall, to store: PostgresEventStore) async throws -> CallOutcome {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { s -> Bool in
                s.queue.append(Waiting(call: call, continuation: continuation))
                guard s.flushing < flushesMax else { return false }
                s.flushing += 1
                return true
            }
            if start { Task { await self.drain(store) } }
        }
    }

    /// Sends batches until the queue is empty.
    private func drain(_ store: PostgresEventStore) async {
        while true {
            let batch = state.withLock { s -> [Waiting] in
                var events = 0, taken = 0
                while taken < s.queue.count, taken == 0 || events + s.queue[taken].call.count <= batchEventsMax {
                    events += s.queue[taken].call.count
                    taken += 1
                }
                if taken == 0 {
                    s.flushing -= 1
                    return []
                }
                let batch = Array(s.queue.prefix(taken))
                s.queue.removeFirst(taken)
                return batch
            }
            if batch.isEmpty { return }
            await flush(batch, store)
        }
    }

    private func flush(_ batch: [Waiting], _ store: PostgresEventStore) async {
        do {
            let outcomes = try await store.sendCalls(batch.map(\.call))
            precondition(outcomes.count == batch.count, "purser_append_calls answered \(outcomes.count) calls for \(batch.count)")
            for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(returning: outcome) }
        } catch let error as PostgresStoreError where error.code == .server && batch.count > 1 {
            // The server refused the batch (not a conflict, not a lost connection): find whose
            // append it was by sending each alone.
            for waiting in batch {
                do {
                    let outcome = try await store.sendCalls([waiting.call])
                    waiting.continuation.resume(returning: outcome[0])
                } catch {
                    waiting.continuation.resume(throwing: error)
                }
            }
        } catch {
            for waiting in batch { waiting.continuation.resume(throwing: error) }
        }
    }
}

extension PostgresEventStore {
    /// One `purser_append_calls` statement for `calls` (retried as a whole while the server is
    /// away: what a lost attempt stored comes back as duplicates).
    func sendCalls(_ calls: [AppendCall]) async throws -> [CallOutcome] {
        var orgs: [String] = [], ids: [String] = [], streams: [String] = [], types: [String] = []
        var timestamps: [Int64] = [], bodies: [String] = []
        var callStarts: [Int32] = [], callEnds: [Int32] = [], callExpectStarts: [Int32] = [], callExpectEnds: [Int32] = []
        var expectOrgs: [String] = [], expectStreams: [String] = [], expectVersions: [Int32] = []
        for call in calls {
            callStarts.append(Int32(ids.count + 1))
            orgs.append(contentsOf: call.orgs)
            ids.append(contentsOf: call.ids)
            streams.append(contentsOf: call.streams)
            types.append(contentsOf: call.types)
            timestamps.append(contentsOf: call.timestamps)
            bodies.append(contentsOf: call.bodies)
            callEnds.append(Int32(ids.count))
            callExpectStarts.append(Int32(expectOrgs.count + 1))
            for x in call.expectations {
                expectOrgs.append(x.org)
                expectStreams.append(x.stream)
                expectVersions.append(Int32(clamping: x.version))
            }
            callExpectEnds.append(Int32(expectOrgs.count))
        }
        let query: PostgresQuery = """
            SELECT out_pos, out_seq, out_duplicate, out_conflict FROM purser_append_calls(\(orgs), \(ids), \(streams), \(types), \
            \(timestamps), \(bodies), \(callStarts), \(callEnds), \(callExpectStarts), \(callExpectEnds), \(expectOrgs), \
            \(expectStreams), \(expectVersions))
            """
        let eventCount = ids.count
        return try await withRetry("append \(eventCount) event(s)") {
            // Each row names its event's position in the arrays (1-based).
            var seqs = [Int64](repeating: 0, count: eventCount), duplicates = [Bool](repeating: false, count: eventCount)
            var conflicts = [String?](repeating: nil, count: eventCount)
            var answered = 0
            for try await (pos, seq, duplicate, conflict) in try await self.client.query(query, logger: self.logger)
                .decode((Int32, Int64?, Bool?, String?).self) {
                let i = Int(pos) - 1
                precondition(i >= 0 && i < eventCount, "purser_append_calls answered position \(pos) of \(eventCount)")
                seqs[i] = seq ?? 0
                duplicates[i] = duplicate ?? false
                conflicts[i] = conflict
                answered += 1
            }
            precondition(answered == eventCount, "purser_append_calls answered \(answered) rows for \(eventCount) events")
            var outcomes: [CallOutcome] = []
            outcomes.reserveCapacity(calls.count)
            var next = 0
            for call in calls {
                let range = next..<(next + call.count)
                next += call.count
                if let conflict = conflicts[range.lowerBound] {
                    outcomes.append(.conflict(conflict))
                } else {
                    outcomes.append(.stored(seqs: seqs[range].map { UInt64($0) }, duplicates: Array(duplicates[range])))
                }
            }
            return outcomes
        }
    }
}
