import Foundation
import PurserDomain

/// Validates tool arguments against the subset of JSON Schema the registry's schemas use:
/// `type` (a name or a list), `properties`, `required`, `additionalProperties: false`, `enum`,
/// `items`, `minimum`/`maximum`, `minLength`/`maxLength`, `minItems`/`maxItems`.
///
/// The model is sent the same schema, so a call it builds from the schema passes; a call that
/// does not gets every problem back with its path, which is what a model needs to fix the call
/// in one retry. Keywords outside the subset are ignored rather than guessed at.
public enum ArgumentSchema {
    public static func problems(_ value: JSONValue, against schema: JSONValue) -> [ValidationProblem] {
        var problems: [ValidationProblem] = []
        check(value, schema, path: "", into: &problems)
        return problems
    }

    /// The first problem as a `ToolError`, or nil when the arguments fit.
    public static func validate(_ value: JSONValue, against schema: JSONValue) -> ToolError? {
        let found = problems(value, against: schema)
        guard let first = found.first else { return nil }
        let message = found.map(\.description).joined(separator: "; ")
        return ToolError(.invalidArguments, "arguments do not match the tool's schema: \(message)", field: first.path.isEmpty ? nil : first.path)
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string), ("array", .array), ("object", .object): true
        case ("integer", .number): value.intValue != nil
        default: false
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    static func check(_ value: JSONValue, _ schema: JSONValue, path: String, into problems: inout [ValidationProblem]) {
        let types: [String] = switch schema["type"] {
        case .string(let name)?: [name]
        case .array(let names)?: names.compactMap(\.stringValue)
        default: []
        }
        if !types.isEmpty, !types.contains(where: { matches(value, type: $0) }) {
            problems.append(ValidationProblem(path: path, message: "must be \(types.joined(separator: " or ")), found \(value.kindName)"))
            return
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(value) {
            problems.append(ValidationProblem(path: path, message: "must be one of \(allowed.map { $0.serialized() }.joined(separator: ", "))"))
        }
        switch value {
        case .number(let number):
            if let minimum = schema["minimum"]?.doubleValue, number < minimum {
                problems.append(ValidationProblem(path: path, message: "must be at least \(JSONValue.number(minimum).serialized())"))
            }
            if let maximum = schema["maximum"]?.doubleValue, number > maximum {
                problems.append(ValidationProblem(path: path, message: "must be at most \(JSONValue.number(maximum).serialized())"))
            }
        case .string(let text):
            if let minimum = schema["minLength"]?.intValue, text.count < minimum {
                problems.append(ValidationProblem(path: path, message: "must be at least \(minimum) characters"))
            }
            if let maximum = schema["maxLength"]?.intValue, text.count > maximum {
                problems.append(ValidationProblem(path: path, message: "must be at most \(maximum) characters"))
            }
        case .array(let elements):
            if let minimum = schema["minItems"]?.intValue, elements.count < minimum {
                problems.append(ValidationProblem(path: path, message: "must have at least \(minimum) items"))
            }
            if let maximum = schema["maxItems"]?.intValue, elements.count > maximum {
                problems.append(ValidationProblem(path: path, message: "must have at most \(maximum) items"))
            }
            if let items = schema["items"] {
                for (index, element) in elements.enumerated() {
                    check(element, items, path: "\(path)[\(index)]", into: &problems)
                }
            }
        case .object(let members):
            let properties = schema["properties"]?.objectValue ?? [:]
            for case .string(let name) in schema["required"]?.arrayValue ?? [] where members[name] == nil {
                problems.append(ValidationProblem(path: join(path, name), message: "is required"))
            }
            for name in members.keys.sorted() {
                if let property = properties[name] {
                    check(members[name]!, property, path: join(path, name), into: &problems)
                } else if schema["additionalProperties"] == .bool(false) {
                    problems.append(ValidationProblem(path: join(path, name), message: "is not allowed; allowed: \(properties.keys.sorted().joined(separator: ", "))"))
                }
            }
        default:
            break
        }
    }
}
