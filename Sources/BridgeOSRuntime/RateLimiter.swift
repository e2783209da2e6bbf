import Foundation

/// Telegram's sending limits, as token buckets. Defaults are Telegram's published ones; tests and load
/// tests against the sandbox may run them faster.
public struct RateLimits: Sendable, Equatable {
    /// Messages per second across all chats of one bot (~30).
    public var perBot: Rate
    /// Messages per second to one private chat (~1, with short bursts).
    public var perChat: Rate
    /// Messages per minute to one group (20).
    public var perGroup: Rate

    public struct Rate: Sendable, Equatable {
        /// Tokens added per second.
        public var perSecond: Double
        /// Most tokens a bucket holds: how many may go at once after a quiet spell.
        public var burst: Double

        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = max(1, burst)
        }
    }

    public static let telegram = RateLimits(
        perBot: Rate(perSecond: 30, burst: 30),
        perChat: Rate(perSecond: 1, burst: 3),
        perGroup: Rate(perSecond: 20.0 / 60, burst: 3))

    public init(perBot: Rate, perChat: Rate, perGroup: Rate) {
        self.perBot = perBot
        self.perChat = perChat
        self.perGroup = perGroup
    }
}

/// A token bucket at explicit times (no clock inside, so tests need no sleeping).
public struct TokenBucket: Sendable, Equatable {
    public let rate: RateLimits.Rate
    public private(set) var tokens: Double
    public private(set) var updated: Date

    public init(rate: RateLimits.Rate, now: Date) {
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now
    }

    mutating func refill(_ now: Date) {
        guard now > updated else { return }
        tokens = min(rate.burst, tokens + now.timeIntervalSince(updated) * rate.perSecond)
        updated = now
    }

    /// When the next token is available (`now` if one is).
    public func availableAt(_ now: Date) -> Date {
        var copy = self
        copy.refill(now)
        if copy.tokens >= 1 { return now }
        return now.addingTimeInterval((1 - copy.tokens) / rate.perSecond)
    }

    public mutating func take(_ now: Date) {
        refill(now)
        tokens -= 1
    }

    /// Full again: the bucket can be forgotten.
    public func isFull(_ now: Date) -> Bool {
        var copy = self
        copy.refill(now)
        return copy.tokens >= rate.burst
    }
}

/// Per-bot, per-chat and per-group limits plus pauses asked for by 429 answers.
public struct RateLimiter: Sendable {
    public let limits: RateLimits
    private var bot: TokenBucket
    private var chats: [Int64: TokenBucket] = [:]
    private var pausedChats: [Int64: Date] = [:]
    private var botPausedUntil: Date?

    public init(limits: RateLimits, now: Date) {
        self.limits = limits
        self.bot = TokenBucket(rate: limits.perBot, now: now)
    }

    /// The earliest time a message to `chat` may go. `perChat: false` for rows that skip the chat queue.
    public func earliestSend(chat: Int64, isGroup: Bool, perChat: Bool = true, now: Date) -> Date {
        var earliest = bot.availableAt(now)
        if let paused = botPausedUntil, paused > earliest { earliest = paused }
        if let paused = pausedChats[chat], paused > earliest { earliest = paused }
        if perChat, let bucket = chats[chat] {
            let at = bucket.availableAt(now)
            if at > earliest { earliest = at }
        }
        return earliest
    }

    /// Spends the tokens of one message sent at `now`.
    public mutating func record(chat: Int64, isGroup: Bool, perChat: Bool = true, now: Date) {
        bot.take(now)
        guard perChat else { return }
        var bucket = chats[chat] ?? TokenBucket(rate: isGroup ? limits.perGroup : limits.perChat, now: now)
        bucket.take(now)
        chats[chat] = bucket
        if chats.count > 10_000 { forgetIdle(now) }
    }

    /// A 429 for one chat: only that chat waits.
    public mutating func pause(chat: Int64, until: Date) {
        pausedChats[chat] = max(until, pausedChats[chat] ?? until)
    }

    /// A 429 that looks bot-wide (several chats at once): the whole bot waits.
    public mutating func pauseBot(until: Date) {
        botPausedUntil = max(until, botPausedUntil ?? until)
    }

    public func pausedUntil(chat: Int64) -> Date? { pausedChats[chat] }

    private mutating func forgetIdle(_ now: Date) {
        chats = chats.filter { !$0.value.isFull(now) }
        pausedChats = pausedChats.filter { $0.value > now }
    }
}

/// Exponential backoff with jitter: attempt 1 waits about `base`, each further attempt twice as long, up to
/// `cap`. The wait is drawn from [50%, 100%] of that, so many clients failing together spread out.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public static let network = Backoff(base: .seconds(1), cap: .seconds(300))

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The wait before attempt `attempt + 1`, for a `jitter` in 0...1.
    public func delay(afterAttempt attempt: Int, jitter: Double) -> Duration {
        let exponent = min(max(attempt - 1, 0), 30)
        let full = min(base * (1 << exponent), cap)
        let factor = 0.5 + 0.5 * min(max(jitter, 0), 1)
        return full * factor
    }

    public func delay(afterAttempt attempt: Int) -> Duration {
        delay(afterAttempt: attempt, jitter: Double.random(in: 0...1))
    }
}

extension Date {
    func adding(_ duration: Duration) -> Date { addingTimeInterval(duration.seconds) }
}
