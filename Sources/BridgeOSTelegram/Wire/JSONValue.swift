import Foundation

/// Any JSON value, decoded strictly: `true` is not a number and `1` is not a boolean.
public enum JSONValue: Codable, Hashable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .integer(value): try container.encode(value)
        case let .double(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    public var string: String? { if case let .string(value) = self { value } else { nil } }
    public var object: [String: JSONValue]? { if case let .object(value) = self { value } else { nil } }
    public var array: [JSONValue]? { if case let .array(value) = self { value } else { nil } }

    /// An integer, also from a string of digits (form-encoded parameters are all strings).
    public var int64: Int64? {
        switch self {
        case let .integer(value): value
        case let .string(text): Int64(text)
        default: nil
        }
    }

    public var bool: Bool? {
        switch self {
        case let .bool(value): value
        case let .string(text): text == "true" ? true : text == "false" ? false : nil
        default: nil
        }
    }

    /// Encodes any value as JSON and reads it back as a `JSONValue`.
    public init<T: Encodable>(encoding value: T) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
    }

    /// Decodes this value as `T` (e.g. a `[MessageEntity]` parameter).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let data = try JSONEncoder().encode(self)
        return try JSONDecoder().decode(T.self, from: data)
    }

    /// A form value may carry a JSON-serialized object or array; anything else stays a string.
    public static func parsingEmbeddedJSON(_ text: String) -> JSONValue {
        guard let first = text.first, first == "{" || first == "[",
              let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        else { return .string(text) }
        return value
    }
}
