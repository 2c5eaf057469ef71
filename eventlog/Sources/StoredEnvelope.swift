/// The envelope bytes every store keeps, so that another store (PostgreSQL) holds exactly what a
/// segment holds and readers of either see the same lines.
extension EventDraft {
    /// Validates the draft as `EventLog.append` does and returns its stored envelope without the
    /// leading `{"seq":N,` (which the store writes in front of it when it assigns the seq).
    public func storedBody() throws -> [UInt8] {
        try prepare().body
    }
}

/// The line a reader is given for a stored event: `{"seq":N,` followed by the stored body.
public func storedEnvelopeLine(seq: UInt64, body: some Collection<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(body.count + 28)
    out.append(contentsOf: #"{"seq":"#.utf8)
    out.append(contentsOf: String(seq).utf8)
    out.append(44)
    out.append(contentsOf: body)
    return out
}
