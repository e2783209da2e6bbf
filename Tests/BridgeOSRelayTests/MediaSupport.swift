import BridgeOSCore
import BridgeOSFlows
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import Testing

/// The runtime with the flows and the relay as the appliance composes them, for media, replies, edits and
/// reactions; `sandbox` and `database` given: a restart on what an earlier run left.
func withMedia<T>(clock: ShiftedClock = ShiftedClock(), freeMessages: Int = 1000, translator: FakeTranslator = FakeTranslator(),
                  sandbox: BotAPISandbox? = nil, database: String? = nil,
                  _ body: (Harness, ShiftedClock) async throws -> T) async throws -> T {
    let settings = RelaySettings(freeMessages: freeMessages, hourlyCap: 300, contextMessages: 6, albumWait: 0.5)
    let notices = CounterpartNotices(localizer: localizer)
    return try await withRuntime(
        bots: 2,
        handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: TranslationRelay(settings: settings)), notices]),
        makeJobHandlers: { database, signals in
            RelayJobs.handlers(database: database, translator: translator, localizer: localizer, settings: settings, signals: signals,
                               logger: Logger(label: "relay"))
        },
        observer: notices, existingDatabase: database, sandbox: sandbox, clock: clock
    ) { h in try await body(h, clock) }
}

extension Harness {
    /// Waits until `chat` of bot 1 holds `count` messages from the bot.
    func waitForCopies(_ chat: Int64, count: Int) async throws {
        let bot = bots[0]
        try await sandbox.wait(timeout: .seconds(15), "\(count) bot messages in chat \(chat)") { $0.botMessages(bot, chat).count >= count }
    }

    /// The bot's reaction on message `id` of `chat` (bot 1), as an emoji.
    func reaction(_ chat: Int64, _ id: Int64) -> String? {
        guard case let .emoji(emoji)? = sandbox.botReaction(bots[0], chatID: chat, messageID: id).first else { return nil }
        return emoji
    }

    /// Waits until the bot's reaction on message `id` of `chat` is `emoji` (nil: none).
    func waitForReaction(_ chat: Int64, _ id: Int64, _ emoji: String?) async throws {
        let bot = bots[0]
        try await sandbox.wait(timeout: .seconds(15), "reaction \(emoji ?? "none") on \(id) in \(chat)") { sandbox in
            let current: String? = if case let .emoji(e)? = sandbox.botReaction(bot, chatID: chat, messageID: id).first { e } else { nil }
            return current == emoji
        }
    }
}
