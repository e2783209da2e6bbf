/// One of the five bot slots. A manager's conversation with worker N lives in slot N's bot chat.
public struct BotSlot: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public static let range: ClosedRange<Int> = 1...5
    public static let all: [BotSlot] = range.map { BotSlot(unchecked: $0) }

    public let number: Int

    /// Nil when `number` is outside 1...5.
    public init?(_ number: Int) {
        guard Self.range.contains(number) else { return nil }
        self.number = number
    }

    private init(unchecked number: Int) { self.number = number }

    public var description: String { "slot \(number)" }

    public static func < (lhs: BotSlot, rhs: BotSlot) -> Bool { lhs.number < rhs.number }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let number = try container.decode(Int.self)
        guard let slot = BotSlot(number) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "bot slot must be between 1 and 5, got \(number)")
        }
        self = slot
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(number)
    }
}
