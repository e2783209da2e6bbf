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
import CoreMetrics
import Logging
import MetricsTestKit
import Synchronization
import Testing

/// A translator that tags text with the target language, can be "down", and records every request.
final class FakeTranslator: Translator {
    let requests = Mutex<[TranslationRequest]>([])
    let down = Mutex(false)

    func translate(_ request: TranslationRequest) async throws -> String {
        requests.withLock { $0.append(request) }
        if down.withLock({ $0 }) { throw TranslationError.retryable(reason: "provider down", retryAfter: .milliseconds(100)) }
        // Upper-cases the words but leaves placeholders alone, as a real translation changes the text.
        return "[\(request.targetLanguage)] " + request.text.uppercased()
    }
}

func withRelay<T>(freeMessages: Int = 50, hourlyCap: Int = 300, translator: FakeTranslator = FakeTranslator(),
                  metrics: any MetricsFactory = NOOPMetricsHandler.instance,
                  _ body: (Harness, FakeTranslator) async throws -> T) async throws -> T {
    let settings = RelaySettings(freeMessages: freeMessages, hourlyCap: hourlyCap, contextMessages: 6)
    let notices = CounterpartNotices(localizer: localizer)
    return try await withRuntime(
        bots: 2, handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: TranslationRelay(settings: settings)), notices]),
        makeJobHandlers: { database, signals in
            RelayJobs.handlers(database: database, translator: translator, localizer: localizer, settings: settings, signals: signals,
                             metrics: metrics, logger: Logger(label: "relay"))
        },
        observer: notices,
        metrics: metrics
    ) { h in try await body(h, translator) }
}

extension Harness {
    /// A manager (Marta, en) and a worker (Iván, es) connected on slot 1.
    func connectedPair() async throws {
        let bot = bots[0]
        try await registerManager(1, on: bot)
        try await join(2, payload: try await invite(by: 1, on: bot), on: bot)
    }

    func count(_ user: Int64) -> Int { sandbox.botMessages(bots[0], user).count }
}

@Suite("Translation relay")
struct RelayTests {
    @Test("both directions are translated, with the previous messages as context")
    func bothDirections() async throws {
        try await withRelay { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            h.sandbox.send("Bring the ladder", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            #expect(h.texts(bot, 2).last == "[es] BRING THE LADDER")
            h.sandbox.send("Voy ahora", from: 2, to: bot)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.texts(bot, 1).last == "[en] VOY AHORA")
            let second = try #require(translator.requests.withLock { $0.last })
            #expect(second.context == [.init(role: .manager, text: "Bring the ladder")])
            #expect(second.speaker == .worker && second.speakerGender == "male" && second.addresseeGender == "female")
            #expect(second.industry == "construction" && second.sourceLanguage == "es" && second.targetLanguage == "en")
            #expect(try h.database.usage.current(manager: 1).messagesCount == 2)  // both directions count
        }
    }

    @Test("URLs and mentions survive translation unchanged")
    func protectedSpans() async throws {
        try await withRelay { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let before = h.count(2)
            h.sandbox.send("Check https://example.com/plan.pdf and ask @site_boss", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: before + 1)
            #expect(h.texts(bot, 2).last == "[es] CHECK https://example.com/plan.pdf AND ASK @site_boss")
            // The link and the mention keep their entities, at their places in the translation.
            let delivered = try #require(h.sandbox.botMessages(bot, 2).last)
            #expect(delivered.entities?.map(\.type) == [.url, .mention])
            #expect(delivered.entities?.compactMap { $0.text(in: delivered.text ?? "") } == ["https://example.com/plan.pdf", "@site_boss"])
        }
    }

