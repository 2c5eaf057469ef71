import Foundation

/// Small helpers over `JSONSerialization` values. The adapters read loosely shaped provider
/// JSON and must say precisely which field is wrong, which a `Decodable` error does not.
enum JSONSupport {
    enum ParseResult {
        case value(Any)
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
            return .value(try JSONSerialization.jsonObject(with: Data(slice), options: [.fragmentsAllowed]))
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            if Charsets.isValidUTF8(Array(slice)) == false {
                return .failure("it is not valid UTF-8")
            }
            return .failure("it is not valid JSON" + (detail.map { " (\($0))" } ?? ""))
        }
    }

    /// A short name for the JSON type of `value`, for messages such as "must be a string, not
    /// an array".
    static func typeName(_ value: Any) -> String {
        switch value {
        case is String: return "a string"
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        case is NSNull: return "null"
        case is NSNumber: return "a number"
        default: return "a \(type(of: value))"
        }
    }

    /// A string field, or a number rendered as text (some systems send numeric ids).
    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: return text
        case let number as NSNumber where !(value is Bool): return number.stringValue
        default: return nil
        }
    }

    static func double(_ value: Any?) -> Double? {
        switch value {
        case let number as NSNumber: return number.doubleValue
        case let text as String: return Double(text)
        default: return nil
        }
    }

    /// Serializes `value` back to bytes (sorted keys, so the same value gives the same bytes).
    static func bytes(of value: Any) -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(value),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else {
            return Array(String(describing: value).utf8)
        }
        return [UInt8](data)
    }
}
