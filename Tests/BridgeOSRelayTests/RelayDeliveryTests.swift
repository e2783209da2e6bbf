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

/// The relay's side of the delivery guarantees: nobody is left in silence.
@Suite("Relay: delivered, or the sender told why")
struct RelayDeliveryTests {
    @Test("a message Telegram refuses for good: its sender is told once, quoting its first words")
    func refusedForGood() async throws {
        try await withRelay { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let managerBefore = h.count(1)
            h.sandbox.inject(SandboxFault(.badRequest("message is too long"), method: "sendMessage", chatID: 2, botID: bot.token.botID))
            h.sandbox.send("Bring the ladder to the north side before noon, and the long hose", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.texts(bot, 1).last == localizer.text(.relayUndeliveredRefused, "en", ["quote": "Bring the ladder to the north side…"]))
            let rows = try h.database.outbox.rows(slot: BotSlot(1)!, chatID: 2)
            #expect(rows.last?.status == .dead && rows.last?.messageID != nil)
            // The next message goes through as usual.
            h.sandbox.send("ok", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "next relayed") { $0.botMessages(bot, 2).last?.text == "[es] OK" }
            #expect(h.count(1) == managerBefore + 1)
        }
    }

    @Test("a manager who never opened a line's bot is told through the bot they use; the message arrives when they open it")
    func lineNeverOpened() async throws {
        try await withRelay { h, _ in
            let (bot1, bot2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: bot1)
            // /addworker twice: line 1, then line 2 (whose bot the manager never opened).
            try await h.join(2, payload: try await h.invite(by: 1, on: bot1), on: bot1)
            let line2 = try await h.invite(by: 1, on: bot1)
            #expect(line2.hasPrefix("i2_"))
            try await h.join(3, name: "Xiomara", payload: line2, on: bot2)
            let (managerBefore, workerBefore) = (h.count(1), h.sandbox.botMessages(bot2, 3).count)
            h.sandbox.send("Ya llegué", from: 3, to: bot2)
            let notice = localizer.text(.relayWaitingForOpen, "en", ["name": "Xiomara", "slot": "2", "bot": bot2.username])
            try await h.waitForTexts(bot1, 1, count: managerBefore + 1)
            #expect(h.texts(bot1, 1).last == notice)
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.sandbox.botMessages(bot2, 1).isEmpty)
            #expect(h.sandbox.botMessages(bot2, 3).count == workerBefore)  // nothing false ("blocked") to the worker
            // A second message while waiting: no second notice.
            h.sandbox.send("¿Dónde dejo las llaves?", from: 3, to: bot2)
            try await h.sandbox.wait(timeout: .seconds(10), "both held") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(2)!, chatID: 1).filter { $0.status == .unreachable }.count) == 2
            }
            #expect(h.count(1) == managerBefore + 1)
            h.sandbox.send("/start", from: 1, to: bot2)
            try await h.waitForTexts(bot2, 1, count: 3)
            #expect(Array(h.texts(bot2, 1).prefix(2)) == ["[en] YA LLEGUÉ", "[en] ¿DÓNDE DEJO LAS LLAVES?"])
        }
    }

    @Test("a message whose connection ends before its job runs is not delivered; the sender is told; the worker learns why later")
    func disconnectedBeforeDelivery() async throws {
        try await withRelay { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            translator.down.withLock { $0 = true }
            h.sandbox.send("See you tomorrow", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: h.count(1) + 1)  // the delay notice
            h.sandbox.send("/disconnect", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "confirm") { $0.botMessages(bot, 1).last?.replyMarkup != nil }
            let confirm = try #require(h.sandbox.botMessages(bot, 1).last?.replyMarkup?.inlineKeyboard.joined().first?.callbackData)
            try await h.press(confirm, by: 1, on: bot)
            let disconnected = localizer.text(.disconnectNotifyWorker, "es", ["manager": "Marta"])
            try await h.sandbox.wait(timeout: .seconds(10), "worker told of the disconnect") { $0.botMessages(bot, 2).last?.text == disconnected }
            let workerBefore = h.count(2)
            translator.down.withLock { $0 = false }
            let told = localizer.text(.relayUndeliveredEnded, "en", ["quote": "See you tomorrow", "name": "Iván"])
            try await h.sandbox.wait(timeout: .seconds(10), "manager told") { $0.botMessages(bot, 1).contains { $0.text == told } }
            try await Task.sleep(for: .milliseconds(300))
            #expect(!h.texts(bot, 2).contains("[es] SEE YOU TOMORROW"))
            h.sandbox.send("¿Hola?", from: 2, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            #expect(h.texts(bot, 2).last == localizer.text(.routeConnectionEnded, "es", ["manager": "Marta"]))
        }
    }

    @Test("an update that keeps failing is given up, and its sender gets an answer, not silence")
    func poisonUpdate() async throws {
        try await withRuntime(bots: 1, handler: CompositeHandler([Poison(), ConversationRouter(localizer: localizer)])) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 9, firstName: "Ana", languageCode: "pl")
            h.sandbox.send("boom", from: 9, to: bot)
            try await h.waitForTexts(bot, 9, count: 1)
            #expect(h.texts(bot, 9) == [localizer.text(.updateFailed, "pl")])
            #expect(try h.database.updateLog.count(status: .failed) == 1)
            h.sandbox.send("/start", from: 9, to: bot)  // the bot goes on
            try await h.waitForTexts(bot, 9, count: 2)
        }
    }

    @Test("finishing a manager registration after joining a team as a worker gets a clear answer")
    func registrationAfterJoining() async throws {
        try await withFlows(bots: 2) { h in
            let (bot1, bot2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: bot1)
            let payload = try await h.invite(by: 1, on: bot1)
            h.sandbox.addUser(id: 5, firstName: "Olga", languageCode: "en")
            try await h.say("/start", from: 5, to: bot2)
            try await h.press("reg:lang:en", by: 5, on: bot2)
            try await h.press("reg:gender:female", by: 5, on: bot2)
            try await h.join(5, name: "Olga", payload: payload, on: bot1, language: "en")
            try await h.press("reg:ind:construction", by: 5, on: bot2)
            #expect(h.last(bot2, 5)?.text == localizer.text(.registerAlreadyWorker, "en"))
            #expect(try h.database.updateLog.count(status: .failed) == 0)
        }
    }
}

