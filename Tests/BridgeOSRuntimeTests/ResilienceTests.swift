import AsyncHTTPClient
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import Testing

@Suite("Runtime resilience")
struct ResilienceTests {
    @Test("exactly once across a crash in the middle of a batch (store reopened)")
    func crashMidBatch() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let path = directory.appendingPathComponent("bridgeos.sqlite").path
                let bot = sandbox.bots[0]
                sandbox.addUser(id: 1, firstName: "Ana")
                for n in 1...10 { sandbox.send("m\(n)", from: 1, to: bot) }

                // A first process fetches the batch, handles half of it, and dies before confirming or sending anything.
                try await withHTTPClient { http in
                    let client = BotAPIClient(token: bot.token, httpClient: http, configuration: BotAPIConfiguration(baseURL: sandbox.baseURL), logger: Logger(label: "crashing"))
                    let first = try AppDatabase.openFile(at: path)
                    let intake = Intake(database: first, handler: CompositeHandler([ReachabilityTracker(), TestHandler()]), signals: RuntimeSignals(), bots: { [:] })
                    let batch = try await client.call(GetUpdates(timeout: 0))
                    #expect(batch.count == 10)
                    for update in batch.prefix(5) { #expect(try intake.process(update, slot: BotSlot(1)!) == .handled) }
                    #expect(try intake.process(batch[0], slot: BotSlot(1)!) == .duplicate)
                }
                #expect(sandbox.botMessages(bot, 1).isEmpty)

                // The restarted process polls without an offset: Telegram sends all ten again.
                try await withRuntime(existingDatabase: path, sandbox: sandbox) { h in
                    try await h.waitForTexts(bot, 1, count: 10)
                    try await Task.sleep(for: .milliseconds(300))  // and nothing more comes
                    #expect(h.texts(bot, 1) == (1...10).map { "echo: m\($0)" })
                    #expect(try h.database.updateLog.count(status: .handled) == 10)
                }
                #expect(sandbox.violations.isEmpty)
            }
        }
    }

    @Test("rows in flight at a crash are sent after the restart")
    func inFlightRowsResent() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let path = directory.appendingPathComponent("bridgeos.sqlite").path
                sandbox.addUser(id: 1, firstName: "Ana")
                sandbox.send("/start", from: 1, to: sandbox.bots[0])
                _ = try await withHTTPClient { http in
                    try await BotAPIClient(token: sandbox.bots[0].token, httpClient: http, configuration: BotAPIConfiguration(baseURL: sandbox.baseURL), logger: Logger(label: "t"))
                        .call(GetUpdates(offset: 200_000_000, timeout: 0))
                }
                let database = try AppDatabase.openFile(at: path)
                let row = try #require(try database.outbox.enqueue([NewOutboxRow(slot: BotSlot(1)!, chatID: 1, method: "sendMessage", payload: #"{"chat_id":1,"text":"was in flight"}"#)]).first)
                try database.outbox.markInFlight(row.id)
                try await withRuntime(existingDatabase: path, sandbox: sandbox) { h in
                    try await h.waitForTexts(sandbox.bots[0], 1, count: 1)
                    #expect(h.texts(sandbox.bots[0], 1) == ["was in flight"])
                    #expect(h.logs.all.contains { $0.message.contains("resending rows that were in flight") })
                }
            }
        }
    }

    @Test("409: another poller on one token is reported once; the other slots keep working")
    func conflictReported() async throws {
        try await withRuntime(bots: 2) { h in
            let (a, b) = (h.bots[0], h.bots[1])
            try await h.sandbox.wait(timeout: .seconds(10), "slot 1 polling") { _ in h.runtime.status.all[BotSlot(1)!]?.state == .polling }
            // A second "instance" polls bot A for a while.
            let rival = Task {
                try await withHTTPClient { http in
                    let client = BotAPIClient(token: a.token, httpClient: http, configuration: BotAPIConfiguration(baseURL: h.sandbox.baseURL), logger: Logger(label: "rival"))
                    let end = ContinuousClock.now + .milliseconds(1500)
                    while ContinuousClock.now < end { _ = try? await client.call(GetUpdates(timeout: 1)) }
                }
            }
            try await h.sandbox.wait(timeout: .seconds(10), "conflict seen") { _ in h.runtime.status.all[BotSlot(1)!]?.state == .conflict }
            h.sandbox.addUser(id: 2, firstName: "Bo")
            h.sandbox.send("still here?", from: 2, to: b)
            try await h.waitForTexts(b, 2, count: 1)
            try await rival.value
            let warnings = h.logs.all.filter { $0.message.contains("another process is polling") }
            #expect(warnings.count == 1)
            #expect(warnings.first?.metadata["slot"] == "1")
        }
    }

    @Test("401: a refused token stops its slot only")
    func unauthorizedSlot() async throws {
        try await withRuntime(bots: 1, tokens: { sandbox in
            [BotSlot(1)!: sandbox.bots[0].token, BotSlot(2)!: BotToken("42:AAEnotAtokenTheSandboxKnows")!]
        }) { h in
            try await h.sandbox.wait(timeout: .seconds(10), "slot 2 refused") { _ in h.runtime.status.all[BotSlot(2)!]?.state == .unauthorized }
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.send("hi", from: 1, to: h.bots[0])
            try await h.waitForTexts(h.bots[0], 1, count: 1)
            #expect(h.logs.all.contains { $0.level == .error && $0.message.contains("BRIDGEOS_BOT2_TOKEN") })
            #expect(!h.logs.all.contains { $0.line.contains("AAEnotAtokenTheSandboxKnows") })
        }
    }

    @Test("jobs run in order per conversation, a retry does not let a later job overtake")
    func orderedJobs() async throws {
        try await withRuntime(bots: 1, jobHandlers: [EchoJobHandler(flaky: ["a"])]) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.addUser(id: 2, firstName: "Bo")
            for text in ["a", "b", "c"] { h.sandbox.send("/job \(text)", from: 1, to: bot) }
            h.sandbox.send("/job other", from: 2, to: bot)
            try await h.waitForTexts(bot, 2, count: 1)
            try await h.waitForTexts(bot, 1, count: 3)
            #expect(h.texts(bot, 1) == ["job: a", "job: b", "job: c"])
            #expect(h.texts(bot, 2) == ["job: other"])
            #expect(try h.database.jobs.backlog().waiting == 0)
            #expect(h.logs.all.contains { $0.message == "job will be retried" })
        }
    }
}