    @Test("a provider outage: each sender is told once (the worker writing behind the manager's waiting messages too); all wait and arrive afterwards, in order, once")
    func outage() async throws {
        try await withRelay { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            translator.down.withLock { $0 = true }
            for n in 1...5 { h.sandbox.send("message \(n)", from: 1, to: bot) }
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.texts(bot, 1).last == localizer.text(.relayDelayed, "en"))
            // The worker's messages wait behind the manager's: the worker is told at once, once.
            for n in 1...2 { h.sandbox.send("respuesta \(n)", from: 2, to: bot) }
            try await h.waitForTexts(bot, 2, count: workerBefore + 1)
            #expect(h.texts(bot, 2).last == localizer.text(.relayDelayed, "es"))
            try await Task.sleep(for: .milliseconds(500))
            #expect(h.count(2) == workerBefore + 1)  // nothing overtook; told once, not twice
            #expect(h.count(1) == managerBefore + 1)  // told once, not five times
            translator.down.withLock { $0 = false }
            try await h.waitForTexts(bot, 2, count: workerBefore + 6)
            try await h.waitForTexts(bot, 1, count: managerBefore + 3)
            try await Task.sleep(for: .milliseconds(300))
            #expect(Array(h.texts(bot, 2).suffix(5)) == (1...5).map { "[es] MESSAGE \($0)" })
            #expect(h.count(2) == workerBefore + 6)
            #expect(Array(h.texts(bot, 1).suffix(2)) == (1...2).map { "[en] RESPUESTA \($0)" })
            // The next outage is told again, to whoever meets it.
            translator.down.withLock { $0 = true }
            h.sandbox.send("otra vez", from: 2, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 7)
            #expect(h.texts(bot, 2).last == localizer.text(.relayDelayed, "es"))
            translator.down.withLock { $0 = false }
            try await h.waitForTexts(bot, 1, count: managerBefore + 4)
        }
    }

    @Test("the free tier stops at the limit with an explanation and an upsell; a subscription lifts it")
    func freeTier() async throws {
        try await withRelay(freeMessages: 2) { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let workerBefore = h.count(2)
            h.sandbox.send("one", from: 1, to: bot)
            h.sandbox.send("two", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            let managerBefore = h.count(1)
            h.sandbox.send("uno más", from: 2, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 3)
            #expect(h.texts(bot, 2).last == localizer.text(.relayLimitReached, "es", ["limit": "2"]))
            // Refusals and upsells come once per month per person: not again for the next refused message.
            h.sandbox.send("otro más", from: 2, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "second refusal handled") { _ in
                (try? h.database.updateLog.count(status: .handled)) ?? 0 >= 1 && h.sandbox.pendingUpdates(bot).isEmpty
            }
            try await Task.sleep(for: .milliseconds(400))
            #expect(h.count(2) == workerBefore + 3)
            #expect(h.count(1) == managerBefore)  // the manager had the upsell already this month
            try h.database.subscriptions.record(SubscriptionUpdate(managerID: 1, externalID: "sub_1", status: .active))
            h.sandbox.send("three", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "relayed again") { $0.botMessages(bot, 2).last?.text == "[es] THREE" }
        }
    }

    @Test("a worker blocks the bot: the manager is told once; unblocking delivers what was kept, in order, and tells both the line works again")
    func blockNotices() async throws {
        try await withRelay { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let managerBefore = h.count(1)
            h.sandbox.block(bot, by: 2)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.texts(bot, 1).last == localizer.text(.relayCounterpartBlocked, "en", ["name": "Iván"]))
            // A message meanwhile is kept, not delivered, and the manager is not told again.
            h.sandbox.send("are you there?", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "kept undelivered") { _ in
                (try? h.database.outbox.rows(slot: BotSlot(1)!, chatID: 2).last?.status) == .unreachable
            }
            #expect(h.count(1) == managerBefore + 1)
            let workerBefore = h.count(2)
            h.sandbox.unblock(bot, by: 2)
            try await h.waitForTexts(bot, 1, count: managerBefore + 2)
            try await h.waitForTexts(bot, 2, count: workerBefore + 2)
            #expect(h.texts(bot, 1).last == localizer.text(.relayLineRestored, "en", ["name": "Iván"]))
            // What was written meanwhile arrives first, then the notice.
            #expect(Array(h.texts(bot, 2).suffix(2)) == ["[es] ARE YOU THERE?", localizer.text(.relayLineRestored, "es", ["name": "Marta"])])
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.count(2) == workerBefore + 2)  // once
        }
    }

    @Test("a 403 found while sending tells the other side once too")
    func forbiddenNotices() async throws {
        try await withRelay { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let managerBefore = h.count(1)
            h.sandbox.deactivate(userID: 2)
            h.sandbox.send("hello?", from: 1, to: bot)
            h.sandbox.send("hello again?", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            #expect(h.texts(bot, 1).last == localizer.text(.relayCounterpartBlocked, "en", ["name": "Iván"]))
            try await Task.sleep(for: .milliseconds(300))
            #expect(h.count(1) == managerBefore + 1)
        }
    }

    @Test("metrics: translation latency, errors by kind, jobs waiting and the oldest one's age")
    func metrics() async throws {
        let metrics = TestMetrics()
        try await withRelay(metrics: metrics) { h, translator in
            try await h.connectedPair()
            let bot = h.bots[0]
            let before = h.count(2)
            translator.down.withLock { $0 = true }
            h.sandbox.send("first", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "an outage error counted") { _ in
                ((try? metrics.expectCounter("bridgeos_translation_errors_total", [("provider", "other"), ("kind", "retryable")]).totalValue) ?? 0) >= 1
            }
            translator.down.withLock { $0 = false }
            try await h.waitForTexts(bot, 2, count: before + 1)
            let latency = try metrics.expectTimer("bridgeos_translation_duration_seconds", [("provider", "other")])
            #expect(latency.values.count >= 1)
            let waiting = try metrics.expectGauge("bridgeos_jobs_waiting")
            #expect(waiting.values.contains { $0 >= 1 })  // the job waited during the outage
            _ = try metrics.expectGauge("bridgeos_jobs_oldest_waiting_seconds")
        }
    }

    @Test("beyond the hourly cap messages are refused, the sender told once with the first refused message quoted; an album counts as one")
    func hourlyCap() async throws {
        try await withRelay(hourlyCap: 3) { h, _ in
            try await h.connectedPair()
            let bot = h.bots[0]
            let (managerBefore, workerBefore) = (h.count(1), h.count(2))
            // An album of three photos counts as one message, then two texts: three, all relayed.
            for n in 1...3 { h.sandbox.sendMedia(.photo, from: 1, to: bot, caption: n == 1 ? "Photos of the wall" : nil, mediaGroupID: "album-1") }
            h.sandbox.send("first", from: 1, to: bot)
            h.sandbox.send("second", from: 1, to: bot)
            try await h.waitForTexts(bot, 2, count: workerBefore + 5)
            // Over the cap: refused, told once (quoting the first refused message), the next one refused quietly.
            h.sandbox.send("third one over the cap", from: 1, to: bot)
            h.sandbox.send("fourth", from: 1, to: bot)
            try await h.waitForTexts(bot, 1, count: managerBefore + 1)
            try await Task.sleep(for: .milliseconds(300))
            let notices = h.texts(bot, 1).dropFirst(managerBefore)
            #expect(notices.count == 1)
            #expect(notices.first?.contains("“third one over the cap”") == true)
            #expect(notices.first?.hasPrefix("You have sent 3 messages in the last hour") == true)
            #expect(h.sandbox.botMessages(bot, 2).count == workerBefore + 5)
        }
    }
}
