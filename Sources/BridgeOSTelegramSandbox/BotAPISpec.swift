import BridgeOSResources
import BridgeOSTelegram
import Foundation

/// The official Bot API specification (methods, their parameters, and the object types they take),
/// embedded from `spec/botapi-spec.json`, and the check of a call against it.
public struct BotAPISpec: Sendable {
    public struct Field: Decodable, Sendable {
        public let name: String
        public let types: [String]
        public let required: Bool
        public let description: String
    }

    public struct Method: Decodable, Sendable {
        public let name: String
        public let fields: [Field]?
        public let returns: [String]
    }

    public struct TypeDefinition: Decodable, Sendable {
        public let name: String
        public let fields: [Field]?
        public let subtypes: [String]?
    }

    public let version: String
    public let methods: [String: Method]
    public let types: [String: TypeDefinition]

    private struct File: Decodable {
        let version: String
        let methods: [String: Method]
        let types: [String: TypeDefinition]
    }

    public static let resourcePath = "spec/botapi-spec.json"

    public static func embedded() throws -> BotAPISpec {
        guard let data = EmbeddedResources.data(resourcePath) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: resourcePath])
        }
        let file = try JSONDecoder().decode(File.self, from: data)
        return BotAPISpec(version: file.version, methods: file.methods, types: file.types)
    }

    /// One way a call departs from the spec.
    public struct Problem: Hashable, Sendable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case unknownMethod, unknownParameter, missingParameter, wrongType, invalidValue
        }

        public let kind: Kind
        /// e.g. `reply_markup.inline_keyboard[0][1].callback_data`
        public let path: String
        public let detail: String

        public var description: String { "\(path): \(detail)" }
    }

    /// Every way `parameters` departs from `method`'s signature: unknown or missing parameters and values
    /// of the wrong type, checked recursively through the object types.
    public func check(method name: String, parameters: [String: JSONValue]) -> [Problem] {
        guard let method = methods[name] else {
            return [Problem(kind: .unknownMethod, path: name, detail: "no method \(name) in \(version)")]
        }
        return check(fields: method.fields ?? [], object: parameters, path: "")
    }

    private func check(fields: [Field], object: [String: JSONValue], path: String) -> [Problem] {
        var problems: [Problem] = []
        let known = Dictionary(uniqueKeysWithValues: fields.map { ($0.name, $0) })
        for key in object.keys.sorted() where known[key] == nil {
            problems.append(Problem(kind: .unknownParameter, path: join(path, key), detail: "not a parameter of this method or type"))
        }
        for field in fields {
            let fieldPath = join(path, field.name)
            guard let value = object[field.name], value != .null else {
                if field.required {
                    problems.append(Problem(kind: .missingParameter, path: fieldPath, detail: "required, expected \(field.types.joined(separator: " or "))"))
                }
                continue
            }
            let attempts = Self.alternatives(field.types).map { check(value, against: $0, path: fieldPath) }
            if !attempts.contains(where: \.isEmpty) {
                // Report the closest alternative: the one with the fewest problems.
                problems += attempts.min { $0.count < $1.count } ?? []
            }
            problems += checkDiscriminator(field, value: value, path: fieldPath)
        }
        return problems
    }

    /// The spec writes an array of a union as alternatives of arrays ("Array of InputMediaPhoto",
    /// "Array of InputMediaVideo", …); Telegram checks element by element (photos and videos may mix), so
    /// such a list becomes one array type whose elements may be any of them: "Array of A|B".
    static func alternatives(_ types: [String]) -> [String] {
        let prefix = "Array of "
        guard types.count > 1, types.allSatisfy({ $0.hasPrefix(prefix) }) else { return types }
        return [prefix + types.map { String($0.dropFirst(prefix.count)) }.joined(separator: "|")]
    }

    /// A `type` field documented as "must be photo" only accepts that value.
    private func checkDiscriminator(_ field: Field, value: JSONValue, path: String) -> [Problem] {
        guard field.name == "type", let expected = Self.requiredConstant(field.description),
              let actual = value.string, actual != expected
        else { return [] }
        return [Problem(kind: .invalidValue, path: path, detail: "must be \(expected), got \(actual)")]
    }

    static func requiredConstant(_ description: String) -> String? {
        for marker in ["must be ", "always “", "always \""] {
            guard let range = description.range(of: marker) else { continue }
            let word = description[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            if !word.isEmpty { return String(word) }
        }
        return nil
    }

    /// Checks `value` against one spec type: Integer, Float, String, Boolean, True, InputFile,
    /// `Array of X`, or an object type (with its subtypes for unions).
    func check(_ value: JSONValue, against type: String, path: String) -> [Problem] {
        if type.hasPrefix("Array of ") {
            guard let items = value.array else { return [wrongType(path, type, value)] }
            let elementTypes = type.dropFirst("Array of ".count).split(separator: "|").map(String.init)
            return items.enumerated().flatMap { index, item -> [Problem] in
                let attempts = elementTypes.map { check(item, against: $0, path: "\(path)[\(index)]") }
                return attempts.contains(where: \.isEmpty) ? [] : (attempts.min { $0.count < $1.count } ?? [])
            }
        }
        switch type {
        case "Integer":
            return value.int64 != nil ? [] : [wrongType(path, type, value)]
        case "Float", "Float number":
            switch value {
            case .integer, .double: return []
            case let .string(text) where Double(text) != nil: return []
            default: return [wrongType(path, type, value)]
            }
        case "String":
            return value.string != nil ? [] : [wrongType(path, type, value)]
        case "Boolean":
            return value.bool != nil ? [] : [wrongType(path, type, value)]
        case "True":
            return value.bool == true ? [] : [wrongType(path, type, value)]
        case "InputFile":
            // Uploads are multipart; BridgeOS re-sends by file_id or URL, which are strings.
            return value.string != nil ? [] : [wrongType(path, type, value)]
        default:
            guard let definition = types[type] else {
                return [Problem(kind: .wrongType, path: path, detail: "spec names unknown type \(type)")]
            }
            if let subtypes = definition.subtypes, !subtypes.isEmpty {
                let attempts = subtypes.map { check(value, against: $0, path: path) }
                return attempts.contains(where: \.isEmpty) ? [] : (attempts.min { $0.count < $1.count } ?? [])
            }
            guard let object = value.object else { return [wrongType(path, type, value)] }
            return check(fields: definition.fields ?? [], object: object, path: path)
        }
    }

    private func wrongType(_ path: String, _ type: String, _ value: JSONValue) -> Problem {
        let actual: String = switch value {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
        return Problem(kind: .wrongType, path: path, detail: "expected \(type), got \(actual)")
    }

    private func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
}
