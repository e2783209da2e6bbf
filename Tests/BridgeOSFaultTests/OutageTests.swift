import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

extension FaultSuite {
    @Suite("Outages of what serve depends on")
    struct OutageTests {
        @Test("a translator outage of several minutes (40 s in CI) during a two-way load: nothing lost, order kept, each sender told once, the others never")
        func translatorOutage() async throws {
            let outage: Duration = FaultWorld.long ? .seconds(300) : .seconds(40)
            let rate = 4.0
            try await FaultWorld.run(conversations: 10) { world in
                try await world.serve.start()
                let load = RelayLoad(world: world)
                let before = Int(5 * rate), during = Int(outage.milliseconds / 1000 * rate), after = Int(5 * rate)
                try await load.run(count: before, rate: rate)
                try await load.waitForAll(timeout: .seconds(30))
                let outageStarted = ContinuousClock.now
                world.translatorDown.set(true)
                let firstDuring = load.sentCount + 1
                try await load.run(count: during, rate: rate)
                let lastDuring = load.sentCount
                #expect(load.deliveredCount == before, "nothing untranslated went out during the outage")
                world.translatorDown.set(false)
                let outageLasted = ContinuousClock.now - outageStarted
                try await load.run(count: after, rate: rate)
                try await load.waitForAll(timeout: .seconds(120))
                let verdict = load.verdict()
                #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                #expect(verdict.duplicates.isEmpty, "twice: \(verdict.duplicates.prefix(5).map(\.serial))")
                #expect(verdict.outOfOrder.isEmpty, "out of order: \(verdict.outOfOrder.prefix(10))")
                // Who wrote during the outage is told once that translation is delayed; nobody else is told.
                let sent = load.sent
                let wroteDuring = Set((firstDuring...lastDuring).compactMap { sent[$0] }.map { $0.fromManager ? RelayPeople.manager($0.conversation) : RelayPeople.worker($0.conversation) })
                let notices = load.otherTexts
                for conversation in 0..<world.conversations {
                    for user in [RelayPeople.manager(conversation), RelayPeople.worker(conversation)] {
                        let told = notices[load.chat(of: user, conversation: conversation)] ?? []
                        #expect(told.count == (wroteDuring.contains(user) ? 1 : 0), "\(user) was told \(told)")
                    }
                }
                try FaultSuite.finalChecks(world)
                FaultSuite.report("translator-outage", [
                    "outage_s": FaultSuite.format(outageLasted.milliseconds / 1000), "messages": "\(load.sentCount)",
                    "held": "\(during)", "senders_told": "\(wroteDuring.count)",
                    "p99_ms_overall": FaultSuite.format(verdict.percentile(0.99)),
                ])
            }
        }

        @Test("a 429 and 5xx storm on one bot: the other four bots keep their pace; every message delivered once, in order")
        func telegramStorm() async throws {
            let (count, rate) = (400, 10.0)
            try await FaultWorld.run(conversations: 10) { world in
                try await world.serve.start()
                let stormy = world.sandbox.bots[0]
                let load = RelayLoad(world: world)
                let storm = Task {
                    try await Task.sleep(for: .seconds(5))
                    // Every sendMessage of bot 1 answered by floods and server errors, about 25 s in all.
                    for fault in [SandboxFault(.flood(retryAfter: 3), method: "sendMessage", botID: stormy.token.botID, count: 3),
                                  SandboxFault(.serverError(status: 502), method: "sendMessage", botID: stormy.token.botID, count: 8),
                                  SandboxFault(.serverError(status: 500), method: "sendMessage", botID: stormy.token.botID, count: 4),
                                  SandboxFault(.flood(retryAfter: 5), method: "sendMessage", botID: stormy.token.botID, count: 2)] {
                        world.sandbox.inject(fault)
                    }
                    return ContinuousClock.now
                }
                try await load.run(count: count, rate: rate)
                let stormStarted = try await storm.value
                try await load.waitForAll(timeout: .seconds(120))
                #expect(world.sandbox.remainingFaults.isEmpty, "the storm was not over when the load was")
                let verdict = load.verdict()
                #expect(verdict.lost.isEmpty, "lost: \(verdict.lost.prefix(20))")
                #expect(verdict.duplicates.isEmpty, "twice: \(verdict.duplicates.prefix(5).map(\.serial))")
                #expect(verdict.outOfOrder.isEmpty, "out of order: \(verdict.outOfOrder.prefix(10))")
                // The other bots' messages written during the storm went at their usual pace.
                let calm = load.latencies { serial, sent in
                    world.bot(sent.conversation).token.botID != stormy.token.botID && sent.at >= stormStarted && sent.at < stormStarted + .seconds(20)
                }
                let stormyLatencies = load.latencies { _, sent in world.bot(sent.conversation).token.botID == stormy.token.botID && sent.at >= stormStarted }
                let calmP99 = calm.isEmpty ? 0 : calm.sorted()[(calm.count - 1) * 99 / 100]
                #expect(calm.count > 100)
                #expect(calmP99 < 2_000, "the other bots slowed down: p99 \(calmP99) ms")
                let floods = world.sandbox.calls("sendMessage").filter { $0.status == 429 }.count
                let errors = world.sandbox.calls("sendMessage").filter { $0.status >= 500 }.count
                try FaultSuite.finalChecks(world)
                FaultSuite.report("telegram-storm", [
                    "messages": "\(count)", "floods": "\(floods)", "server_errors": "\(errors)",
                    "other_bots_p99_ms": FaultSuite.format(calmP99),
                    "stormy_bot_max_ms": FaultSuite.format(stormyLatencies.max() ?? 0),
                ])
            }
        }
    }
}
