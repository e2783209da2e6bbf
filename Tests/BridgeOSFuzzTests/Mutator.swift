import BridgeOSTestSupport
import Foundation

/// Seeded mutations of real inputs: JSON changed in its structure (keys dropped, values swapped for
/// hostile ones, types changed, ids pointed at the people of the test's database), text with edge cases,
/// and raw bytes flipped, cut or spliced. The same seed gives the same inputs (SplitMix64), so a failure
/// reported with its seed is reproduced exactly.
struct Mutator {
    private var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func next() -> UInt64 { generator.next() }

    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// Ids the mutations like to use: the test database's people, bot ids, and the edges of Int64.
    var favouriteIDs: [Int64] = []

    /// Values that break naive code.
    mutating func hostileValue() -> Any {
        switch int(22) {
        case 0: return NSNull()
        case 1: return true
        case 2: return 0
        case 3: return -1
        case 4: return Int64.max
        case 5: return Int64.min
        case 6: return 1e308
        case 7: return -0.0
        case 8: return ""
        case 9: return String(repeating: "ж", count: 5000)
        case 10: return "\u{202E}\u{200B}\u{FEFF}👨‍👩‍👧‍👦 🇺🇦 e\u{301}"
        case 11: return "\u{0}\u{1}\u{7F}"
        case 12: return "'; DROP TABLE users; --"
        case 13: return "<script>alert(1)</script>&amp;"
        case 14: return [Any]()
        case 15: return [String: Any]()
        case 16: return Array(repeating: 1, count: 200)
        case 17: return deepNesting(depth: 60)
        case 18: return pick(favouriteIDs.isEmpty ? [1] : favouriteIDs)
        case 19: return "/" + pick(Self.commands) + " " + pick(["", "x", "i1_AAAA", "12:30", "@me", String(repeating: "a", count: 300)])
        case 20: return pick(Self.callbackShapes)
        default: return Double(int(1_000_000)) / 7
        }
    }

    private mutating func deepNesting(depth: Int) -> Any {
        var value: Any = ["x": 1]
        for _ in 0..<depth { value = chance(50) ? [value] : ["a": value] }
        return value
    }

    /// One structural change somewhere in `value` (a JSON object from `JSONSerialization`).
    mutating func mutate(_ value: Any, depth: Int = 0) -> Any {
        if var object = value as? [String: Any], !object.isEmpty {
            let keys = object.keys.sorted()
            let key = pick(keys)
            switch int(10) {
            case 0: object[key] = nil
            case 1: object[key] = hostileValue()
            case 2: object["unknown_\(int(99))"] = hostileValue()
            case 3 where ["id", "user_id", "chat_id"].contains(key) || key.hasSuffix("_id"):
                object[key] = pick(favouriteIDs.isEmpty ? [1] : favouriteIDs)
            case 4: object[key] = typeChanged(object[key]!)
            default:
                if depth < 12 { object[key] = mutate(object[key]!, depth: depth + 1) } else { object[key] = hostileValue() }
            }
            return object
        }
        if var array = value as? [Any] {
            if array.isEmpty || chance(20) { array.append(hostileValue()); return array }
            let index = int(array.count)
            switch int(4) {
            case 0: array.remove(at: index)
            case 1: array.insert(array[index], at: index)
            default: array[index] = depth < 12 ? mutate(array[index], depth: depth + 1) : hostileValue()
            }
            return array
        }
        if let text = value as? String { return mutate(text: text) }
        return chance(50) ? hostileValue() : typeChanged(value)
    }

    /// A number as a string, a string as a number, a scalar in an array.
    mutating func typeChanged(_ value: Any) -> Any {
        if let number = value as? NSNumber { return chance(50) ? number.stringValue : [number] }
        if let text = value as? String { return Int64(text) ?? text.utf8.count }
        return chance(50) ? "\(value)".prefix(50).description : NSNull()
    }

    /// Text with a cut, a doubled part, an odd character or a command in it.
    mutating func mutate(text: String) -> String {
        var characters = Array(text)
        switch int(7) {
        case 0: return String(characters.prefix(int(characters.count + 1)))
        case 1: return text + text
        case 2:
            characters.insert(pick(["\u{0}", "\u{202E}", "🇺🇦", "\n", "\"", "\\", ":", "%", "\u{FFFD}", "é"]), at: int(characters.count + 1))
            return String(characters)
        case 3: return "/" + pick(Self.commands) + (chance(50) ? "" : " " + text)
        case 4: return String(repeating: text.isEmpty ? "x" : text, count: 1 + int(2000 / max(1, text.count)))
        case 5: return pick(Self.callbackShapes)
        default: return String(text.reversed())
        }
    }

    /// Raw bytes: a bit flipped, a cut, a splice of junk.
    mutating func mutate(bytes: [UInt8]) -> [UInt8] {
        var bytes = bytes
        guard !bytes.isEmpty else { return [UInt8(truncatingIfNeeded: next())] }
        switch int(5) {
        case 0: bytes[int(bytes.count)] ^= UInt8(1 << int(8))
        case 1: bytes.removeSubrange(int(bytes.count)...)
        case 2: bytes.insert(contentsOf: (0..<int(16)).map { _ in UInt8(truncatingIfNeeded: next()) }, at: int(bytes.count))
        case 3: bytes[int(bytes.count)] = pick([0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0xFF, 0xC3, 0x2C])
        default: bytes.removeSubrange(int(bytes.count)..<bytes.count)
        }
        return bytes
    }

    /// A JSON document mutated `rounds` times in its structure, and sometimes in its bytes afterwards.
    mutating func mutatedJSON(_ document: Any, rounds: Int) -> Data {
        var value = document
        for _ in 0..<max(1, rounds) { value = mutate(value) }
        // A mutation may make the top level a scalar: Foundation traps on that without .fragmentsAllowed.
        var data = (try? JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed)) ?? Data("null".utf8)
        if chance(20) { data = Data(mutate(bytes: Array(data))) }
        return data
    }

    static let commands = [
        "start", "help", "addworker", "workers", "task", "tasks", "all", "check", "unsend", "glossary", "daily", "disconnect",
        "feedback", "subscription", "language", "settings", "timezone", "refer", "menu", "cancel", "reset",
    ]

    /// The shapes of BridgeOS's buttons, with ids anywhere.
    static let callbackShapes = [
        "reg:lang:en", "reg:gender:female", "reg:ind:construction", "join:lang:es", "join:gender:male", "task:done:1", "task:cant:2",
        "tasks:done:3:0", "ack:1", "disc:yes:1", "disc:no", "orig:1", "inv:2", "menu:tasks", "set:marks", "set:orig", "lang:pl",
        "task:done:-1", "task:done:99999999999999999999", "ack:", "::", ":", "reg:lang:", "disc:yes:0", "orig:9223372036854775807",
    ]
}
