#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import PurserCore
import Logging

/// An OpenAI-compatible HTTP/1.1 server on 127.0.0.1 that answers from a script, for tests and
/// benchmarks of the LLM providers and the pipeline.
///
/// It speaks the real protocol over real sockets, so a test exercises the same libcurl path,
/// headers, status codes and JSON as production: `POST /v1/chat/completions` (also
/// `/chat/completions`) answers with the next queued `ScriptedReply`, or, when the queue is empty,
/// with the responder's reply (by default the text `OK`). Every request is recorded (up to
/// `Configuration.maxRecordedRequests`) so tests can assert what context and tools were sent.
///
/// One thread runs a `poll(2)` loop over every connection, and delayed replies wait on timers
/// rather than threads, so 500 connections each waiting 200 ms cost one thread. Connections are
/// kept alive. `stop()` closes everything and returns after the thread has exited.
public final class LLMTestServer: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Kept so a long benchmark does not grow without bound; the count goes on.
        public static let defaultMaxRecordedRequests = 10_000
        public static let listenBacklog: Int32 = 1024

        /// Added before every reply that does not set its own.
        public var delay: Duration
        public var maxRecordedRequests: Int

        public init(delay: Duration = .zero, maxRecordedRequests: Int = Configuration.defaultMaxRecordedRequests) {
            self.delay = delay
            self.maxRecordedRequests = maxRecordedRequests
        }
    }

    /// Computes a reply when the queue is empty.
    public typealias Responder = @Sendable (RecordedRequest) -> ScriptedReply

    private static let readChunkBytes = 65_536
    /// A request head larger than this is refused; a chat request's headers are a few hundred bytes.
    private static let maxHeaderBytes = 65_536

    private let logger: Logger
    /// The script and the record, shared by the callers and the server thread.
    private struct Shared {
        var configuration: Configuration
        var queue: [ScriptedReply] = []
        var responder: Responder = { _ in .text("OK") }
        var recorded: [RecordedRequest] = []
        var received = 0
        var completions = 0
        var state: State = .idle
    }
    private let shared: Locked<Shared>

    private enum State { case idle, running, stopped }

    // Set by `start`, read-only afterwards until `stop`:
    private var listener: Int32 = -1
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1
    private var boundPort = 0
    private let exited = DispatchSemaphore(value: 0)

    public init(configuration: Configuration = Configuration(), logger: Logger = Logger(label: "purser.llm.testserver")) {
        self.shared = Locked(Shared(configuration: configuration))
        self.logger = logger
    }

    /// The port bound by `start()`.
    public var port: Int { boundPort }

    /// The base URL for `OpenAICompatibleConfiguration`: `http://127.0.0.1:<port>/v1`.
    public var baseURL: String { "http://127.0.0.1:\(boundPort)/v1" }

    /// Binds an ephemeral port on 127.0.0.1 and starts serving.
    public func start() throws(LLMTestServerError) {
        // Under the lock throughout, so a second `start` waits and then finds the state taken.
        let started = shared.withLock { shared -> Result<Void, LLMTestServerError> in
            guard shared.state == .idle else { return .failure(LLMTestServerError(.state, "the test server was already started; make a new one")) }
            do throws(LLMTestServerError) {
                try bindAndListen()
            } catch {
                return .failure(error)
            }
            shared.state = .running
            return .success(())
        }
        try started.get()
        let thread = Thread { [self] in runLoop() }
        thread.name = "purser-llm-testserver"
        thread.start()
        logger.debug("LLM test server listening", metadata: ["port": "\(boundPort)"])
    }

    /// The listening socket and the wake-up pipe; called by `start` under the lock.
    private func bindAndListen() throws(LLMTestServerError) {

        #if canImport(Glibc)
        let socketType = Int32(SOCK_STREAM.rawValue)
        #else
        let socketType = SOCK_STREAM
        #endif
        let fd = socket(AF_INET, socketType, 0)
        guard fd >= 0 else { throw .system("socket", "cannot create the test server's socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = LLMTestServerError.system("bind", "cannot bind 127.0.0.1")
            close(fd)
            throw error
        }
        guard listen(fd, Configuration.listenBacklog) == 0 else {
            let error = LLMTestServerError.system("listen", "cannot listen on 127.0.0.1")
            close(fd)
            throw error
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        boundPort = Int(UInt16(bigEndian: actual.sin_port))
        Self.setNonBlocking(fd)

        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else {
            let error = LLMTestServerError.system("pipe", "cannot create the test server's wake-up pipe")
            close(fd)
            throw error
        }
        Self.setNonBlocking(pipeEnds[0])
        Self.setNonBlocking(pipeEnds[1])
        listener = fd
        wakeRead = pipeEnds[0]
        wakeWrite = pipeEnds[1]
    }

    /// Closes every connection and the listener; returns after the server thread has exited.
    /// Calling it again does nothing.
    public func stop() {
        let wasRunning = shared.withLock { shared in
            defer { shared.state = .stopped }
            return shared.state == .running
        }
        guard wasRunning else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        exited.wait()
        close(listener)
        close(wakeRead)
        close(wakeWrite)
    }

    // MARK: Script

    /// Queues replies, answered in order before the responder is asked.
    public func enqueue(_ replies: ScriptedReply...) {
        enqueue(replies)
    }

    public func enqueue(_ replies: [ScriptedReply]) {
        shared.withLock { $0.queue.append(contentsOf: replies) }
    }

    /// Replaces the responder used when the queue is empty. It runs on the server thread and
    /// should return quickly; delays belong in `ScriptedReply.delay`.
    public func setResponder(_ responder: @escaping Responder) {
        shared.withLock { $0.responder = responder }
    }

    /// Changes the delay of replies that do not set their own.
    public func setDelay(_ delay: Duration) {
        shared.withLock { $0.configuration.delay = delay }
    }

    /// The requests received so far (the first `maxRecordedRequests`).
    public var requests: [RecordedRequest] {
        shared.withLock { $0.recorded }
    }

    /// How many requests were received, recorded or not.
    public var requestCount: Int {
        shared.withLock { $0.received }
    }

    /// Replies still queued.
    public var pendingReplies: Int {
        shared.withLock { $0.queue.count }
    }

    // MARK: Event loop

    private final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        /// Responses in request order, each sent once due and once all before it are sent.
        var scheduled: [(due: ContinuousClock.Instant, bytes: [UInt8])] = []
        var sentContinue = false
        var closeWhenFlushed = false

        init(fd: Int32) { self.fd = fd }
    }

    private func runLoop() {
        var connections: [Int32: Connection] = [:]
        defer {
            for connection in connections.values { close(connection.fd) }
            exited.signal()
        }
        while true {
            let now = ContinuousClock.now
            // Move due responses, in order, into the output buffers.
            var nextDue: ContinuousClock.Instant?
            for connection in connections.values {
                while let first = connection.scheduled.first, first.due <= now {
                    connection.output.append(contentsOf: first.bytes)
                    connection.scheduled.removeFirst()
                }
                if let first = connection.scheduled.first { nextDue = min(nextDue ?? first.due, first.due) }
                if !connection.output.isEmpty { flush(connection) }
                if connection.output.isEmpty, connection.closeWhenFlushed, connection.scheduled.isEmpty {
                    close(connection.fd)
                    connections[connection.fd] = nil
                }
            }

            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for connection in connections.values {
                var events = Int16(POLLIN)
                if !connection.output.isEmpty { events |= Int16(POLLOUT) }
                fds.append(pollfd(fd: connection.fd, events: events, revents: 0))
            }
            var timeout: Int32 = -1
            if let nextDue {
                let wait = nextDue - ContinuousClock.now
                let (seconds, attoseconds) = wait.components
                timeout = max(0, Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1))
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.error("LLM test server poll failed", metadata: ["errno": "\(errno)"])
                return
            }
            if fds[1].revents != 0 {
                let stopping = shared.withLock { $0.state != .running }
                if stopping { return }
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &sink, sink.count) > 0 {}
            }
            if fds[0].revents & Int16(POLLIN) != 0 {
                while true {
                    let client = accept(listener, nil, nil)
                    if client < 0 { break }
                    Self.setNonBlocking(client)
                    var yes: Int32 = 1
                    setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
                    connections[client] = Connection(fd: client)
                }
            }
            for entry in fds.dropFirst(2) where entry.revents != 0 {
                guard let connection = connections[entry.fd] else { continue }
                if entry.revents & Int16(POLLOUT) != 0 { flush(connection) }
                if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    if !readAvailable(connection) {
                        close(connection.fd)
                        connections[connection.fd] = nil
                    }
                }
            }
        }
    }

    /// Reads what is there and handles every complete request; `false` when the peer closed.
    private func readAvailable(_ connection: Connection) -> Bool {
        var buffer = [UInt8](repeating: 0, count: Self.readChunkBytes)
        while true {
            let count = recv(connection.fd, &buffer, buffer.count, 0)
            if count > 0 {
                connection.input.append(contentsOf: buffer[0..<count])
                continue
            }
            if count == 0 { return false }
            if errno == EAGAIN || errno == EWOULDBLOCK { break }
            if errno == EINTR { continue }
            return false
        }
        while let request = parseRequest(connection) {
            handle(request, on: connection)
        }
        return true
    }

    private struct ParsedRequest {
        var method: String
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    private static let headerTerminator: [UInt8] = Array("\r\n\r\n".utf8)

    private func parseRequest(_ connection: Connection) -> ParsedRequest? {
        guard let headEnd = Self.find(Self.headerTerminator, in: connection.input) else {
            if connection.input.count > Self.maxHeaderBytes {
                respondAndClose(connection, status: 431, body: "request head too large")
            }
            return nil
        }
        let head = String(decoding: connection.input[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else {
            respondAndClose(connection, status: 400, body: "malformed request line")
            return nil
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()] =
                line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["transfer-encoding"] != nil {
            respondAndClose(connection, status: 411, body: "send Content-Length; chunked bodies are not supported")
            return nil
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd + Self.headerTerminator.count
        guard connection.input.count >= bodyStart + length else {
            if headers["expect"]?.lowercased() == "100-continue", !connection.sentContinue {
                connection.sentContinue = true
                connection.output.append(contentsOf: Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
                flush(connection)
            }
            return nil
        }
        let body = Array(connection.input[bodyStart..<(bodyStart + length)])
        connection.input.removeFirst(bodyStart + length)
        connection.sentContinue = false
        return ParsedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
    }

    private func handle(_ parsed: ParsedRequest, on connection: Connection) {
        let request = shared.withLock { shared in
            let request = RecordedRequest(method: parsed.method, path: parsed.path, headers: parsed.headers,
                                          body: Data(parsed.body), index: shared.received)
            shared.received += 1
            if shared.recorded.count < shared.configuration.maxRecordedRequests { shared.recorded.append(request) }
            return request
        }
        let path = parsed.path.split(separator: "?").first.map(String.init) ?? parsed.path
        let reply: ScriptedReply
        var generation = 0
        if parsed.method == "POST", path == "/v1/chat/completions" || path == "/chat/completions" {
            // The responder runs outside the lock: it may call back into the server.
            let (queued, responder) = shared.withLock { shared in
                (shared.queue.isEmpty ? nil : shared.queue.removeFirst(), shared.responder)
            }
            reply = queued ?? responder(request)
            generation = shared.withLock { shared in
                shared.completions += 1
                return shared.completions
            }
        } else if parsed.method == "GET", path == "/v1/models" || path == "/models" {
            reply = .raw(status: 200, body: #"{"object":"list","data":[{"id":"test-model","object":"model"}]}"#)
        } else {
            reply = .raw(status: 404, body: #"{"error":{"message":"no route \#(parsed.method) \#(path)","code":404}}"#)
        }
        let delay = reply.delay ?? shared.withLock { $0.configuration.delay }

        let body = reply.bodyData(for: request, generation: generation)
        let closeAfter = parsed.headers["connection"]?.lowercased() == "close"
        var head = "HTTP/1.1 \(reply.status) \(Self.reason(reply.status))\r\n"
        head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        head += closeAfter ? "Connection: close\r\n" : "Connection: keep-alive\r\n"
        for header in reply.headers { head += "\(header.name): \(header.value)\r\n" }
        head += "\r\n"
        connection.scheduled.append((ContinuousClock.now + delay, Array(head.utf8) + Array(body)))
        if closeAfter { connection.closeWhenFlushed = true }
    }

    private func respondAndClose(_ connection: Connection, status: Int, body: String) {
        let text = "HTTP/1.1 \(status) \(Self.reason(status))\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        connection.input.removeAll()
        connection.scheduled.append((ContinuousClock.now, Array(text.utf8)))
        connection.closeWhenFlushed = true
    }

    private func flush(_ connection: Connection) {
        while !connection.output.isEmpty {
            let sent = connection.output.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Self.sendFlags) }
            if sent > 0 {
                connection.output.removeFirst(sent)
            } else if sent < 0, errno == EINTR {
                continue
            } else {
                // EAGAIN: poll reports when the socket takes more. Other errors: the peer is gone
                // (a client that timed out); the next read sees the close.
                if sent < 0, errno != EAGAIN, errno != EWOULDBLOCK { connection.output.removeAll() }
                return
            }
        }
    }

    #if canImport(Glibc)
    /// A peer that hung up must not kill the test process with SIGPIPE.
    private static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    private static let sendFlags: Int32 = 0
    #endif

    private static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        #if canImport(Darwin)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &yes, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0], Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index += 1
        }
        return nil
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 408: "Request Timeout"
        case 411: "Length Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}
