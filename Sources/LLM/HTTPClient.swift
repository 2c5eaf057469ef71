import CCurl
import Foundation
import PurserCore
import Logging

/// One HTTP header as sent or received.
public struct HTTPHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// An HTTP request for `HTTPClient`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [HTTPHeader]
    public var body: Data
    /// How long establishing the connection (TCP and TLS) may take.
    public var connectTimeout: Duration
    /// How long the whole exchange may take, connect included.
    public var totalTimeout: Duration

    public init(method: String = "POST", url: String, headers: [HTTPHeader] = [], body: Data = Data(),
                connectTimeout: Duration = HTTPClient.defaultConnectTimeout,
                totalTimeout: Duration = HTTPClient.defaultTotalTimeout) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeout = connectTimeout
        self.totalTimeout = totalTimeout
    }

    /// A POST of a JSON body.
    public static func postJSON(url: String, body: Data, headers: [HTTPHeader] = [],
                                connectTimeout: Duration = HTTPClient.defaultConnectTimeout,
                                totalTimeout: Duration = HTTPClient.defaultTotalTimeout) -> HTTPRequest {
        HTTPRequest(method: "POST", url: url,
                    headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Accept", "application/json")] + headers,
                    body: body, connectTimeout: connectTimeout, totalTimeout: totalTimeout)
    }
}

/// An HTTP response: any status, including 4xx and 5xx, is a response, not an error.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// The headers of the final response (not of a `100 Continue`), in the order received.
    public var headers: [HTTPHeader]
    public var body: Data

    public init(status: Int, headers: [HTTPHeader], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header named `name`, compared case-insensitively as HTTP requires.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}

/// A small HTTP client over libcurl's multi interface.
///
/// All transfers of one client are driven by a single dedicated thread (`curl_multi_poll`), so
/// awaiting a response never blocks a thread of Swift's cooperative pool, and hundreds of calls
/// in flight (the pipeline's concurrent sessions each waiting on an LLM) cost one thread, not
/// hundreds. Connections are kept alive and reused between calls to the same host.
///
/// `shared` lives for the process. A client made with `init` runs until `shutdown()`.
public final class HTTPClient: Sendable {
    /// Generous for TLS to a distant API, short enough that a dead host fails fast.
    public static let defaultConnectTimeout: Duration = .seconds(10)
    /// LLM completions with long outputs can take a minute; beyond two something is wrong.
    public static let defaultTotalTimeout: Duration = .seconds(120)
    /// Bounds the connection cache so a burst of sessions cannot hold file descriptors forever;
    /// large enough that 500 concurrent sessions reuse their connections rather than reconnect.
    public static let maxCachedConnections = 1024

    /// A client for the whole process.
    public static let shared = HTTPClient(logger: Logger(label: "purser.llm.http"))

    private let loop: CurlLoop

    public init(logger: Logger) {
        loop = CurlLoop(logger: logger)
    }

    /// Sends `request` and returns the response, whatever its status.
    ///
    /// Throws `.timeout` when a timeout elapsed, `.transport` when no response arrived,
    /// `.invalidRequest` when curl refused the request, `.cancelled` when the task was cancelled
    /// or the client shut down.
    public func send(_ request: HTTPRequest) async throws(LLMError) -> HTTPResponse {
        if Task.isCancelled { throw LLMError(.cancelled, "the task was cancelled before \(request.url) was sent") }
        let transfer = try Transfer(request: request)
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<HTTPResponse, LLMError>, Never>) in
                transfer.continuation = continuation
                loop.submit(transfer)
            }
        } onCancel: {
            loop.cancel(transfer)
        }
        return try result.get()
    }

    /// Stops the client's thread; calls still in flight fail with `.cancelled`. Returns once the
    /// thread has exited.
    public func shutdown() {
        loop.shutdown()
    }
}

// MARK: - The transfer loop

/// curl_global_init is not thread-safe; a `static let` runs it exactly once, before any handle.
private let curlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))

