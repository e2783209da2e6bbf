import BridgeOSCore
@testable import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The shared mechanisms behind the delivery guarantees: splitting, planning rows, purging, giving up.
@Suite("Delivery mechanisms")
struct DeliveryMechanismTests {
    @Test("a single character longer than the limit is cut between scalars: the split ends, nothing is lost")
    func longGrapheme() {
        // One grapheme cluster: a letter followed by 5,000 combining marks (5,001 UTF-16 units).
        let text = "Before " + "e" + String(repeating: "\u{0301}", count: 5000) + " after"
        let parts = TextSplitter.split(text, limit: 4096)
        #expect(parts.count >= 2)
        #expect(parts.allSatisfy { $0.text.utf16.count <= 4096 })
        #expect(parts.map(\.text).joined().unicodeScalars.filter { $0 == "\u{0301}" }.count == 5000)
        #expect(parts.first?.text.hasPrefix("Before") == true && parts.last?.text.hasSuffix("after") == true)
    }

    @Test("a media copy whose caption is too long: the media without it, then the text as a reply, entities kept")
    func longCaption() throws {
        let caption = String(repeating: "word ", count: 300) + "https://example.com/plan"
        let link = MessageEntity(type: .url, offset: caption.utf16.count - 24, length: 24)
        let copy = CopyMessage(chatID: .id(7), fromChatID: .id(8), messageID: 5, caption: caption, captionEntities: [link])
        let plan = try OutboxWriter.plan(copy, slot: BotSlot(1)!, chatID: 7, lane: .chat, isGroup: false, dependency: nil)
        #expect(plan.count == 2)
        let media = try JSONDecoder().decode(JSONValue.self, from: Data(plan[0].row.payload.utf8))
        #expect(plan[0].row.method == "copyMessage" && media.object?["caption"]?.string == "" && media.object?["caption_entities"] == nil)
        #expect(plan[1].row.method == "sendMessage" && plan[1].repliesToPrevious)
        let text = try JSONDecoder().decode(JSONValue.self, from: Data(plan[1].row.payload.utf8))
        #expect(text.object?["text"]?.string == caption)
        #expect(text.object?["entities"]?.array?.first?.object?["offset"]?.int64 == Int64(link.offset))
        #expect(text.object?["reply_parameters"]?.object?["allow_sending_without_reply"] == .bool(true))
        // A caption within the limit stays a caption.
        let short = CopyMessage(chatID: .id(7), fromChatID: .id(8), messageID: 5, caption: String(repeating: "x", count: 1024))
        #expect(try OutboxWriter.plan(short, slot: BotSlot(1)!, chatID: 7, lane: .chat, isGroup: false, dependency: nil).count == 1)
    }

    @Test("purging finished rows that finished rows depend on: children first, and every kind still runs")
    func purgeWithFinishedDependents() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let clock = ManualWallClock()
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("p.sqlite").path, clock: clock)
            let slot = BotSlot(1)!
            let parent = try database.outbox.enqueue([NewOutboxRow(slot: slot, chatID: 2, method: "copyMessage", payload: #"{"chat_id":2}"#)])[0]
            let child = try database.outbox.enqueue([NewOutboxRow(slot: slot, chatID: 2, method: "sendMessage", payload: #"{"chat_id":2,"text":"x"}"#,
                                                                  dependsOn: parent.id, dependsOnField: "reply_parameters.message_id")])[0]
            let grandchild = try database.outbox.enqueue([NewOutboxRow(slot: slot, chatID: 2, method: "sendMessage", payload: #"{"chat_id":2,"text":"y"}"#,
                                                                       dependsOn: child.id, dependsOnField: "reply_parameters.message_id")])[0]
            try database.outbox.markSent(parent.id, result: nil, messageID: 1)
            try database.outbox.markSent(child.id, result: nil, messageID: 2)
            try database.outbox.markDead(grandchild.id, error: "400")
            clock.advance(by: 40 * 86400)
            let service = RetentionService(database: database, settings: .init(messageRetentionDays: 30, batchSize: 1), logger: Logger(label: "t"))
            let sweep = try service.sweep()
            #expect(sweep.outboxRows == 3)
            #expect(try database.outbox.rows(slot: slot, chatID: 2).isEmpty)
        }
    }

    @Test("a job whose payload cannot be decoded fails at once, and its handler is told")
    func undecodableJob() async throws {
        let handler = RecordingEchoHandler()
        try await withRuntime(bots: 1, handler: TestHandler(), jobHandlers: [handler]) { h in
            let job = try h.database.jobs.enqueue(kind: "echo", queueKey: "chat:1", payload: #"{"not":"an echo job"}"#)
            h.runtime.signals.wakeAll()
            try await h.sandbox.wait(timeout: .seconds(10), "job failed") { _ in (try? h.database.jobs.find(job.id)?.status) == .failed }
            #expect(try h.database.jobs.find(job.id)?.attempts == 1)
            #expect(handler.told.withLock { $0.count } == 1)
        }
    }

    @Test("a 5xx storm longer than the old retry budget: the row waits it out and is delivered once")
    func serverErrorStorm() async throws {
        try await withRuntime(bots: 1, handler: TestHandler()) { h in
            let bot = h.bots[0]
            try await h.startedChat(1, bot)
            // The harness gives up on non-transient failures after 6 attempts; the storm is twice that.
            h.sandbox.inject(SandboxFault(.serverError(status: 502), method: "sendMessage", chatID: 1, count: 12))
            h.sandbox.send("during the storm", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 2, timeout: .seconds(30))
            #expect(h.texts(bot, 1) == ["welcome", "echo: during the storm"])
            #expect(h.sandbox.remainingFaults.isEmpty)
            try await h.sandbox.wait(timeout: .seconds(10), "recorded as sent") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).last?.status) == .sent
            }
            #expect(try h.database.outbox.rows(slot: BotSlot(1)!, chatID: 1).last?.attempts == 13)
        }
    }

    @Test("rows held with no record of the chat being unreachable (from before an upgrade) go first, once the chat is written to")
    func heldWithoutRecord() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            let slot = BotSlot(1)!
            try await h.startedChat(1, bot)
            try await h.database.write { tx in
                _ = try OutboxWriter.queue(SendMessage(chatID: .id(1), text: "kept from before"), slot: slot, chatID: 1, held: true, now: h.database.clock.now(), tx)
            }
            #expect(try h.database.outbox.unreachable(slot: slot, chatID: 1) == nil)
            h.sandbox.send("hello", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 3)
            #expect(h.texts(bot, 1) == ["welcome", "kept from before", "echo: hello"])
        }
    }

    @Test("a private chat whose user never started the bot is never written to: the rows wait and go when they start it")
    func neverStarted() async throws {
        try await withRuntime(bots: 2, handler: CrossBotHandler()) { h in
            let (a, b) = (h.bots[0], h.bots[1])
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.addUser(id: 2, firstName: "Ben")
            h.sandbox.send("hello Ben", from: 1, to: a)  // Ben never started bot 2: the row waits.
            try await h.sandbox.wait(timeout: .seconds(10), "held") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(2)!, chatID: 2).first?.status) == .unreachable
            }
            #expect(try h.database.outbox.unreachable(slot: BotSlot(2)!, chatID: 2)?.reason == .notStarted)
            #expect(h.sandbox.calls("sendMessage").allSatisfy { $0.status == 200 })
            h.sandbox.send("/start", from: 2, to: b)
            try await h.waitForTexts(b, 2, count: 2)
            #expect(h.texts(b, 2) == ["from Ana: hello Ben", "welcome"])
        }
    }
}

