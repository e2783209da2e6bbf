import BridgeOSCore
import BridgeOSFlows
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import CoreMetrics
import Foundation
import Logging
import Synchronization
import Testing

/// Random interleavings of what people and Telegram do — messages both ways on two lines, blocking and
/// unblocking, the manager opening a line's bot for the first time, restarts of the whole runtime, 429s
/// and 5xx storms — checked against one invariant: every accepted message is delivered exactly once and
/// in order per chat, or its sender was told it was not.
@Suite("Delivery property")
struct DeliveryPropertyTests {
    struct Expected: Equatable {
        let bot: Int
        let chat: Int64
        let text: String
        let sender: Int64
        let body: String
    }

    /// The people: Marta (manager, en, registered in bot 1), Iván (es, line 1 in bot 1), Oksana (uk, line 2
    /// in bot 2, which Marta has not opened when Oksana first writes).
    static let marta: Int64 = 1, ivan: Int64 = 2, oksana: Int64 = 3

    @Test("every accepted message is delivered once, in order per chat, or its sender told (fixed seeds)")
    func randomInterleavings() async throws {
        let seeds: [UInt64] = [20261202, 7, 424242]
        var total = Stats()
        for seed in seeds {
            let stats = try await runCase(seed: seed, segments: 3, stepsPerSegment: 18)
            total.add(stats)
        }
        print("delivery property: \(seeds.count) cases (seeds \(seeds)), \(total.steps) random steps: \(total.messages) messages, "
              + "\(total.blockChanges) blocks/unblocks, \(total.faults) injected 429/5xx faults, \(total.restarts) restarts, "
              + "\(total.firstContacts) first contacts; invariant checked per chat")
        #expect(total.messages > 0 && total.blockChanges > 0 && total.faults > 0 && total.restarts > 0 && total.firstContacts > 0)
    }

    struct Stats {
        var steps = 0, messages = 0, blockChanges = 0, faults = 0, restarts = 0, firstContacts = 0
        mutating func add(_ other: Stats) {
            steps += other.steps; messages += other.messages; blockChanges += other.blockChanges
            faults += other.faults; restarts += other.restarts; firstContacts += other.firstContacts
        }
    }