/// One request in flight. Touched by the submitting task until `submit`, then only by the loop
/// thread (the `cancelled` flag is read and written under the loop's lock).
private final class Transfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    var headerList: UnsafeMutablePointer<curl_slist>?
    var continuation: CheckedContinuation<Result<HTTPResponse, LLMError>, Never>?
    var body = Data()
    var headers: [HTTPHeader] = []
    let url: String
    /// Assigned by the loop on submit; identifies the transfer for cancellation even after its
    /// memory is reused.
    var id: UInt64 = 0
    /// Set under the loop's lock when the task was cancelled before `submit` gave it an id.
    var cancelledBeforeSubmit = false

    init(request: HTTPRequest) throws(LLMError) {
        _ = curlGlobalInit
        guard let easy = curl_easy_init() else {
            throw LLMError(.invalidRequest, "libcurl could not create a handle (out of memory?)")
        }
        self.easy = easy
        url = request.url
        var status = CURLE_OK
        func set(_ code: CURLcode) { if status == CURLE_OK { status = code } }
        set(purser_curl_setopt_string(easy, CURLOPT_URL, request.url))
        set(purser_curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(purser_curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        set(purser_curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout)))
        set(purser_curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.totalTimeout)))
        set(purser_curl_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, ""))
        if request.method == "POST" {
            set(purser_curl_setopt_long(easy, CURLOPT_POST, 1))
            set(purser_curl_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            // COPYPOSTFIELDS: curl keeps its own copy, so the Data need not outlive this init.
            set(request.body.withUnsafeBytes { raw in
                purser_curl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS,
                                           UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            })
        } else if request.method != "GET" {
            set(purser_curl_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
        }
        // An empty "Expect:" stops curl from waiting for `100 Continue` before large bodies, a
        // round trip that only costs latency with servers that accept everything.
        var list: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "Expect:")
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        headerList = list
        set(purser_curl_setopt_slist(easy, CURLOPT_HTTPHEADER, list))
        set(purser_curl_setopt_write_function(easy, transferWriteBody))
        set(purser_curl_setopt_header_function(easy, transferWriteHeader))
        if status != CURLE_OK {
            let reason = String(cString: curl_easy_strerror(status))
            curl_easy_cleanup(easy)
            curl_slist_free_all(list)
            throw LLMError(.invalidRequest, "libcurl refused the request to \(request.url): \(reason)")
        }
    }

    /// Points the callbacks' user data at this object; the loop keeps it alive while curl runs.
    func attachCallbacks() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = purser_curl_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        _ = purser_curl_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        _ = purser_curl_setopt_pointer(easy, CURLOPT_PRIVATE, me)
    }

    func finish(_ result: Result<HTTPResponse, LLMError>) {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        headerList = nil
        continuation?.resume(returning: result)
        continuation = nil
    }

    func response() -> HTTPResponse {
        var status = 0
        _ = purser_curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

private func transferWriteBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                               _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    data.withMemoryRebound(to: UInt8.self, capacity: length) { transfer.body.append($0, count: length) }
    return length
}

private func transferWriteHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int,
                                 _ userdata: UnsafeMutableRawPointer?) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }.trimmingCharacters(in: .whitespacesAndNewlines)
    if line.hasPrefix("HTTP/") {
        // A new status line: headers of an interim response (100 Continue) are dropped.
        transfer.headers.removeAll()
    } else if let colon = line.firstIndex(of: ":") {
        let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
        let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        transfer.headers.append(HTTPHeader(name, value))
    }
    return length
}

/// The thread that drives every transfer of one `HTTPClient` through a curl multi handle.
private final class CurlLoop: @unchecked Sendable {
    /// How long `curl_multi_poll` sleeps when nothing happens; new work wakes it earlier.
    private static let idlePollMilliseconds: Int32 = 1000

    private let logger: Logger
    private let multi: UnsafeMutableRawPointer
    /// What `submit`, `cancel` and `shutdown` hand the loop thread. The `id` and
    /// `cancelledBeforeSubmit` of a `Transfer` are also only touched inside `state.withLock`.
    private struct State {
        var incoming: [Transfer] = []
        var cancelled: Set<UInt64> = []
        var nextId: UInt64 = 1
        var stopping = false
        var threadStarted = false
    }
    private let state = Locked(State())
    private let exited = DispatchSemaphore(value: 0)
    // Loop thread only:
    private var active: [UInt64: Transfer] = [:]

