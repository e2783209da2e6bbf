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
import Testing

@Suite("The daily summary")
struct DailySummaryTests {
    /// The runtime with an LLM summarizer against the fake provider on 127.0.0.1.
    func withSummaries<T>(chunkCharacters: Int = 12_000, _ body: (Harness, ShiftedClock, FakeProvider) async throws -> T) async throws -> T {
        let provider = FakeProvider()
        provider.fallback.withLock { $0 = { _ in FakeProvider.completion("• Door fixed\n• Action: order tiles by Friday") } }
        return try await provider.run { base in
            try await withHTTPClient { http in
                let summarizer = OpenAISummarizer(configuration: OpenAIConfiguration(baseURL: base, apiKey: "sk-test", model: "test"),
                                                  httpClient: http, logger: Logger(label: "summary"))
                return try await withWork(summarizer: summarizer, chunkCharacters: chunkCharacters) { h, clock in try await body(h, clock, provider) }
            }
        }
    }

    func userPrompts(_ provider: FakeProvider) -> [String] {
        provider.requests.withLock { $0 }.compactMap { request in
            let json = try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]
            let messages = json?["messages"] as? [[String: Any]]
            return messages?.last?["content"] as? String
        }
    }

    @Test("/daily: only the last 24 hours go into the prompt, with times in the manager's time zone; the answer comes per worker")
    func lastDayOnly() async throws {
        try await withSummaries { h, clock, provider in
            try await h.connectedPair()
            let bot = h.bots[0]
            try await h.say("/timezone Asia/Tokyo", from: 1, to: bot)
            let workerBefore = h.count(2)
            h.sandbox.send("Old news from yesterday", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            clock.advance(by: 25 * 3600)
            h.sandbox.send("Fix the door", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            let managerBefore = h.count(1)
            h.sandbox.send("Puerta arreglada", from: 2, to: bot)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            h.sandbox.send("/task Order the tiles", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 3)
            try await h.waitForTexts(bot, 1, count: managerBefore + 2)

            let before = h.count(1)
            try await h.say("/daily", from: 1, to: bot, replies: 2)  // "preparing", the summary
            let summary = try #require(h.last(bot, 1)?.text)
            #expect(summary.hasSuffix("• Door fixed\n• Action: order tiles by Friday"))
            #expect(summary.hasPrefix("📊 Iván: "))
            #expect(h.sandbox.botMessages(bot, 1)[before].text == en(.dailyWorking))
            let prompts = userPrompts(provider)
            #expect(prompts.count == 1)
            let prompt = try #require(prompts.first)
            #expect(!prompt.contains("Old news"))
            #expect(prompt.contains("Marta: Fix the door") && prompt.contains("Iván: [en] PUERTA ARREGLADA"))
            #expect(prompt.contains("Open tasks:\n- Order the tiles"))
            // The times are Tokyo's.
            let message = try #require(try h.database.read { tx in try tx.messages(connection: 1, since: .distantPast, until: .distantFuture) }
                .first { $0.originalText == "Fix the door" })
            let tokyo = WorkClock.time(message.createdAt, language: "en", timeZone: TimeZone(identifier: "Asia/Tokyo")!)
            #expect(prompt.contains("\(tokyo) Marta: Fix the door"))
            let system = try #require(provider.lastRequest?["messages"] as? [[String: Any]]).first?["content"] as? String
            #expect(system?.contains("Write in English") == true)
        }
    }

    @Test("a long day is summarized in parts, then as a whole: every message reaches the provider, none is cut")
    func chunkedLongDay() async throws {
        try await withSummaries(chunkCharacters: 300) { h, _, provider in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            for n in 1...24 { h.sandbox.send("Instruction number \(n) for the crew today", from: 1, to: bot) }
            try await h.waitForTexts(bot, 2, count: workerBefore + 24)
            try await h.say("/daily", from: 1, to: bot, replies: 2)
            let prompts = userPrompts(provider)
            #expect(prompts.count >= 4)  // at least three parts and the whole
            let parts = prompts.dropLast()
            for n in 1...24 {
                #expect(parts.filter { $0.contains("Instruction number \(n) for the crew today\n") }.count == 1, "message \(n)")
            }
            let final = try #require(prompts.last)
            #expect(final.contains("Notes on the parts of the day") && !final.contains("Instruction number"))
            #expect(final.contains("Part \(parts.count):"))
        }
    }

    @Test("without a summary provider /daily says why and lists the open tasks")
    func noProvider() async throws {
        try await withWork { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            h.sandbox.send("/task Order the tiles", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            let reply = try #require(try await h.say("/daily", from: 1, to: bot))
            #expect(reply.text == [en(.dailyNoProvider), "", "👷 Iván", "⬜ Order the tiles"].joined(separator: "\n"))
        }
    }

    @Test("/daily 18: every day at 18:00 in the manager's zone, once a day even when the job runs twice (a restart)")
    func scheduledOncePerDay() async throws {
        try await withSummaries { h, clock, provider in
            try await h.connectedPair()
            let bot = h.bots[0]
            try await h.say("/timezone Europe/Madrid", from: 1, to: bot)
            try await h.say("Hola", from: 1, to: bot, replies: 0)
            try await h.waitForTexts(bot, 2, count: h.count(2))
            let scheduled = try #require(try await h.say("/daily 18", from: 1, to: bot))
            let zone = TimeZone(identifier: "Europe/Madrid")!
            let (when, day) = DailySchedule.next(hour: 18, after: clock.now(), zone: zone)
            #expect(scheduled.text == en(.dailyScheduled, ["time": WorkClock.time(when, language: "en", timeZone: zone), "zone": "Europe/Madrid"]))
            // A copy of the day's job, as a crash between sending and recording could leave.
            let payload = try JSONEncoder().encode(DailySchedule.Job(manager: 1, slot: 1, until: nil, day: day, hour: 18, zone: "Europe/Madrid"))
            try h.database.jobs.enqueue(kind: WorkJobs.dailySummary, queueKey: "copy", payload: String(decoding: payload, as: UTF8.self))
            try await Task.sleep(for: .milliseconds(500))
            let before = h.count(1)
            #expect(before >= 1)
            // (The copy ran at once — it has no delay — and claimed the day; the scheduled one finds it taken.)
            clock.advance(by: when.timeIntervalSince(clock.now()) + 5)
            h.runtime.signals.wakeAll()
            try await Task.sleep(for: .milliseconds(800))
            let summaries = h.sandbox.botMessages(bot, 1).filter { $0.text?.hasPrefix("📊") == true }
            #expect(summaries.count == 1)
            #expect(provider.requests.withLock { $0.count } >= 1)
            // The next day's is queued, and comes a day later.
            clock.advance(by: 86400)
            h.runtime.signals.wakeAll()
            try await h.waitFor("the next day's summary") { _ in h.sandbox.botMessages(bot, 1).filter { $0.text?.hasPrefix("📊") == true }.count == 2 }
            // Off: nothing more.
            try await h.say("/daily off", from: 1, to: bot)
            #expect(h.last(bot, 1)?.text == en(.dailyScheduleOff))
            clock.advance(by: 86400)
            h.runtime.signals.wakeAll()
            try await Task.sleep(for: .milliseconds(500))
            #expect(h.sandbox.botMessages(bot, 1).filter { $0.text?.hasPrefix("📊") == true }.count == 2)
        }
    }
}

@Suite("Due times, time zones, chunks")
struct WorkParsingTests {
    let zone = TimeZone(identifier: "Europe/Madrid")!
    /// 2026-12-03 10:00 in Madrid.
    var now: Date { DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: zone, year: 2026, month: 12, day: 3, hour: 10).date! }

    func local(_ date: Date?) -> String? {
        guard let date else { return nil }
        let formatter = DateFormatter()
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    @Test("due times at the end of a task, in several languages; a passed time means tomorrow")
    func dueTimes() {
        #expect(local(DueTime.parse("fix the door by 17:00", now: now, timeZone: zone)) == "2026-12-03 17:00")
        #expect(local(DueTime.parse("fix the door by 9:30.", now: now, timeZone: zone)) == "2026-12-04 09:30")
        #expect(local(DueTime.parse("order tiles tomorrow", now: now, timeZone: zone)) == "2026-12-04 18:00")
        #expect(local(DueTime.parse("order tiles tomorrow 9:00", now: now, timeZone: zone)) == "2026-12-04 09:00")
        #expect(local(DueTime.parse("pedir azulejos mañana", now: now, timeZone: zone)) == "2026-12-04 18:00")
        #expect(local(DueTime.parse("замовити плитку завтра", now: now, timeZone: zone)) == "2026-12-04 18:00")
        #expect(local(DueTime.parse("clean up today", now: now, timeZone: zone)) == "2026-12-03 18:00")
        #expect(local(DueTime.parse("call me at 5pm", now: now, timeZone: zone)) == "2026-12-03 17:00")
        #expect(local(DueTime.parse("order tiles tomorrow at 17:00", now: now, timeZone: zone)) == "2026-12-04 17:00")
        #expect(local(DueTime.parse("order tiles tomorrow at 9", now: now, timeZone: zone)) == "2026-12-04 09:00")
        #expect(local(DueTime.parse("pedir azulejos mañana a las 9:00", now: now, timeZone: zone)) == "2026-12-04 09:00")
        #expect(local(DueTime.parse("замовити плитку завтра в 9:00", now: now, timeZone: zone)) == "2026-12-04 09:00")
        #expect(local(DueTime.parse("đặt gạch ngày mai 8h", now: now, timeZone: zone)) == "2026-12-04 08:00")
        #expect(local(DueTime.parse("be there at 17.30", now: now, timeZone: zone)) == "2026-12-03 17:30")
        #expect(DueTime.parse("deliver 5.12", now: now, timeZone: zone) == nil)
        #expect(DueTime.parse("buy for 3.50", now: now, timeZone: zone) == nil)
        #expect(DueTime.parse("livrer le 3 mai", now: now, timeZone: zone) == nil)
        #expect(DueTime.parse("fix the door", now: now, timeZone: zone) == nil)
        #expect(DueTime.parse("buy 2 bags of 25.5 kg", now: now, timeZone: zone) == nil)
        #expect(DueTime.parse("room 12:99", now: now, timeZone: zone) == nil)
    }

    @Test("the digest that tells whether an edit would change a message is FNV-1a, 16 hex digits")
    func digest() {
        #expect(TextDigest.of("a") == "af63dc4c8601ec8c")
        #expect(TextDigest.of("") == "cbf29ce484222325")
        #expect(TextDigest.of("✅ Iván: confirmed 09:31") != TextDigest.of("✅ Iván: confirmed 09:32"))
    }

    @Test("time zones by name or offset")
    func timeZones() {
        #expect(DailySchedule.timeZone(named: "Europe/Madrid")?.identifier == "Europe/Madrid")
        #expect(DailySchedule.timeZone(named: "+2")?.secondsFromGMT() == 7200)
        #expect(DailySchedule.timeZone(named: "+2").map(WorkClock.zoneName) == "UTC+2")
        #expect(DailySchedule.timeZone(named: "UTC-5").map(WorkClock.zoneName) == "UTC-5")
        #expect(DailySchedule.timeZone(named: "Europe/Madrid").map(WorkClock.zoneName) == "Europe/Madrid")
        #expect(DailySchedule.timeZone(named: "UTC-5")?.secondsFromGMT() == -18000)
        #expect(DailySchedule.timeZone(named: "GMT+5:30")?.secondsFromGMT() == 19800)
        #expect(DailySchedule.timeZone(named: "utc")?.secondsFromGMT() == 0)
        #expect(DailySchedule.timeZone(named: "Mars/Olympus") == nil)
        #expect(DailySchedule.timeZone(named: "+15") == nil)
        #expect(DailySchedule.timeZone(named: "tomorrow") == nil)
    }

    @Test("a transcript splits into parts within the budget, nothing dropped, an overlong line spread over parts")
    func chunks() {
        let lines = (1...50).map { "10:\(String(format: "%02d", $0)) Marta: line \($0)" } + [String(repeating: "x", count: 250)]
        let parts = SummaryChunks.split(lines, budget: 100)
        #expect(parts.allSatisfy { $0.reduce(0) { $0 + $1.count + 1 } <= 101 })
        #expect(parts.flatMap { $0 }.joined() == lines.joined())
        #expect(SummaryChunks.split(["a", "b"], budget: 1000) == [["a", "b"]])
    }
}
