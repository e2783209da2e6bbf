import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Testing

@Suite("Runtime against the sandbox")
struct RuntimeTests {
    @Test("five slots poll at once; each answers through its own bot; start-up calls made")
    func fiveSlots() async throws {
        try await withRuntime(bots: 5) { h in
            for (index, bot) in h.bots.enumerated() {
                h.sandbox.addUser(id: Int64(100 + index), firstName: "User \(index)")
                h.sandbox.send("hello \(index)", from: Int64(100 + index), to: bot)
            }
            for (index, bot) in h.bots.enumerated() {
                try await h.waitForTexts(bot, Int64(100 + index), count: 1)
                #expect(h.texts(bot, Int64(100 + index)) == ["echo: hello \(index)"])
            }
            for bot in h.bots {
                // Commands are set in the background, beside polling.
                try await h.sandbox.wait(timeout: .seconds(10), "commands of \(bot.username)") { $0.commands(bot) == [BotCommand("help", "Help")] }
                #expect(h.sandbox.calls("getMe").contains { $0.botID == bot.token.botID })
                #expect(h.sandbox.calls("deleteWebhook").contains { $0.botID == bot.token.botID })
            }
            #expect(Set(h.runtime.directory.all.values.map(\.username)) == Set(h.bots.map(\.username)))
            #expect(try h.database.updateLog.count(status: .handled) == 5)
        }
    }

