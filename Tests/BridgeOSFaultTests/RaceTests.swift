import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

extension FaultSuite {
    @Suite("Races")
    struct RaceTests {
        static let publicOrigin = "https://bridgeos.fault.test"

        @Test("100 workers race for one invite, their last step delivered at once over 100 HTTP connections to serve's webhook: exactly one connection, and each of the 99 others told why")
        func inviteRace() async throws {
            let racers = (0..<100).map { Int64(300_000 + $0) }
            try await FaultWorld.run(conversations: 5, settings: ["BRIDGEOS_WEBHOOK": "1", "BRIDGEOS_PUBLIC_URL": Self.publicOrigin]) { world in
                let sandbox = world.sandbox
                try await world.serve.start()
                let port = try #require(world.serve.httpPort)
                sandbox.routeWebhooks(from: Self.publicOrigin, to: "http://127.0.0.1:\(port)")
                try await sandbox.wait(timeout: .seconds(30), "every slot's webhook") { sandbox in sandbox.bots.allSatisfy { sandbox.webhook($0) != nil } }

                // Manager 0 asks for an invite; the link names the bot of a free slot.
                let manager = RelayPeople.manager(0)
                _ = sandbox.send("/addworker", from: manager, to: world.bot(0))
                try await sandbox.wait(timeout: .seconds(30), "invite") { $0.botMessages(world.bot(0), manager).last?.text?.contains("?start=") == true }
                let link = try #require(sandbox.botMessages(world.bot(0), manager).last?.text?.split(separator: "\n").first { $0.hasPrefix("https://t.me/") })
                let username = String(link.dropFirst("https://t.me/".count).prefix { $0 != "?" })
                let payload = String(try #require(link.split(separator: "=").last))
                let bot = try #require(sandbox.bots.first { $0.username == username })

                // Each racer opens the link and picks a language (delivered one by one, as Telegram does).
                for user in racers {
                    _ = sandbox.addUser(id: user, firstName: "Racer \(user)", languageCode: "es")
                    _ = sandbox.send("/start \(payload)", from: user, to: bot)
                }
                try await sandbox.wait(timeout: .seconds(60), "100 language pickers") { sandbox in
                    racers.allSatisfy { sandbox.botMessages(bot, $0).last?.replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == "join:lang:es" } == true }
                }
                for user in racers {
                    let picker = try #require(sandbox.botMessages(bot, user).last)
                    #expect(sandbox.press("join:lang:es", on: picker, by: user, bot: bot) != nil)
                }
                let genderPrompts = try await Self.waitForButton("join:gender:male", racers: racers, bot: bot, sandbox: sandbox)

                // The last step of all 100, held back, then delivered at once.
                sandbox.holdWebhooks(bot)
                for (user, prompt) in genderPrompts {
                    #expect(sandbox.press("join:gender:male", on: prompt, by: user, bot: bot) != nil)
                }
                let statuses = await sandbox.deliverPendingAtOnce(bot)
                sandbox.releaseWebhooks(bot)
                #expect(statuses.count == racers.count)
                let accepted = statuses.values.filter { $0 == 200 }.count
                // A delivery serve could not take at once (503) is delivered again by the sandbox, as by Telegram.
                #expect(statuses.values.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses.values.compactMap { $0 }.sorted())")

                // Every racer hears back: the prompt changes in place to the outcome.
                try await sandbox.wait(timeout: .seconds(60), "every racer answered") { sandbox in
                    genderPrompts.allSatisfy { user, prompt in
                        sandbox.message(prompt.messageID, bot: bot, chatID: user)?.text != prompt.text
                    }
                }
                let database = try AppDatabase.openFile(at: world.databasePath)
                let connected = try racers.filter { try database.connections.active(worker: $0) != nil }
                #expect(connected.count == 1, "\(connected)")
                #expect(try database.connections.active(manager: manager).count == 2, "the seeded line and the winner's")
                let outcomes = Dictionary(grouping: genderPrompts.map { user, prompt in sandbox.message(prompt.messageID, bot: bot, chatID: user)?.text ?? "" }) { $0 }
                #expect(outcomes.count == 2, "one winner's text and one text for the rest: \(outcomes.mapValues(\.count))")
                try FaultSuite.finalChecks(world)
                FaultSuite.report("invite-race", [
                    "racers": "\(racers.count)", "accepted_at_once": "\(accepted)", "connected": "\(connected.count)",
                    "outcomes": outcomes.map { "\($0.value.count)" }.sorted().joined(separator: "+"),
                ])
            }
        }

        /// Waits until each racer's newest message offers `data`, and returns those messages.
        static func waitForButton(_ data: String, racers: [Int64], bot: SandboxBot, sandbox: BotAPISandbox) async throws -> [Int64: Message] {
            try await sandbox.wait(timeout: .seconds(60), "\(data) offered to all") { sandbox in
                racers.allSatisfy { user in
                    sandbox.botMessages(bot, user).last.flatMap { sandbox.message($0.messageID, bot: bot, chatID: user) }?
                        .replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == data } == true
                }
            }
            var messages: [Int64: Message] = [:]
            for user in racers {
                let last = try #require(sandbox.botMessages(bot, user).last)
                messages[user] = try #require(sandbox.message(last.messageID, bot: bot, chatID: user))
            }
            return messages
        }
    }
}
