import Crypto
import EventLog
import EventStore
import NIOCore
import PostgresNIO

/// What `verify` found: every org's chain recomputed from its rows, trusting nothing stored.
public typealias PostgresVerifyReport = StoreVerifyReport

/// How much the store holds.
public typealias PostgresStats = StoreStats

extension PostgresEventStore {
    /// The chain hash after `seq`, given the one before it: sha256(previous || seq as 8
    /// big-endian bytes || body). The append computes the same in SQL.
    public static func chainHash(previous: [UInt8], seq: UInt64, body: some Collection<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        withUnsafeBytes(of: seq.bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: Array(body))
        return Array(hasher.finalize())
    }

    /// Recomputes each org's chain (one org, or all): a row edited, deleted or inserted behind
    /// Purser's back shows as a fault naming the org and seq where the chain first breaks.
    /// Each org reports its first fault only (everything after a break is suspect anyway).
    public func verify(org only: String? = nil) async throws -> StoreVerifyReport {
        var report = StoreVerifyReport()
        var heads: [String: (UInt64, [UInt8])] = [:]
        let headQuery: PostgresQuery = only.map { "SELECT org, seq, hash FROM purser_org_heads WHERE org = \($0)" }
            ?? "SELECT org, seq, hash FROM purser_org_heads"
        for try await (org, seq, hash) in try await client.query(headQuery, logger: logger).decode((String, Int64, PostgresByteArray).self) {
            heads[org] = (UInt64(seq), hash.bytes)
        }
        let rowsQuery: PostgresQuery = only.map { "SELECT org, seq, body, hash FROM purser_events WHERE org = \($0) ORDER BY org, seq" }
            ?? "SELECT org, seq, body, hash FROM purser_events ORDER BY org, seq"
        var current: String?
        var expectSeq: UInt64 = 1
        var previous: [UInt8] = []
        var broken = false
        func finish(_ org: String) {
            guard !broken else { return }
            let head = heads.removeValue(forKey: org)
            if let head {
                if head.0 != expectSeq - 1 {
                    report.faults.append(.init(org: org, seq: min(head.0, expectSeq - 1) + 1,
                                               reason: "the org's head says seq \(head.0) but its rows end at \(expectSeq - 1): rows were deleted or inserted"))
                } else if head.1 != previous {
                    report.faults.append(.init(org: org, seq: head.0, reason: "the org's head hash does not match its last row's chain: rows were rewritten"))
                }
            } else {
                report.faults.append(.init(org: org, seq: 1, reason: "the org has rows but no head row"))
            }
        }
        for try await (org, seq64, body, stored) in try await client.query(rowsQuery, logger: logger).decode((String, Int64, String, PostgresByteArray).self) {
            if org != current {
                if let current { finish(current) }
                current = org
                report.orgs += 1
                expectSeq = 1
                previous = []
                broken = false
            }
            report.events += 1
            if broken { continue }
            let seq = UInt64(seq64)
            if seq != expectSeq {
                report.faults.append(.init(org: org, seq: expectSeq,
                                           reason: seq > expectSeq ? "seq \(expectSeq)–\(seq - 1) missing: rows were deleted" : "seq \(seq) appears twice"))
                broken = true
                continue
            }
            let hash = Self.chainHash(previous: previous, seq: seq, body: body.utf8)
            if hash != stored.bytes {
                report.faults.append(.init(org: org, seq: seq, reason: "the row's hash does not match its content and the chain before it: the row was edited or inserted"))
                broken = true
                continue
            }
            previous = hash
            expectSeq += 1
        }
        if let current { finish(current) }
        for (org, head) in heads.sorted(by: { $0.key < $1.key }) where head.0 > 0 {
            report.faults.append(.init(org: org, seq: 1, reason: "the org's head says seq \(head.0) but it has no rows: rows were deleted"))
        }
        return report
    }

    /// Counts of what is stored; each org's count is its head, as its positions have no gaps.
    public func stats() async throws -> StoreStats {
        try await withRetry("count events") {
            var perOrg: [String: UInt64] = [:]
            for try await (org, seq) in try await self.client.query("SELECT org, seq FROM purser_org_heads WHERE seq > 0", logger: self.logger).decode((String, Int64).self) {
                perOrg[org] = UInt64(seq)
            }
            let rows = try await self.client.query(
                "SELECT count(*)::int8, coalesce(sum(octet_length(body)), 0)::int8 FROM purser_events", logger: self.logger)
            for try await (events, bytes) in rows.decode((Int64, Int64).self) {
                return StoreStats(events: UInt64(events), orgs: perOrg.count, bodyBytes: UInt64(bytes), eventsPerOrg: perOrg)
            }
            return StoreStats(events: 0, orgs: 0, bodyBytes: 0, eventsPerOrg: perOrg)
        }
    }
}

/// A `bytea` column's bytes.
struct PostgresByteArray: PostgresDecodable {
    var bytes: [UInt8]
    init<JSONDecoder: PostgresJSONDecoder>(from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
                                          context: PostgresDecodingContext<JSONDecoder>) throws {
        bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}