@Suite("Start-up and polling under 429s")
struct StartupTests {
    @Test("a 429 on setMyCommands does not hold up polling, and only that call waits retry_after; a 429 on getUpdates waits too")
    func commandsInBackground() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let bot = sandbox.bots[0]
                sandbox.inject(SandboxFault(.flood(retryAfter: 2), method: "setMyCommands", botID: bot.token.botID))
                sandbox.inject(SandboxFault(.flood(retryAfter: 1), method: "getUpdates", botID: bot.token.botID))
                sandbox.addUser(id: 1, firstName: "Ana")
                try await withRuntime(bots: 1, existingDatabase: directory.appendingPathComponent("s.sqlite").path, sandbox: sandbox) { h in
                    h.sandbox.send("hello", from: 1, to: bot)
                    try await h.waitForTexts(bot, 1, count: 1)
                    try await h.sandbox.wait(timeout: .seconds(10), "commands set") { $0.commands(bot) == [BotCommand("help", "Help")] }
                    let commandCalls = h.sandbox.calls("setMyCommands")
                    #expect(commandCalls.map(\.status) == [429, 200])
                    #expect((commandCalls[1].answeredAt - commandCalls[0].answeredAt) >= .seconds(2))
                    let polls = h.sandbox.calls("getUpdates")
                    // Polling began while setMyCommands was still waiting out its 429.
                    #expect(try #require(polls.first).answeredAt < commandCalls[1].answeredAt)
                    let flooded = try #require(polls.firstIndex { $0.status == 429 })
                    #expect(polls.count > flooded + 1 && (polls[flooded + 1].answeredAt - polls[flooded].answeredAt) >= .seconds(1))
                }
                #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
            }
        }
    }
}

/// Relays "from <name>: text" to user 2 through bot 2, answers `/start` with "welcome".
struct CrossBotHandler: UpdateHandler {
    func handle(_ update: Update, context: IntakeContext) throws {
        guard case let .message(message) = update.kind, let text = message.text else { return }
        if text == "/start" {
            try context.send(SendMessage(chatID: .id(message.chat.id), text: "welcome"), chatID: message.chat.id)
        } else {
            try context.send(SendMessage(chatID: .id(2), text: "from \(message.from?.firstName ?? "?"): \(text)"), chatID: 2, slot: BotSlot(2)!)
        }
    }
}

/// The echo handler, recording what it is told about failed jobs.
final class RecordingEchoHandler: JobHandler {
    let kind = "echo"
    let told = Mutex<[String]>([])

    func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(EchoJob.self, from: Data(job.payload.utf8))
        return JobCompletion { context in
            try context.send(SendMessage(chatID: .id(payload.chat), text: "job: \(payload.text)"), chatID: payload.chat, slot: BotSlot(payload.slot)!)
        }
    }

    func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {
        told.withLock { $0.append(reason) }
    }
}
