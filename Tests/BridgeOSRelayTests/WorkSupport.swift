import AsyncHTTPClient
import BridgeOSCore
import BridgeOSFlows
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import BridgeOSTranslation
import Foundation
import Logging
import Synchronization
import Testing

/// Real time plus a shift the test moves forward: due times and reminders come without sleeping, while
/// the runtime's own short waits still pass.
final class ShiftedClock: WallClock {
    private let shift = Mutex<TimeInterval>(0)
    func now() -> Date { Date().addingTimeInterval(shift.withLock { $0 }) }
    func advance(by seconds: TimeInterval) { shift.withLock { $0 += seconds } }
}

/// The runtime with the flows, the relay and work's job handlers (reminders, summaries), as the appliance
/// composes them; `summarizer` nil: no summary provider.
func withWork<T>(bots: Int = 2, clock: ShiftedClock = ShiftedClock(), confirmationReminder: TimeInterval = 600,
                 summarizer: (any Summarizer)? = nil, chunkCharacters: Int = 12_000, translator: FakeTranslator = FakeTranslator(),
                 _ body: (Harness, ShiftedClock) async throws -> T) async throws -> T {
    let settings = RelaySettings(freeMessages: 1000, hourlyCap: 300, contextMessages: 6)
    let work = WorkSettings(confirmationReminder: confirmationReminder, summariesAvailable: summarizer != nil)
    let notices = CounterpartNotices(localizer: localizer)
    return try await withRuntime(
        bots: bots,
        handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: TranslationRelay(settings: settings), work: work), notices]),
        makeJobHandlers: { database, signals in
            RelayJobs.handlers(database: database, translator: translator, localizer: localizer, settings: settings, signals: signals,
                             logger: Logger(label: "relay")) + [TaskReminderJobHandler(localizer: localizer), ReceiptFollowUpJobHandler(localizer: localizer, settings: work),
             DailySummaryJobHandler(database: database, summarizer: summarizer, localizer: localizer, chunkCharacters: chunkCharacters,
                                    logger: Logger(label: "daily"))]
        },
        observer: notices,
        clock: clock
    ) { h in try await body(h, clock) }
}

extension Harness {
    /// The text Telegram showed for a button press (nil: none).
    func answerText(_ query: String) -> String? {
        for call in sandbox.calls("answerCallbackQuery") where call.parameters["callback_query_id"] == .string(query) {
            if case let .string(text)? = call.parameters["text"] { return text }
            return nil
        }
        return nil
    }

    /// Presses a button on `message` and waits until the press is answered; returns what it said.
    func tap(_ data: String, on message: Message, by user: Int64, bot: SandboxBot) async throws -> String? {
        let query = try #require(sandbox.press(data, on: message, by: user, bot: bot))
        try await sandbox.wait(timeout: .seconds(10), "answer to \(data)") { $0.isAnswered(callbackQuery: query) }
        return answerText(query)
    }

    /// The receipt of the newest message of connection 1.
    func latestReceipt() throws -> Receipt? {
        try database.read { tx in
            try tx.messages(connection: 1, since: .distantPast, until: .distantFuture).last.flatMap { try tx.receipt(message: $0.id) }
        }
    }

    func message(_ bot: SandboxBot, _ chat: Int64, id: Int64) -> Message? {
        sandbox.botMessages(bot, chat).first { $0.messageID == id }
    }

    func waitFor(_ what: String, timeout: Duration = .seconds(15), _ condition: @escaping @Sendable (BotAPISandbox) -> Bool) async throws {
        try await sandbox.wait(timeout: timeout, what, until: condition)
    }

    func buttons(_ message: Message?) -> [String] {
        message?.replyMarkup?.inlineKeyboard.joined().compactMap(\.callbackData) ?? []
    }

    /// Another worker of manager 1 (registered on bot 1): the manager opens `slot`'s bot, invites, they join.
    func connectWorker(_ worker: Int64, name: String, language: String, slot: Int) async throws {
        let bot = bots[slot - 1]
        if sandbox.botMessages(bot, 1).isEmpty { try await say("/start", from: 1, to: bot) }
        try await join(worker, name: name, payload: try await invite(by: 1, on: bots[0]), on: bot, language: language)
    }
}
