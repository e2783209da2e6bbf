import BridgeOSTelegram
import Foundation

/// A bot the sandbox serves.
public struct SandboxBot: Hashable, Sendable {
    public let token: BotToken
    public let username: String
    public let firstName: String

    public init(token: BotToken, username: String, firstName: String = "BridgeOS") {
        self.token = token
        self.username = username
        self.firstName = firstName
    }

    /// `count` bots with generated tokens, usernames `bridgeos_test_1_bot`….
    public static func make(_ count: Int, prefix: String = "bridgeos_test") -> [SandboxBot] {
        (1...max(1, count)).map { index in
            let botID = Int64(7_000_000_000 + index)
            let secret = "AAE" + String(repeating: "\(index)", count: 8) + "sandboxSecretToken\(index)x"
            return SandboxBot(token: BotToken("\(botID):\(secret)")!, username: "\(prefix)_\(index)_bot", firstName: "BridgeOS \(index)")
        }
    }

    public var user: TelegramUser {
        TelegramUser(id: token.botID, isBot: true, firstName: firstName, username: username)
    }
}

/// A fault the sandbox injects into matching calls, as real Telegram sometimes does.
public struct SandboxFault: Sendable {
    public enum Effect: Sendable, Equatable {
        /// 429 with `retry_after`.
        case flood(retryAfter: Int)
        /// A 5xx answer with a Bot API body.
        case serverError(status: Int)
        /// The answer is delayed by this much (the call still succeeds).
        case latency(Duration)
        /// A final 400 with this description (after "Bad Request: "), as for a message Telegram will never accept.
        case badRequest(String)
    }

    public var effect: Effect
    /// Only calls of this method (nil: any method).
    public var method: String?
    /// Only calls to this chat (nil: any chat).
    public var chatID: Int64?
    /// Only this bot (nil: any bot).
    public var botID: Int64?
    /// How many matching calls it affects.
    public var count: Int

    public init(_ effect: Effect, method: String? = nil, chatID: Int64? = nil, botID: Int64? = nil, count: Int = 1) {
        self.effect = effect
        self.method = method
        self.chatID = chatID
        self.botID = botID
        self.count = count
    }
}

/// A call real Telegram would refuse and a correct client never makes.
public struct SandboxViolation: Sendable, CustomStringConvertible {
    public let botID: Int64
    public let method: String
    public let problems: [String]
    /// The error description the sandbox answered with.
    public let answer: String

    public var description: String { "bot \(botID) \(method): \(problems.joined(separator: "; "))" }
}

/// One call as the sandbox saw it.
public struct RecordedCall: Sendable {
    public let botID: Int64
    public let method: String
    public let parameters: [String: JSONValue]
    /// HTTP status of the answer.
    public let status: Int
    public let errorDescription: String?
    /// When the call was answered (monotonic).
    public let answeredAt: ContinuousClock.Instant

    public var chatID: Int64? { parameters["chat_id"]?.int64 }
}

/// What a bot's chat holds, both directions, in order.
public struct SandboxChatMessage: Sendable, Hashable {
    public let message: Message
    /// True when the bot sent it.
    public let fromBot: Bool
}

/// The error answer of a Bot API call.
struct SandboxError: Error {
    let status: Int
    let description: String
    var parameters: ResponseParameters? = nil
    /// A call a correct client never makes: recorded as a violation.
    var problems: [String] = []

    static func badRequest(_ text: String, violation: String? = nil) -> SandboxError {
        SandboxError(status: 400, description: "Bad Request: \(text)", problems: violation.map { [$0] } ?? [])
    }

    static let chatNotFound = SandboxError(status: 400, description: "Bad Request: chat not found", problems: ["chat the bot has never seen"])
    static let blocked = SandboxError(status: 403, description: "Forbidden: bot was blocked by the user")
    /// A correct client knows who started its bot and never writes first.
    static let cannotInitiate = SandboxError(status: 403, description: "Forbidden: bot can't initiate conversation with a user",
                                             problems: ["wrote first to a user who never started this bot"])
    static let unauthorized = SandboxError(status: 401, description: "Unauthorized")
    static let notFound = SandboxError(status: 404, description: "Not Found")
}