    init(logger: Logger) {
        _ = curlGlobalInit
        self.logger = logger
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: libcurl cannot allocate") }
        self.multi = multi
        _ = purser_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, HTTPClient.maxCachedConnections)
    }

    func submit(_ transfer: Transfer) {
        enum Decision { case refuseStopping, refuseCancelled, queued(startThread: Bool) }
        let multi = multi
        let decision = state.withLock { state -> Decision in
            if state.stopping { return .refuseStopping }
            if transfer.cancelledBeforeSubmit { return .refuseCancelled }
            transfer.id = state.nextId
            state.nextId += 1
            state.incoming.append(transfer)
            let start = !state.threadStarted
            state.threadStarted = true
            if !start {
                // Under the lock, so `shutdown` cannot free the multi handle meanwhile.
                curl_multi_wakeup(multi)
            }
            return .queued(startThread: start)
        }
        switch decision {
        case .refuseStopping:
            transfer.finish(.failure(LLMError(.cancelled, "the HTTP client was shut down before \(transfer.url) could be sent")))
        case .refuseCancelled:
            transfer.finish(.failure(LLMError(.cancelled, "the request to \(transfer.url) was cancelled")))
        case .queued(let start):
            if start {
                let thread = Thread { [self] in run() }
                thread.name = "purser-curl"
                thread.start()
            }
        }
    }

    func cancel(_ transfer: Transfer) {
        let multi = multi
        state.withLock { state in
            if transfer.id == 0 {
                transfer.cancelledBeforeSubmit = true
            } else if !state.stopping {
                state.cancelled.insert(transfer.id)
                curl_multi_wakeup(multi)
            }
        }
    }

    func shutdown() {
        let (alreadyStopping, running) = state.withLock { state -> (Bool, Bool) in
            if state.stopping { return (true, false) }
            state.stopping = true
            return (false, state.threadStarted)
        }
        if alreadyStopping { return }
        if running {
            curl_multi_wakeup(multi)
            exited.wait()
        }
        curl_multi_cleanup(multi)
    }

    private func run() {
        var stillRunning: Int32 = 0
        while true {
            let (newTransfers, cancelledIds, stop) = state.withLock { state in
                defer {
                    state.incoming.removeAll()
                    state.cancelled.removeAll()
                }
                return (state.incoming, state.cancelled, state.stopping)
            }

            for transfer in newTransfers {
                transfer.attachCallbacks()
                let code = curl_multi_add_handle(multi, transfer.easy)
                if code != CURLM_OK {
                    let reason = String(cString: curl_multi_strerror(code))
                    transfer.finish(.failure(LLMError(.transport, "libcurl could not start the request to \(transfer.url): \(reason)")))
                } else {
                    active[transfer.id] = transfer
                }
            }
            for id in cancelledIds {
                guard let transfer = active.removeValue(forKey: id) else { continue }
                curl_multi_remove_handle(multi, transfer.easy)
                transfer.finish(.failure(LLMError(.cancelled, "the request to \(transfer.url) was cancelled")))
            }
            if stop {
                for transfer in active.values {
                    curl_multi_remove_handle(multi, transfer.easy)
                    transfer.finish(.failure(LLMError(.cancelled, "the HTTP client was shut down while \(transfer.url) was in flight")))
                }
                active.removeAll()
                exited.signal()
                return
            }

            curl_multi_perform(multi, &stillRunning)
            var queued: Int32 = 0
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = purser_curl_msg_result(message)
                var privatePointer: UnsafeMutableRawPointer?
                _ = purser_curl_getinfo_private(easy, &privatePointer)
                curl_multi_remove_handle(multi, easy)
                guard let privatePointer else { continue }
                let transfer = Unmanaged<Transfer>.fromOpaque(privatePointer).takeUnretainedValue()
                active.removeValue(forKey: transfer.id)
                complete(transfer, result)
            }
            curl_multi_poll(multi, nil, 0, Self.idlePollMilliseconds, nil)
        }
    }

    private func complete(_ transfer: Transfer, _ result: CURLcode) {
        if result == CURLE_OK {
            transfer.finish(.success(transfer.response()))
            return
        }
        let reason = String(cString: curl_easy_strerror(result))
        let error: LLMError
        switch result {
        case CURLE_OPERATION_TIMEDOUT:
            error = LLMError(.timeout, "no complete response from \(transfer.url) within the timeout: \(reason)")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            error = LLMError(.invalidRequest, "the URL \(transfer.url) is not usable: \(reason); check PURSER_LLM_BASE_URL")
        default:
            error = LLMError(.transport, "the request to \(transfer.url) failed: \(reason) (curl error \(result.rawValue))")
        }
        logger.debug("HTTP transfer failed", metadata: ["url": "\(transfer.url)", "curl": "\(result.rawValue)"])
        transfer.finish(.failure(error))
    }
}
