// libFuzzer target: the data query compiler of `Tools` (scripts/fuzz.sh builds and runs it).
//
// Input: JSON text, the arguments of a `data_query_tool` call as a model would send them. The
// text is parsed (`JSONValue(parsing:)`), compiled (`DataQuery.parse`) and run
// (`DataQueryEngine.execute`) against an in-memory crm read model holding two orgs. Besides
// crashes and sanitizer reports, one property is checked: nothing of the other org ("org_b",
// whose rows carry a marker text) ever reaches a result for "org_a".
import CLibFuzzer
import CRMProjection
import Foundation
import GRDB
import PurserCore
import PurserDomain
import Tools

private let marker = "LEAK-org_b-7f3a"
private let now = Timestamp(iso8601: "2026-11-25T14:30:00Z")!

/// The crm schema with a few objects and links per org, built once.
private let store: DatabaseQueue = {
    do {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: CRMProjector().schemaSQL)
            var seq = 0
            func object(_ org: String, _ id: String, _ type: String, _ name: String?, _ status: String?, _ properties: String,
                        deleted: Bool = false) throws {
                seq += 1
                try db.execute(sql: """
                    INSERT INTO objects (org, id, type, subtype, name, status, custom_properties, created_at, updated_at, deleted, seq)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [org, id, type, nil, name, status, properties, "2026-11-01T09:00:00Z",
                                     "2026-11-0\(seq % 9 + 1)T09:00:00Z", deleted ? 1 : 0, seq])
            }
            func link(_ org: String, _ from: String, _ type: String, _ to: String) throws {
                seq += 1
                try db.execute(sql: "INSERT OR IGNORE INTO links (org, from_id, link_type, to_id, seq) VALUES (?, ?, ?, ?, ?)",
                               arguments: [org, from, type, to, seq])
            }
            for org in ["org_a", "org_b"] {
                let t = org == "org_b" ? marker : org
                try object(org, "c_1", "crm_contact", org == "org_b" ? "Bea \(marker)" : "Lisa Müller", "customer",
                           #"{"email":"lisa@example.de","phone":"+491701234567","totalSpent":450.5,"tags":["sbf","newsletter"],"address":{"city":"Ueckermünde"},"tenant":"\#(t)"}"#)
                try object(org, "c_2", "crm_contact", "Max Mustermann", "lead", #"{"email":"max@example.de","totalSpent":0,"tenant":"\#(t)"}"#)
                try object(org, "c_3", "crm_contact", "Gone", "customer", #"{"tenant":"\#(t)"}"#, deleted: true)
                try object(org, "boat_1", "boat", "Jolle 1", nil, #"{"tenant":"\#(t)","seats":2}"#)
                try object(org, "b_1", "booking", nil, "confirmed",
                           #"{"resourceId":"boat_1","startsAt":"2026-12-01T10:00:00Z","endsAt":"2026-12-01T12:00:00Z","contactId":"c_1","price":90,"tenant":"\#(t)"}"#)
                try object(org, "b_2", "booking", nil, "cancelled",
                           #"{"resourceId":"boat_1","startsAt":"2026-12-02T10:00:00+01:00","endsAt":"2026-12-02T12:00:00+01:00","contactId":"c_2","tenant":"\#(t)"}"#)
                try object(org, "kd_1", "knowledge_doc", "Prüfungsordnung", nil, #"{"text":"Die Prüfung findet am Samstag statt.","tenant":"\#(t)"}"#)
                try link(org, "c_1", "bookings", "b_1")
                try link(org, "c_2", "bookings", "b_2")
                try link(org, "b_1", "resource", "boat_1")
            }
        }
        return queue
    } catch {
        fatalError("cannot build the crm store: \(error)")
    }
}()

private let engine = DataQueryEngine(reader: store)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    guard let json = try? JSONValue(parsing: bytes) else { return 0 }
    _ = try? DataQuery.parse(json, now: now)
    let result = engine.execute(arguments: json, org: "org_a", now: now).serialized()
    if result.contains(marker) && !json.serialized().contains(marker) {
        fatalError("org_b's data reached an org_a result: \(result)")
    }
    return 0
}

// MARK: Entry

// SwiftPM links executables with `--defsym main=FuzzDataQuery_main`, so libFuzzer's own `main` is not
// used: this is the program's entry, and it hands control to libFuzzer's driver.
@_cdecl("FuzzDataQuery_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in
        // libFuzzer may pass no buffer for the empty input.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1) { empty in
            fuzz(UnsafeRawPointer(data ?? UnsafePointer(empty.baseAddress!)), size)
        }
    }
}