@Suite("Runtime dead letters and restarts")
struct DeadLetterTests {
    @Test("a 400 that cannot succeed is dead-lettered with its reason, and the chat's next row goes on")
    func badRequestDeadLettered() async throws {
        try await withRuntime(bots: 1) { h in
            let bot = h.bots[0]
            let slot = BotSlot(1)!
            h.sandbox.addUser(id: 1, firstName: "Ana")
            h.sandbox.send("/start", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: 1)
            let rows = try h.database.outbox.enqueue([
                NewOutboxRow(slot: slot, chatID: 1, method: "editMessageText", payload: #"{"chat_id":1,"message_id":999,"text":"edit"}"#),
                NewOutboxRow(slot: slot, chatID: 1, method: "sendMessage", payload: #"{"chat_id":1,"text":"next"}"#),
            ])
            h.runtime.signals.wakeAll()
            try await h.waitForTexts(bot, 1, count: 2)
            try await h.sandbox.wait(timeout: .seconds(5), "dead letter recorded") { _ in (try? h.database.outbox.find(rows[0].id)?.status) == .dead }
            let dead = try #require(try h.database.outbox.find(rows[0].id))
            #expect(dead.lastError == "bad request: Bad Request: message to edit not found")
            #expect(h.sandbox.calls("editMessageText").count == 1)  // not retried
            #expect(try h.database.outbox.counts()[.dead] == 1)
        }
    }

    @Test("jobs that were running when the process died run again after the restart")
    func jobsSurviveRestart() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let path = directory.appendingPathComponent("bridgeos.sqlite").path
                sandbox.addUser(id: 1, firstName: "Ana")
                sandbox.send("/start", from: 1, to: sandbox.bots[0])
                let database = try AppDatabase.openFile(at: path)
                let payload = String(decoding: try JSONEncoder().encode(EchoJob(chat: 1, slot: 1, text: "survivor")), as: UTF8.self)
                let job = try database.jobs.enqueue(kind: "echo", queueKey: "chat:1", payload: payload)
                #expect(try database.jobs.claim(limit: 1).map(\.id) == [job.id])  // "running" when the process died
                try await withRuntime(jobHandlers: [EchoJobHandler()], existingDatabase: path, sandbox: sandbox) { h in
                    try await h.waitForTexts(sandbox.bots[0], 1, count: 2)
                    #expect(h.texts(sandbox.bots[0], 1).contains("job: survivor"))
                    try await sandbox.wait(timeout: .seconds(5), "job done") { _ in (try? h.database.jobs.find(job.id)?.status) == .done }
                }
            }
        }
    }
}
