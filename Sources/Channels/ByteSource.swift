import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Something that hands out an input in chunks, so readers never need the whole input in memory.
///
/// A reference type because readers keep pulling from one shared position; instances are owned
/// by one reader at a time and are not meant to be shared between tasks.
public protocol ByteChunkSource: AnyObject {
    /// The next chunk, or `nil` at the end of the input. Never returns an empty chunk.
    func nextChunk() throws(ChannelError) -> [UInt8]?
}

/// Reads a `FileHandle` (a file, a pipe, standard input) chunk by chunk.
///
/// Uses `read(2)` on the descriptor, which returns what is available, so a reader behind a pipe
/// (`adapter | purser ingest -`) handles each line as it arrives instead of waiting for a full
/// chunk.
public final class FileHandleSource: ByteChunkSource {
    private let handle: FileHandle
    private let name: String
    private let chunkBytes: Int
    private var buffer: [UInt8]

    /// - Parameter name: used in the error message when the read fails.
    public init(_ handle: FileHandle, name: String, chunkBytes: Int = ChannelLimits.standard.readChunkBytes) {
        self.handle = handle
        self.name = name
        self.chunkBytes = max(1, chunkBytes)
        self.buffer = [UInt8](repeating: 0, count: max(1, chunkBytes))
    }

    public func nextChunk() throws(ChannelError) -> [UInt8]? {
        let descriptor = handle.fileDescriptor
        while true {
            let count = buffer.withUnsafeMutableBytes { pointer in
                read(descriptor, pointer.baseAddress, pointer.count)
            }
            if count > 0 { return Array(buffer[0..<count]) }
            if count == 0 { return nil }
            let code = errno
            if code == EINTR { continue }
            throw ChannelError(.readFailed, "could not read \(name): \(String(cString: strerror(code))); check that it exists and is readable",
                               cause: POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO))
        }
    }
}

/// Hands out bytes already in memory in chunks of a fixed size (webhook bodies, tests that want
/// to cut lines and mails at awkward places).
public final class DataSource: ByteChunkSource {
    private let bytes: [UInt8]
    private var offset = 0
    private let chunkBytes: Int

    public init(_ data: Data, chunkBytes: Int = ChannelLimits.standard.readChunkBytes) {
        self.bytes = [UInt8](data)
        self.chunkBytes = max(1, chunkBytes)
    }

    public convenience init(_ text: String, chunkBytes: Int = ChannelLimits.standard.readChunkBytes) {
        self.init(Data(text.utf8), chunkBytes: chunkBytes)
    }