    @Test("a 5000-character reply arrives as valid messages, split at a paragraph")
    func longReply() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.send("/long", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 2)
            let parts = h.texts(bot, 1)
            #expect(parts.count == 2)
            #expect(parts.allSatisfy { $0.utf16.count <= 4096 })
            #expect(parts[0].hasSuffix("noon."))  // cut after a whole paragraph, not mid-word
            // Nothing lost or reordered: the same words, in the same order (only whitespace at the cut is dropped).
            let words = { (text: String) in text.split(whereSeparator: \.isWhitespace) }
            #expect(parts.flatMap(words) == words(TestHandler.longText))
        }
    }

    @Test("200 messages to one chat arrive in order and within the per-chat rate")
    func orderAndRate() async throws {
        let limits = RateLimits(perBot: .init(perSecond: 1000, burst: 100), perChat: .init(perSecond: 100, burst: 5), perGroup: .init(perSecond: 1, burst: 1))
        try await withRuntime(bots: 1, limits: limits) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.send("/burst 200", from: 1, to: bot)
            // About 2 s alone; the wait is long because this runs while the whole suite starts on two cores
            // (what is checked is the order and the rate below, not how soon).
            try await h.waitForTexts(bot, 1, count: 200, timeout: .seconds(90))
            #expect(h.texts(bot, 1) == (1...200).map(String.init))
            try await h.sandbox.wait(timeout: .seconds(5), "200 calls recorded") { sandbox in
                sandbox.calls("sendMessage").filter { $0.status == 200 }.count == 200
            }
            // No window of the send log holds more than the bucket allows: burst + rate × window.
            let times = h.sandbox.calls("sendMessage").filter { $0.chatID == 1 && $0.status == 200 }.map(\.answeredAt)
            #expect(times.count == 200)
            for start in 0..<times.count {
                for end in (start + 1)..<min(times.count, start + 40) {
                    let window = (times[end] - times[start]).seconds
                    // Send start is before the answer; allow one message of slack for that.
                    #expect(Double(end - start + 1) <= 5 + 100 * window + 1.5, "messages \(start)...\(end) within \(window) s")
                }
            }
        }
    }

    @Test("a 429 on one chat waits only that chat; other chats and bots go on")
    func floodIsolation() async throws {
        try await withRuntime(bots: 2) { h in
            let (a, b) = (h.bots[0], h.bots[1])
            for user in [1, 2] as [Int64] { h.sandbox.addUser(id: user, firstName: "U\(user)") }
            // Warm up first (bots polling, chats open), so the timing below measures isolation, not start-up.
            for (user, bot) in [(1, a), (2, a), (1, b)] as [(Int64, SandboxBot)] { h.sandbox.send("/start", from: user, to: bot) }
            for (user, bot) in [(1, a), (2, a), (1, b)] as [(Int64, SandboxBot)] { try await h.waitForTexts(bot, user, count: 1) }
            // Isolation means the other chats finish inside the flooded chat's wait; the wait is long enough
            // (5 s) that a loaded CI machine cannot blur the two.
            h.sandbox.inject(SandboxFault(.flood(retryAfter: 5), method: "sendMessage", chatID: 1, botID: a.token.botID))
            let start = ContinuousClock.now
            h.sandbox.send("to chat 1 on A", from: 1, to: a)
            h.sandbox.send("to chat 2 on A", from: 2, to: a)
            h.sandbox.send("to chat 1 on B", from: 1, to: b)
            try await h.waitForTexts(a, 2, count: 2)
            try await h.waitForTexts(b, 1, count: 2)
            let othersDone = ContinuousClock.now - start
            try await h.waitForTexts(a, 1, count: 2)
            let floodedDone = ContinuousClock.now - start
            #expect(othersDone < .seconds(5), "the other chats waited for chat 1's retry_after")
            #expect(floodedDone >= .seconds(5))
            // Telegram shows the message before the sender has recorded its answer.
            try await h.sandbox.wait(timeout: .seconds(10), "row recorded as sent") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).last?.status) == .sent
            }
            let row = try #require(try h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).last)
            #expect(row.status == .sent)
            #expect(row.lastError == nil && row.attempts == 1)  // a flood wait is not a failed attempt
        }
    }

    @Test("5xx answers are retried with backoff until sent")
    func serverErrorsRetried() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.inject(SandboxFault(.serverError(status: 502), method: "sendMessage", chatID: 1, count: 3))
            h.sandbox.send("hi", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 1)
            // The chat shows the message a moment before the call log records the answer.
            try await h.sandbox.wait(timeout: .seconds(5), "4 calls recorded") { $0.calls("sendMessage").count == 4 }
            #expect(h.sandbox.calls("sendMessage").map(\.status) == [502, 502, 502, 200])
            try await h.sandbox.wait(timeout: .seconds(10), "row recorded as sent") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).last?.status) == .sent
            }
            let row = try #require(try h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).last)
            #expect(row.status == .sent && row.attempts == 4)
        }
    }

    @Test("a 403 marks the user unreachable: their waiting rows are kept undelivered, not retried")
    func forbiddenMarksUnreachable() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            try await h.startedChat(1, bot)
            h.sandbox.deactivate(userID: 1)
            h.sandbox.send("/burst 3", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "rows marked undelivered") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).filter { $0.status == .unreachable }.count) == 3
            }
            #expect(try h.database.outbox.unreachable(slot: BotSlot(1)!, chatID: 1)?.reason == .deactivated)
            #expect(h.sandbox.calls("sendMessage").filter { $0.status == 403 }.count == 1)  // tried once, not forever
        }
    }

    @Test("blocking the bot (my_chat_member) holds the chat's rows; unblocking delivers them, in order, before what comes next")
    func blockAndUnblock() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            let slot = BotSlot(1)!
            try await h.startedChat(1, bot)
            h.sandbox.block(bot, by: 1)
            try await h.sandbox.wait(timeout: .seconds(10), "blocked recorded") { _ in (try? h.database.outbox.unreachable(slot: slot, chatID: 1)) != nil }
            _ = try h.database.outbox.enqueue([NewOutboxRow(slot: slot, chatID: 1, method: "sendMessage", payload: #"{"chat_id":1,"text":"while blocked"}"#)])
            h.runtime.signals.wakeAll()
            try await h.sandbox.wait(timeout: .seconds(10), "row undelivered") { _ in
                (try? h.database.outbox.rows(slot: slot, chatID: 1).last?.status) == .unreachable
            }
            #expect(!h.sandbox.calls("sendMessage").contains { $0.status == 403 })  // known before trying
            h.sandbox.unblock(bot, by: 1)
            try await h.sandbox.wait(timeout: .seconds(10), "unblocked recorded") { _ in (try? h.database.outbox.unreachable(slot: slot, chatID: 1)) == nil }
            // What was held goes out once the chat works again, before anything queued later.
            try await h.waitForTexts(bot, 1, count: 2)
            h.sandbox.send("back", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 3)
            #expect(Array(h.texts(bot, 1).suffix(2)) == ["while blocked", "echo: back"])
            try await h.sandbox.wait(timeout: .seconds(10), "every row recorded as sent") { _ in
                (try? h.database.outbox.rows(slot: slot, chatID: 1).allSatisfy { $0.status == .sent }) == true
            }
        }
    }

    @Test("a row can wait for an earlier one and reply to it")
    func dependencies() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.send("/thread", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 2)
            let messages = h.sandbox.botMessages(bot, 1)
            #expect(messages.map(\.text) == ["first", "second"])
            #expect(messages[1].replyToMessage?.messageID == messages[0].messageID)
        }
    }

    @Test("a poison update is confirmed after N failures and the bot goes on")
    func poisonUpdate() async throws {
        try await withRuntime(bots: 1, maxUpdateAttempts: 3) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.send("/fail", from: 1, to: bot)
            h.sandbox.send("after", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 1)
            #expect(h.texts(bot, 1) == ["echo: after"])
            let failed = try h.database.updateLog.list(status: .failed)
            #expect(failed.count == 1)
            #expect(failed.first?.attempts == 3 && failed.first?.kind == "message")
            #expect(failed.first?.lastError?.contains("Failure") == true)
            // Confirmed: Telegram no longer holds it.
            try await h.sandbox.wait(timeout: .seconds(10), "poison confirmed") { sandbox in
                !sandbox.pendingUpdates(bot).contains { $0.updateID == failed.first?.updateID }
            }
        }
    }

    @Test("button presses are answered at once, ahead of the chat's queue")
    func immediateLane() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            try await h.startedChat(1, bot)
            let menu = try #require(h.sandbox.botMessages(bot, 1).first)
            _ = menu
            // A message with a button, sent directly so the test controls it.
            let sent = try await h.runtime.clients[BotSlot(1)!]!.call(SendMessage(chatID: 1, text: "menu", replyMarkup: .inline(InlineKeyboardMarkup([[InlineKeyboardButton(text: "Go", callbackData: "go")]]))))
            h.sandbox.send("/burst 30", from: 1, to: bot)
            let query = try #require(h.sandbox.press("go", on: sent, by: 1, bot: bot))
            try await h.sandbox.wait(timeout: .seconds(10), "press answered") { $0.isAnswered(callbackQuery: query) }
            try await h.waitForTexts(bot, 1, count: 32)
        }
    }
}