    /// One case; returns what it did.
    func runCase(seed: UInt64, segments: Int, stepsPerSegment: Int) async throws -> Stats {
        var random = SeededGenerator(seed: seed)
        let translator = FakeTranslator()
        var expected: [Expected] = []
        var stats = Stats()
        try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let path = directory.appendingPathComponent("property.sqlite").path
                let (bot1, bot2) = (sandbox.bots[0], sandbox.bots[1])
                // Who has blocked which bot (1 or 2), as the sandbox sees it.
                var blocked: Set<[Int64]> = []
                var counter = 0
                for segment in 0..<segments {
                    try await withPropertyRuntime(translator: translator, path: path, sandbox: sandbox) { h in
                        if segment == 0 {
                            try await h.registerManager(Self.marta, on: bot1)
                            try await h.join(Self.ivan, payload: try await h.invite(by: Self.marta, on: bot1), on: bot1)
                            try await h.join(Self.oksana, name: "Oksana", payload: try await h.invite(by: Self.marta, on: bot1), on: bot2, language: "uk")
                        }
                        for _ in 0..<stepsPerSegment {
                            stats.steps += 1
                            switch Int.random(in: 0..<10, using: &random) {
                            case 0...4:
                                // A message: Marta on line 1 or 2, Iván, or Oksana.
                                counter += 1
                                stats.messages += 1
                                let body = "msg \(counter)"
                                switch Int.random(in: 0..<4, using: &random) {
                                case 0:
                                    blocked.remove([Self.marta, 1])
                                    h.sandbox.send(body, from: Self.marta, to: bot1)
                                    expected.append(Expected(bot: 1, chat: Self.ivan, text: "[es] \(body.uppercased())", sender: Self.marta, body: body))
                                case 1:
                                    blocked.remove([Self.marta, 2])
                                    if h.sandbox.botMessages(bot2, Self.marta).isEmpty { stats.firstContacts += 1 }
                                    h.sandbox.send(body, from: Self.marta, to: bot2)
                                    expected.append(Expected(bot: 2, chat: Self.oksana, text: "[uk] \(body.uppercased())", sender: Self.marta, body: body))
                                case 2:
                                    blocked.remove([Self.ivan, 1])
                                    h.sandbox.send(body, from: Self.ivan, to: bot1)
                                    expected.append(Expected(bot: 1, chat: Self.marta, text: "[en] \(body.uppercased())", sender: Self.ivan, body: body))
                                default:
                                    blocked.remove([Self.oksana, 2])
                                    h.sandbox.send(body, from: Self.oksana, to: bot2)
                                    expected.append(Expected(bot: 2, chat: Self.marta, text: "[en] \(body.uppercased())", sender: Self.oksana, body: body))
                                }
                            case 5, 6:
                                // Someone blocks or unblocks their bot.
                                let (person, bot): (Int64, Int) = [(Self.marta, 1), (Self.marta, 2), (Self.ivan, 1), (Self.oksana, 2)]
                                    .randomElement(using: &random)!
                                let sandboxBot = bot == 1 ? bot1 : bot2
                                stats.blockChanges += 1
                                if blocked.contains([person, Int64(bot)]) {
                                    h.sandbox.unblock(sandboxBot, by: person)
                                    blocked.remove([person, Int64(bot)])
                                } else if person != Self.marta || bot != 2 || h.sandbox.botMessages(bot2, Self.marta).count > 0 {
                                    h.sandbox.block(sandboxBot, by: person)
                                    blocked.insert([person, Int64(bot)])
                                }
                            case 7:
                                // Telegram pushes back on one chat: a 429, or a short 5xx storm.
                                stats.faults += 1
                                let chat: Int64 = [Self.marta, Self.ivan, Self.oksana].randomElement(using: &random)!
                                let bot = Bool.random(using: &random) ? bot1 : bot2
                                if Bool.random(using: &random) {
                                    h.sandbox.inject(SandboxFault(.flood(retryAfter: 1), method: "sendMessage", chatID: chat, botID: bot.token.botID))
                                } else {
                                    h.sandbox.inject(SandboxFault(.serverError(status: 502), method: "sendMessage", chatID: chat, botID: bot.token.botID,
                                                                  count: Int.random(in: 1...4, using: &random)))
                                }
                            case 8:
                                // The manager opens line 2's bot (the first contact, if it is the first time).
                                blocked.remove([Self.marta, 2])
                                if h.sandbox.botMessages(bot2, Self.marta).isEmpty { stats.firstContacts += 1 }
                                h.sandbox.send("/help", from: Self.marta, to: bot2)
                            default:
                                // A pause, letting work run before the next step.
                                try await Task.sleep(for: .milliseconds(Int.random(in: 20...150, using: &random)))
                            }
                            try await Task.sleep(for: .milliseconds(Int.random(in: 0...40, using: &random)))
                        }
                        if segment == segments - 1 {
                            // The end: everyone can be written to again; everything settles.
                            for pair in blocked { h.sandbox.unblock(pair[1] == 1 ? bot1 : bot2, by: pair[0]) }
                            blocked.removeAll()
                            h.sandbox.send("/help", from: Self.marta, to: bot2)
                            try await settle(h, expected: expected, seed: seed)
                        }
                        // Otherwise the runtime stops (a restart) with work in every state.
                        if segment < segments - 1 { stats.restarts += 1 }
                    }
                }
                try check(sandbox, expected: expected, seed: seed)
                #expect(sandbox.violations.isEmpty, "seed \(seed): \(sandbox.violations)")
            }
        }
        return stats
    }

    /// Waits until every expected message arrived or its sender was told, and the outbox is empty.
    func settle(_ h: Harness, expected: [Expected], seed: UInt64) async throws {
        let bots = h.bots
        try await h.sandbox.wait(timeout: .seconds(60), "seed \(seed): everything delivered or explained") { sandbox in
            let delivered = expected.allSatisfy { item in
                sandbox.botMessages(bots[item.bot - 1], item.chat).contains { $0.text == item.text }
                    || Self.told(sandbox, bots: bots, about: item)
            }
            let open = (try? h.database.outbox.counts()).map { ($0[.pending] ?? 0) + ($0[.inFlight] ?? 0) } ?? 1
            let jobs = (try? h.database.jobs.backlog().waiting) ?? 1
            return delivered && open == 0 && jobs == 0
        }
        try await Task.sleep(for: .milliseconds(300))
    }

    static func told(_ sandbox: BotAPISandbox, bots: [SandboxBot], about item: Expected) -> Bool {
        let language = item.sender == marta ? "en" : item.sender == ivan ? "es" : "uk"
        let quote = item.body
        let texts = [TextKey.relayUndeliveredRefused, .relayUndeliveredFailed, .relayUndeliveredEnded]
            .map { localizer.text($0, language, ["quote": quote, "name": "?"]).prefix(20) }
        return bots.contains { bot in sandbox.botMessages(bot, item.sender).contains { message in
            texts.contains { message.text?.hasPrefix($0) == true } && message.text?.contains(quote) == true
        } }
    }

    /// The invariant, per chat: the relayed texts are exactly the expected ones, once each, in order.
    func check(_ sandbox: BotAPISandbox, expected: [Expected], seed: UInt64) throws {
        let bots = sandbox.bots
        let chats = Set(expected.map { [Int64($0.bot), $0.chat] })
        for chat in chats {
            let bot = bots[Int(chat[0]) - 1]
            let want = expected.filter { $0.bot == Int(chat[0]) && $0.chat == chat[1] && !Self.told(sandbox, bots: bots, about: $0) }.map(\.text)
            let got = sandbox.botMessages(bot, chat[1]).compactMap(\.text).filter { $0.hasPrefix("[") && $0.contains("MSG ") }
            #expect(got == want, "seed \(seed), bot \(chat[0]), chat \(chat[1]): relayed \(got), expected \(want)")
        }
    }
}

/// The relay runtime over an existing database and sandbox (so a case can restart it).
func withPropertyRuntime(translator: FakeTranslator, path: String, sandbox: BotAPISandbox, _ body: (Harness) async throws -> Void) async throws {
    let settings = RelaySettings(freeMessages: 10_000, hourlyCap: 10_000, contextMessages: 3)
    let notices = CounterpartNotices(localizer: localizer)
    try await withRuntime(
        bots: 2, handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: TranslationRelay(settings: settings)), notices]),
        makeJobHandlers: { database, signals in
            RelayJobs.handlers(database: database, translator: translator, localizer: localizer, settings: settings, signals: signals,
                             logger: Logger(label: "relay"))
        },
        observer: notices, existingDatabase: path, sandbox: sandbox, body)
}
