import Foundation

/// Runs work of one key strictly in the order its tickets were taken, and work of different keys
/// in parallel: the messages of one session are processed in arrival order while sessions run
/// concurrently. A caller takes a ticket where the order is defined (the reader loop, the HTTP
/// handler), then waits for its turn wherever it runs.
actor KeyedSequencer {
    private var issued: [String: UInt64] = [:]
    private var serving: [String: UInt64] = [:]
    private var waiting: [String: [UInt64: CheckedContinuation<Void, Never>]] = [:]

    struct Ticket: Sendable {
        let key: String
        let number: UInt64
    }

    func ticket(_ key: String) -> Ticket {
        let number = issued[key, default: 0]
        issued[key] = number + 1
        return Ticket(key: key, number: number)
    }

    func wait(_ ticket: Ticket) async {
        if serving[ticket.key, default: 0] == ticket.number { return }
        await withCheckedContinuation { continuation in
            waiting[ticket.key, default: [:]][ticket.number] = continuation
        }
    }

    func done(_ ticket: Ticket) {
        let next = ticket.number + 1
        if issued[ticket.key] == next {
            // Nobody queued behind: forget the key so the tables stay as small as the live sessions.
            issued[ticket.key] = nil
            serving[ticket.key] = nil
            waiting[ticket.key] = nil
            return
        }
        serving[ticket.key] = next
        if let continuation = waiting[ticket.key]?.removeValue(forKey: next) {
            continuation.resume()
        }
    }
}

/// A counting semaphore for async code: bounds the LLM calls in flight, FIFO.
actor AsyncSemaphore {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var head = 0

    init(_ permits: Int) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        available = permits
    }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if head < waiters.count {
            let next = waiters[head]
            head += 1
            if head > 1024, head * 2 > waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
            next.resume()
        } else {
            available += 1
        }
    }
}