    public func nextChunk() throws(ChannelError) -> [UInt8]? {
        guard offset < bytes.count else { return nil }
        let end = min(bytes.count, offset + chunkBytes)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// Replays bytes a detector already consumed, then continues with the underlying source.
final class ReplaySource: ByteChunkSource {
    private var prefix: [UInt8]?
    private let rest: any ByteChunkSource

    init(prefix: [UInt8], rest: any ByteChunkSource) {
        self.prefix = prefix.isEmpty ? nil : prefix
        self.rest = rest
    }

    func nextChunk() throws(ChannelError) -> [UInt8]? {
        if let prefix {
            self.prefix = nil
            return prefix
        }
        return try rest.nextChunk()
    }
}

/// One line of a line-oriented input, without its `\n` (a `\r` before it is kept).
public struct InputLine: Sendable, Hashable {
    /// 1-based line number.
    public var number: Int
    /// The line's bytes, at most the reader's `lineBytesMax` of them.
    public var bytes: [UInt8]
    /// The line's full length; larger than `bytes.count` when the line was too long to keep.
    public var byteCount: Int

    public var isTruncated: Bool { byteCount > bytes.count }

    /// The bytes without the `\r` of a CRLF line end, for readers that take both line ends.
    public var bytesWithoutCarriageReturn: ArraySlice<UInt8> {
        bytes.last == 0x0D && !isTruncated ? bytes.dropLast() : bytes[...]
    }
}

/// Splits a byte source into lines with bounded memory: a line longer than `lineBytesMax` is
/// returned cut, with its true length, and the rest of it is skipped without being stored.
public final class LineReader {
    private let source: any ByteChunkSource
    private let lineBytesMax: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var exhausted = false
    private var lineNumber = 0

    public init(source: any ByteChunkSource, lineBytesMax: Int = ChannelLimits.standard.lineBytesMax) {
        self.source = source
        self.lineBytesMax = max(1, lineBytesMax)
    }

    /// The next line, or `nil` at the end of the input. A final line without `\n` is returned;
    /// an empty input has no lines.
    public func nextLine() throws(ChannelError) -> InputLine? {
        var kept: [UInt8] = []
        var dropped = 0
        var scanFrom = start
        while true {
            if let newline = firstNewline(from: scanFrom) {
                let piece = buffer[start..<newline]
                append(piece, to: &kept, dropped: &dropped)
                start = newline + 1
                compact()
                lineNumber += 1
                return InputLine(number: lineNumber, bytes: kept, byteCount: kept.count + dropped)
            }
            if buffer.count - start > lineBytesMax || (!kept.isEmpty || dropped > 0) {
                // The line is already longer than anything we buffer: move what we have out of
                // the buffer (keeping at most the limit) so memory stays bounded.
                append(buffer[start..<buffer.count], to: &kept, dropped: &dropped)
                start = buffer.count
                compact()
            }
            scanFrom = buffer.count
            if exhausted {
                append(buffer[start..<buffer.count], to: &kept, dropped: &dropped)
                start = buffer.count
                compact()
                if kept.isEmpty && dropped == 0 { return nil }
                lineNumber += 1
                return InputLine(number: lineNumber, bytes: kept, byteCount: kept.count + dropped)
            }
            if let chunk = try source.nextChunk() {
                buffer.append(contentsOf: chunk)
            } else {
                exhausted = true
            }
        }
    }

    /// The next line and every further line already complete in the buffer, without waiting for
    /// more input: a pipe's lines are handed over in batches as they arrive (`purser log append -`
    /// acknowledges each batch while the writer is still writing). `nil` at the end of the input.
    public func nextLines() throws(ChannelError) -> [InputLine]? {
        guard let first = try nextLine() else { return nil }
        var lines = [first]
        while firstNewline(from: start) != nil, let line = try nextLine() {
            lines.append(line)
        }
        return lines
    }

    private func append(_ piece: ArraySlice<UInt8>, to kept: inout [UInt8], dropped: inout Int) {
        let room = max(0, lineBytesMax - kept.count)
        if piece.count <= room {
            kept.append(contentsOf: piece)
        } else {
            kept.append(contentsOf: piece.prefix(room))
            dropped += piece.count - room
        }
    }

    private func firstNewline(from index: Int) -> Int? {
        guard index < buffer.count else { return nil }
        return buffer.withUnsafeBufferPointer { pointer -> Int? in
            guard let base = pointer.baseAddress else { return nil }
            guard let hit = memchr(base + index, 0x0A, buffer.count - index) else { return nil }
            return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
        }
    }

    private func compact() {
        if start >= buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 1 << 16 && start * 2 > buffer.count {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}

/// One mail cut out of an mbox.
public struct MboxMessage: Sendable, Hashable {
    /// 1-based number of the mail in the mailbox.
    public var index: Int
    /// The line of its `From ` envelope line (or of its first line when there is none).
    public var line: Int
    /// The envelope line without `From ` (sender and date as the MTA wrote them), if present.
    public var envelope: String?
    /// The mail as RFC 5322 bytes, `>From ` unescaped, at most `messageBytesMax` of them.
    public var bytes: [UInt8]
    /// The mail's full size; larger than `bytes.count` when it was over the limit.
    public var byteCount: Int

    public var isTruncated: Bool { byteCount > bytes.count }
}

/// Splits an mbox into mails as it reads, holding one mail at a time.
///
/// A mail starts at a line beginning with `From ` at the top of the file or after an empty line
/// (the mbox separator rule, which keeps a body line like "From here on…" inside its mail).
/// `>From `, `>>From ` … lines are unescaped by one `>` (mboxrd). Text before the first `From `
/// line counts as a mail of its own, so a single message without an envelope line still comes out.
public final class MboxSplitter {
    private let lines: LineReader
    private let messageBytesMax: Int
    private var pendingEnvelope: InputLine?
    private var index = 0
    private var finished = false

    public init(source: any ByteChunkSource, messageBytesMax: Int = ChannelLimits.standard.emailMessageBytesMax) {
        self.lines = LineReader(source: source, lineBytesMax: messageBytesMax)
        self.messageBytesMax = max(1, messageBytesMax)
    }

    public func nextMessage() throws(ChannelError) -> MboxMessage? {
        guard !finished || pendingEnvelope != nil else { return nil }
        var envelope = pendingEnvelope
        pendingEnvelope = nil
        var body: [UInt8] = []
        var byteCount = 0
        var firstLine = envelope?.number
        // At the top of the file an envelope may come at once; right after one it may not.
        var previousEmpty = envelope == nil
        var lastLineStored = 0
        while true {
            guard let line = try lines.nextLine() else {
                finished = true
                break
            }
            let content = line.bytes.last == 0x0D ? line.bytes.dropLast() : line.bytes[...]
            if previousEmpty && Self.isEnvelope(content) {
                if firstLine == nil {
                    envelope = line
                    firstLine = line.number
                    previousEmpty = false
                    continue
                }
                pendingEnvelope = line
                break
            }
            if firstLine == nil {
                if content.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                firstLine = line.number
            }
            var bytes = line.bytes[...]
            if Self.isEscapedEnvelope(bytes) { bytes = bytes.dropFirst() }
            let room = max(0, messageBytesMax - body.count)
            let stored = min(room, bytes.count + 1)
            body.append(contentsOf: bytes.prefix(stored))
            if stored == bytes.count + 1 { body.append(0x0A) }
            lastLineStored = stored == bytes.count + 1 ? stored : -1
            byteCount += line.byteCount - line.bytes.count + bytes.count + 1
            previousEmpty = content.isEmpty
        }
        guard let firstLine else { return nil }
        // The empty line before the next envelope separates mails; it is not part of the mail.
        if pendingEnvelope != nil, previousEmpty, lastLineStored > 0, byteCount == body.count {
            body.removeLast(lastLineStored)
            byteCount = body.count
        }
        index += 1
        let envelopeText = envelope.map {
            String(decoding: $0.bytes.dropFirst(5), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return MboxMessage(index: index, line: firstLine, envelope: envelopeText, bytes: body, byteCount: byteCount)
    }

    static func isEnvelope(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.count >= 5 && bytes.prefix(5).elementsEqual("From ".utf8)
    }

    static func isEscapedEnvelope(_ bytes: ArraySlice<UInt8>) -> Bool {
        var i = bytes.startIndex
        while i < bytes.endIndex, bytes[i] == 0x3E { i += 1 }
        guard i > bytes.startIndex else { return false }
        return bytes[i...].starts(with: "From ".utf8)
    }
}
