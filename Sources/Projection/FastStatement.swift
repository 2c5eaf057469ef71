import CSQLite
import GRDB

/// Binds and runs a cached statement through SQLite's C API: the hot path of a rebuild, where
/// building `StatementArguments` (one boxed value per column) and GRDB's per-execution checks
/// cost more than the statement itself. The statement is still GRDB's (prepared once per
/// connection and cached), so the two paths can be mixed freely.
public struct FastBinder {
    let statement: OpaquePointer

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public func bind(_ index: Int32, _ value: String?) {
        guard var text = value else { sqlite3_bind_null(statement, index); return }
        text.withUTF8 { utf8 in
            if let base = utf8.baseAddress, utf8.count > 0 {
                sqlite3_bind_text(statement, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(utf8.count), Self.transient)
            } else {
                sqlite3_bind_text(statement, index, "", 0, Self.transient)
            }
        }
    }

    public func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_int64(statement, index, value)
    }

    public func bind(_ index: Int32, _ value: Int?) { bind(index, value.map(Int64.init)) }

    public func bind(_ index: Int32, _ value: Double?) {
        guard let value else { sqlite3_bind_null(statement, index); return }
        sqlite3_bind_double(statement, index, value)
    }
}

extension Database {
    /// Runs `sql` (a statement that returns no rows) with the values `bind` sets, by index from 1.
    public func run(_ sql: String, _ bind: (FastBinder) -> Void) throws {
        let statement = try cachedStatement(sql: sql)
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
        bind(FastBinder(statement: raw))
        let rc = sqlite3_step(raw)
        sqlite3_reset(raw)
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            let message = sqliteConnection.map { String(cString: sqlite3_errmsg($0)) } ?? "code \(rc)"
            throw ProjectionError(.storage, "SQLite failed (\(rc)): \(message) in: \(sql)")
        }
    }
}
