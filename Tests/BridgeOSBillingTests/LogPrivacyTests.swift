import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

/// The log is read by whoever runs the machine (journalctl, a support ticket): it carries no bot token, API
/// key, signing secret, or anything people wrote, at info level and above, across the whole appliance.
@Suite("Log privacy")
struct LogPrivacyTests {
    @Test("a day's work through the whole appliance (registration, invitation, relayed messages both ways, feedback and its answer, checkout, a signed webhook, a forged one): no secret and no message text in any log line at info or above")
    func nothingPrivateInLogs() async throws {
        let admin: Int64 = 900
        try await withBilling(admins: [admin], freeMessages: 100) { h in
            let bot = h.bots[0]
            h.sandbox.addUser(id: admin, firstName: "Ada", languageCode: "en")
            try await h.flows.say("/start", from: admin, to: bot)
            try await h.flows.registerManager(1, on: bot)
            try await h.flows.join(2, name: "Iván", payload: try await h.flows.invite(by: 1, on: bot), on: bot)

            h.sandbox.send("Zephyr-7731 bring the ladder", from: 1, to: bot)
            try await h.waitForText("[es] Zephyr-7731 bring the ladder", bot: bot, chat: 2)
            h.sandbox.send("Quokka-7732 voy ahora", from: 2, to: bot)
            try await h.waitForText("[en] Quokka-7732 voy ahora", bot: bot, chat: 1)
            try await h.flows.say("/feedback Narwhal-7733 please add Polish", from: 2, to: bot)
            let notice = try await h.waitForText("Narwhal-7733", bot: bot, chat: admin)
            let noticeID = try #require(h.sandbox.botMessages(bot, admin).last { $0.text == notice }?.messageID)
            try await h.sandbox.wait(timeout: .seconds(10), "notice recorded") { _ in
                (try? h.database.read { try $0.feedbackForNotice(slot: BotSlot(1)!, admin: admin, chatMessageID: noticeID) }) != nil
            }
            h.sandbox.send("Axolotl-7734 soon", from: admin, to: bot, replyTo: noticeID)
            try await h.waitForText("Axolotl-7734", bot: bot, chat: 2)
            try await h.flows.say("/subscription", from: 1, to: bot)
            let checkout = try #require(h.lemon.checkouts.withLock { $0.first })
            try await h.waitForText(checkout.url, bot: bot, chat: 1)
            let body = h.lemon.subscriptionEvent("subscription_created", id: "3001", status: "active", telegramID: 1,
                                                 updatedAt: Date(), renewsAt: Date().addingTimeInterval(30 * 86400))
            #expect(try await h.deliver(body, signing: .wrong) == 401)
            #expect(try await h.deliver(body) == 200)
            // The update that ran into an error is logged too: a garbled command argument.
            try await h.flows.say("/glossary add Pelican-7735", from: 1, to: bot)

            let lines = h.flows.logs.all.filter { $0.level >= .info }.map(\.line)
            #expect(lines.count >= 5, "the appliance logged at info: \(lines.count) lines")
            var secrets = [h.lemon.apiKey, h.lemon.signingSecret, "test-openai-key"]
            for bot in h.bots {
                secrets.append(bot.token.secret)
                secrets.append(String(bot.token.secret.split(separator: ":").last!))
            }
            let texts = ["Zephyr-7731", "Quokka-7732", "Narwhal-7733", "Axolotl-7734", "Pelican-7735", "ladder", "voy ahora", "Polish", checkout.url]
            for needle in secrets + texts {
                let found = lines.filter { $0.contains(needle) }
                #expect(found.isEmpty, "“\(needle)” is in the log: \(found.prefix(3))")
            }
        }
    }
}
