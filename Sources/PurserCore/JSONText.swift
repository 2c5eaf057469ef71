import Foundation

// A small JSON reader and writer for `JSONValue`.
//
// Foundation's parsers report a bad line as "the data couldn't be read because it isn't in the
// correct format"; users importing ontology files or agent configs need to know *where* and
// *what*, so this parser names the byte column and what it expected there.

extension JSONValue {
    /// Parses one JSON document (RFC 8259). Leading and trailing whitespace and a leading UTF-8
    /// byte-order mark are allowed; anything else after the value is an error.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONError) {
        let parsed: Result<JSONValue, JSONSyntaxError>
        if let result = bytes.withContiguousStorageIfAvailable({ JSONReader.parse($0) }) {
            parsed = result
        } else {
            parsed = Array(bytes).withUnsafeBufferPointer { JSONReader.parse($0) }
        }
        switch parsed {
        case .success(let value): self = value
        case .failure(let error):
            throw JSONError(.invalidJSON, "not valid JSON: \(error.reason) at column \(error.column)")
        }
    }

    /// Parses a JSON document held in `data`.
    public init(parsing data: Data) throws(JSONError) {
        let parsed = data.withUnsafeBytes { raw in
            JSONReader.parse(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
        }
        switch parsed {
        case .success(let value): self = value
        case .failure(let error):
            throw JSONError(.invalidJSON, "not valid JSON: \(error.reason) at column \(error.column)")
        }
    }

    /// Parses a JSON document held in `text`.
    public init(parsing text: String) throws(JSONError) {
        try self.init(parsing: Data(text.utf8))
    }

    /// Compact JSON text with object keys sorted, so equal values serialize to equal bytes.
    /// Non-finite numbers, which JSON cannot hold, are written as `null`.
    public func serialized() -> String {
        var writer = JSONWriter()
        writer.write(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// `serialized()` as UTF-8 bytes.
    public func serializedData() -> Data {
        var writer = JSONWriter()
        writer.write(self)
        return Data(writer.bytes)
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { serialized() }
}

/// The codes of `JSONError`.
public enum JSONErrorCode: String, Sendable, Hashable, CaseIterable {
    /// Bytes that are not valid JSON (or not UTF-8); the message names the byte column.
    case invalidJSON = "json.invalid"
}

/// The error of `JSONValue(parsing:)`: what was wrong and at which byte column.
public typealias JSONError = CodedError<JSONErrorCode>

struct JSONSyntaxError: Error {
    /// 1-based byte column within the parsed text.
    var column: Int
    var reason: String
}

private struct JSONReader {
    /// Deep enough for any real document, shallow enough that hostile input cannot exhaust the
    /// stack.
    static let maximumDepth = 256

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    var depth = 0

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
        var reader = JSONReader(bytes: bytes)
        do throws(JSONSyntaxError) {
            if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { reader.index = 3 }
            reader.skipWhitespace()
            guard reader.index < bytes.count else {
                throw JSONSyntaxError(column: reader.index + 1, reason: "empty input, expected a JSON value")
            }
            let value = try reader.readValue()
            reader.skipWhitespace()
            if reader.index < bytes.count {
                throw JSONSyntaxError(column: reader.index + 1, reason: "unexpected \(reader.describeCurrent()) after the JSON value")
            }
            return .success(value)
        } catch {
            return .failure(error)
        }
    }

    func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        if byte >= 0x21 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return String(format: "byte 0x%02X", byte)
    }

    func fail(_ reason: String) -> JSONSyntaxError {
        JSONSyntaxError(column: index + 1, reason: reason)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func readValue() throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw fail("unexpected end of input, expected a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try readObject()
        case UInt8(ascii: "["): return try readArray()
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try readLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try readLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try readLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        default: throw fail("unexpected \(describeCurrent()), expected a value (object, array, string, number, true, false or null)")
        }
    }

    mutating func readLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        let matches = index + count <= bytes.count && (0..<count).allSatisfy { bytes[index + $0] == literal.utf8Start[$0] }
        guard matches else { throw fail("unexpected \(describeCurrent()), expected a value (strings need double quotes)") }
        index += count
    }

    mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth { throw fail("nesting deeper than \(Self.maximumDepth) levels") }
    }

    mutating func readObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw fail("unexpected \(describeCurrent()), expected a member name in double quotes")
            }
            let key = try readString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw fail("unexpected \(describeCurrent()), expected ':' after member name \"\(key)\"")
            }
            index += 1
            skipWhitespace()
            members[key] = try readValue()
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input, expected ',' or '}'") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(members)
            default: throw fail("unexpected \(describeCurrent()), expected ',' or '}' after member \"\(key)\"")
            }
        }
    }

    mutating func readArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try readValue())
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of input, expected ',' or ']'") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(elements)
            default: throw fail("unexpected \(describeCurrent()), expected ',' or ']' in array")
            }
        }
    }

    mutating func readNumber() throws(JSONSyntaxError) -> Double {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") }
        guard isDigit(index) else { throw fail("expected a digit in number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if isDigit(index) { throw fail("numbers must not have leading zeros") }
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { throw fail("expected a digit after the decimal point") }
            while isDigit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { throw fail("expected a digit in the exponent") }
            while isDigit(index) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            index = start
            throw fail("number \(text) is out of range")
        }
        return value
    }

    mutating func readString() throws(JSONSyntaxError) -> String {
        let open = index
        index += 1
        let start = index
        var asciiOnly = true
        // Fast path: no escapes, so the string is a slice of the input.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return try makeString(slice, asciiOnly: asciiOnly, at: start)
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw fail("control character in string (write it as an escape such as \\n)") }
            if byte >= 0x80 { asciiOnly = false }
            index += 1
        }
        guard index < bytes.count else {
            index = open
            throw fail("string is not terminated (missing closing double quote)")
        }
        var buffer = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return try buffer.withUnsafeBufferPointer { pointer throws(JSONSyntaxError) in
                    try makeString(pointer, asciiOnly: asciiOnly, at: start)
                }
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): buffer.append(0x22)
                case UInt8(ascii: "\\"): buffer.append(0x5C)
                case UInt8(ascii: "/"): buffer.append(0x2F)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try readUnicodeEscape()
                    if scalar.value >= 0x80 { asciiOnly = false }
                    buffer.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    index -= 2
                    throw fail("invalid escape sequence in string")
                }
            default:
                if byte < 0x20 { throw fail("control character in string (write it as an escape such as \\n)") }
                if byte >= 0x80 { asciiOnly = false }
                buffer.append(byte)
                index += 1
            }
        }
        index = open
        throw fail("string is not terminated (missing closing double quote)")
    }

    mutating func readHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail("\\u must be followed by four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail("\\u must be followed by four hex digits")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Reads the hex digits of a `\u` escape, joining UTF-16 surrogate pairs. A lone surrogate
    /// cannot be held in a Swift string and becomes U+FFFD.
    mutating func readUnicodeEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        let first = try readHex4()
        if (0xD800...0xDBFF).contains(first),
           index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
            let save = index
            index += 2
            let second = try readHex4()
            if (0xDC00...0xDFFF).contains(second) {
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)) ?? "\u{FFFD}"
            }
            index = save
        }
        return Unicode.Scalar(first) ?? "\u{FFFD}"
    }

    func makeString(_ slice: UnsafeBufferPointer<UInt8>, asciiOnly: Bool, at start: Int) throws(JSONSyntaxError) -> String {
        if asciiOnly { return String(decoding: slice, as: UTF8.self) }
        guard let text = String(bytes: slice, encoding: .utf8) else {
            throw JSONSyntaxError(column: start + 1, reason: "string is not valid UTF-8")
        }
        return text
    }
}

private struct JSONWriter {
    var bytes: [UInt8] = []

    mutating func write(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .number(let number): writeNumber(number)
        case .string(let text): writeString(text)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (offset, element) in elements.enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                write(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (offset, key) in members.keys.sorted().enumerated() {
                if offset > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(key)
                bytes.append(UInt8(ascii: ":"))
                write(members[key] ?? .null)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    mutating func writeNumber(_ number: Double) {
        guard number.isFinite else { return append("null") }
        if number.rounded() == number, abs(number) < 1e15 {
            append(String(Int64(number)))
        } else {
            append("\(number)")
        }
    }

    mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\\"): append("\\\\")
            case 0x0A: append("\\n")
            case 0x0D: append("\\r")
            case 0x09: append("\\t")
            case 0x08: append("\\b")
            case 0x0C: append("\\f")
            case 0x00..<0x20: append(String(format: "\\u%04x", byte))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
