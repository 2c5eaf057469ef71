import Foundation
import PurserCore

/// Small helpers over `JSONValue` for the adapters, which read loosely shaped provider JSON and
/// must say precisely which field is wrong, which a `Decodable` error does not.
enum JSONSupport {
    enum ParseResult {
        case value(JSONValue)
        case failure(String)
    }

    /// Parses one JSON value; a UTF-8 byte order mark and surrounding whitespace are allowed.
    static func parse<Bytes: Collection>(_ bytes: Bytes) -> ParseResult where Bytes.Element == UInt8 {
        var slice = Array(bytes)[...]
        if slice.starts(with: [0xEF, 0xBB, 0xBF]) { slice = slice.dropFirst(3) }
        if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) {
            return .failure("it is empty")
        }
        do {
            return .value(try JSONValue(parsing: slice))
        } catch {
            if Charsets.isValidUTF8(Array(slice)) == false {
                return .failure("it is not valid UTF-8")
            }
            return .failure("it is not valid JSON (\(error.message))")
        }
    }

    /// A short name for the JSON type of `value`, for messages such as "must be a string, not
    /// an array".
    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        case .null: "null"
        case .number: "a number"
        case .bool: "a boolean"
        }
    }

    /// A string field, or a number rendered as text (some systems send numeric ids): whole
    /// numbers without a fraction, `123` rather than `123.0`.
    static func string(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: return text
        case .number(let number)?:
            if number.rounded() == number, abs(number) < 9.007_199_254_740_992e15 { return String(Int64(number)) }
            return "\(number)"
        default: return nil
        }
    }

    static func double(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let number)?: return number
        case .string(let text)?: return Double(text)
        default: return nil
        }
    }

    /// Serializes `value` back to bytes (sorted keys, so the same value gives the same bytes).
    static func bytes(of value: JSONValue) -> [UInt8] {
        Array(value.serializedData())
    }
}
