import Foundation
import PurserCore

// Conversion between `JSONValue` (PurserCore) and Codable types, through the event catalog's
// encoder, so a value's JSON form is the one its events store.

extension JSONValue {
    /// The JSON form of any `Encodable` value, e.g. a payload struct for upcasting or diffing.
    public init(encoding value: some Encodable) throws(DomainError) {
        let data: Data
        do {
            data = try EventCoding.encoder.encode(value)
        } catch {
            throw DomainError(.encodingFailed, "could not encode \(type(of: value)) as JSON", cause: error)
        }
        do {
            self = try JSONValue(parsing: data)
        } catch {
            throw DomainError(.invalidJSON, error.message, cause: error)
        }
    }

    /// Decodes this value as `type`, e.g. an upcast payload into its current struct.
    public func decode<T: Decodable>(_ type: T.Type) throws(DomainError) -> T {
        do {
            return try JSONValueDecoder().decode(T.self, from: self)
        } catch {
            throw DomainError(.invalidPayload, "JSON does not match \(T.self): \(EventCoding.describe(error))", cause: error)
        }
    }
}
