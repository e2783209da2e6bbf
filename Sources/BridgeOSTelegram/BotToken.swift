import BridgeOSCore

/// A bot token as BotFather issues it: `<bot id>:<secret>`.
///
/// Its `description` shows only the bot id, so interpolating a token into a log line or an error cannot
/// leak the secret. The full value is available as `secret`, for building request URLs only.
public struct BotToken: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let secret: String
    /// The numeric part before the colon: the bot's user id, which is public.
    public let botID: Int64

    /// Nil unless `value` looks like `123456789:AAE…` (digits, a colon, then letters, digits, `_` or `-`).
    public init?(_ value: String) {
        guard BotTokenFormat.isValid(value), let id = Int64(value.prefix { $0 != ":" }) else { return nil }
        secret = value
        botID = id
    }

    public var description: String { "bot \(botID)" }
    public var debugDescription: String { "BotToken(\(botID):<redacted>)" }
}