@Suite("Relay: long waits")
struct RelayLongWaitTests {
    @Test("a message held past the retention period becomes a dead letter, and its sender is told once")
    func heldPastRetention() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let clock = ManualWallClock()
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("h.sqlite").path, clock: clock)
            try database.managers.register(UserProfile(id: 1, displayName: "Marta", language: "en", gender: .female), industry: "retail")
            try database.workers.register(UserProfile(id: 2, displayName: "Iván", language: "es", gender: .male))
            let connection = try database.connections.connect(manager: 1, worker: 2, slot: BotSlot(1)!)
            let message = try database.messages.append(NewMessage(connectionID: connection.id, senderID: 1, originalText: "Bring the ladder",
                                                                  sourceLanguage: "en", targetLanguage: "es"))
            try await database.write { tx in
                _ = try OutboxWriter.queue(SendMessage(chatID: .id(2), text: "[es] TRAE LA ESCALERA"), slot: BotSlot(1)!, chatID: 2,
                                           messageID: message.id, held: true, now: clock.now(), tx)
            }
            clock.advance(by: 31 * 86400)
            let service = RetentionService(database: database, settings: .init(messageRetentionDays: 30),
                                           observer: CounterpartNotices(localizer: localizer), logger: Logger(label: "t"))
            _ = try service.sweep()
            let held = try #require(try database.outbox.rows(slot: BotSlot(1)!, chatID: 2).first)
            #expect(held.status == .dead)
            let notice = try #require(try database.outbox.rows(slot: BotSlot(1)!, chatID: 1).first)
            let text = localizer.text(.relayUndeliveredExpired, "en", ["quote": "Bring the ladder", "name": "Iván", "days": "30"])
            #expect(notice.payload.contains(text))
            _ = try service.sweep()
            #expect(try database.outbox.rows(slot: BotSlot(1)!, chatID: 1).count == 1)  // once
        }
    }

    @Test("Telegram refusing a chat's messages for a while: the sender learns it is late; the message still arrives, once")
    func longServerErrors() async throws {
        try await withRelay { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            h.sandbox.inject(SandboxFault(.serverError(status: 500), method: "sendMessage", chatID: 2, botID: bot.token.botID, count: 9))
            h.sandbox.send("Bring the ladder", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1, timeout: .seconds(30))
            #expect(h.texts(bot, 1).last == localizer.text(.relayDeliveryDelayed, "en", ["name": "Iván", "quote": "Bring the ladder"]))
            try await h.waitForTexts(bot, 2, count: workerBefore + 1, timeout: .seconds(30))
            #expect(h.texts(bot, 2).last == "[es] BRING THE LADDER")
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.count(2) == workerBefore + 1 && h.count(1) == managerBefore + 1)
        }
    }

    @Test("a line never opened whose recipient cannot be told anywhere: the writer learns what the messages wait for")
    func recipientUnreachableEverywhere() async throws {
        try await withRelay { h, _ in
            let (bot1, bot2) = (h.bots[0], h.bots[1])
            try await h.registerManager(1, on: bot1)
            try await h.join(2, payload: try await h.invite(by: 1, on: bot1), on: bot1)
            try await h.join(3, name: "Xiomara", payload: try await h.invite(by: 1, on: bot1), on: bot2)
            h.sandbox.block(bot1, by: 1)  // the manager's only bot
            try await h.sandbox.wait(timeout: .seconds(10), "block seen") { _ in (try? h.database.outbox.unreachable(slot: BotSlot(1)!, chatID: 1)) != nil }
            let before = h.sandbox.botMessages(bot2, 3).count
            h.sandbox.send("Ya llegué", from: 3, to: bot2)
            try await h.waitForTexts(bot2, 3, count: before + 1)
            #expect(h.sandbox.botMessages(bot2, 3).last?.text == localizer.text(.relayWaitingForRecipient, "es", ["name": "Marta", "slot": "2"]))
            h.sandbox.send("/start", from: 1, to: bot2)
            try await h.waitForTexts(bot2, 1, count: 2)
            #expect(h.texts(bot2, 1).first == "[en] YA LLEGUÉ")
        }
    }
}

/// Fails every update whose text is "boom".
struct Poison: UpdateHandler {
    struct Failure: Error {}
    func handle(_ update: Update, context: IntakeContext) throws {
        if case let .message(message) = update.kind, message.text == "boom" { throw Failure() }
    }
}
