import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSFlows
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Testing

@Suite("Referrals and feedback", .serialized)
struct ReferralFeedbackTests {
    /// A new person opens `/start <payload>` and registers as a manager.
    func register(_ user: Int64, name: String, payload: String, on bot: SandboxBot, _ h: BillingHarness) async throws {
        h.sandbox.addUser(id: user, firstName: name, languageCode: "en")
        try await h.flows.say("/start \(payload)", from: user, to: bot)
        try await h.flows.press("reg:lang:en", by: user, on: bot)
        try await h.flows.press("reg:gender:female", by: user, on: bot)
        try await h.flows.press("reg:ind:cleaning", by: user, on: bot)
    }

    @Test("/refer: a new manager registering through the link earns the referrer the reward once; never twice, never for their own link")
    func referral() async throws {
        try await withBilling(freeMessages: 1, referralReward: 10) { h in
            let bot = h.bots[0]
            let code = try await h.flows.registerManager(1, on: bot)
            let reply = try await h.flows.say("/refer", from: 1, to: bot)
            let link = "https://t.me/\(bot.username)?start=r_\(code)"
            #expect(reply?.text == en(.referLink, ["reward": "10", "link": link, "count": "0", "earned": "0"]))

            try await register(3, name: "Olga", payload: "r_\(code)", on: bot, h)
            try await h.waitForText(en(.referRewarded, ["name": "Olga", "reward": "10"]), bot: bot, chat: 1)
            #expect(try h.database.read { try $0.referrals(referrer: 1) } == (1, 10))
            #expect(try h.database.read { try $0.referrer(of: 3) } == 1)

            // Olga resets and registers again through the same link: not new, no second reward.
            try await h.flows.say("/reset", from: 3, to: bot)
            try await h.flows.press("reset:yes", by: 3, on: bot)
            try await register(3, name: "Olga", payload: "r_\(code)", on: bot, h)
            // Marta resets and comes back through her own link: never a self-referral.
            try await h.flows.say("/reset", from: 1, to: bot)
            try await h.flows.press("reset:yes", by: 1, on: bot)
            try await register(1, name: "Marta", payload: "r_\(code)", on: bot, h)
            #expect(try h.database.read { try $0.referrals(referrer: 1) } == (1, 10))
            #expect(h.texts(bot, 1).filter { $0 == en(.referRewarded, ["name": "Olga", "reward": "10"]) }.count == 1)

            // The extra messages are spent after the month's free one.
            try await h.flows.join(2, payload: try await h.flows.invite(by: 1, on: bot), on: bot)
            for text in ["one", "two", "three"] {
                h.sandbox.send(text, from: 1, to: bot)
                try await h.waitForText("[es] \(text)", bot: bot, chat: 2)
            }
            let status = try await h.flows.say("/subscription", from: 1, to: bot)
            #expect(status?.text?.contains(en(.subscriptionBonus, ["bonus": "8"])) == true)
        }
    }

    @Test("a manager refused at the limit and then given extra messages is told again when those run out")
    func refusalToldAgainAfterBonus() async throws {
        try await withBilling(freeMessages: 1, referralReward: 1) { h in
            let bot = h.bots[0]
            let code = try await h.flows.registerManager(1, on: bot)
            try await h.flows.join(2, payload: try await h.flows.invite(by: 1, on: bot), on: bot)
            let refusal = en(.relayLimitReached, ["limit": "1"])
            h.sandbox.send("one", from: 1, to: bot)
            try await h.waitForText("[es] one", bot: bot, chat: 2)
            h.sandbox.send("two", from: 1, to: bot)
            try await h.waitForText(refusal, bot: bot, chat: 1)

            try await register(3, name: "Olga", payload: "r_\(code)", on: bot, h)
            try await h.waitForText(en(.referRewarded, ["name": "Olga", "reward": "1"]), bot: bot, chat: 1)
            h.sandbox.send("three", from: 1, to: bot)
            try await h.waitForText("[es] three", bot: bot, chat: 2)
            h.sandbox.send("four", from: 1, to: bot)
            try await h.sandbox.wait(timeout: .seconds(10), "told again") { $0.botMessages(bot, 1).filter { $0.text == refusal }.count == 2 }
            #expect(!h.texts(bot, 2).contains { $0.contains("two") || $0.contains("four") })
        }
    }

    @Test("feedback round trip: a worker's feedback reaches the admin translated, the admin's reply reaches the worker translated, and it is answered")
    func roundTrip() async throws {
        let admin: Int64 = 900
        try await withBilling(admins: [admin]) { h in
            let bot = h.bots[0]
            // The admin has opened the bot (BridgeOS never writes first).
            h.sandbox.addUser(id: admin, firstName: "Ada", languageCode: "en")
            try await h.flows.say("/start", from: admin, to: bot)
            try await h.flows.registerManager(1, on: bot)
            try await h.flows.join(2, name: "Iván", payload: try await h.flows.invite(by: 1, on: bot), on: bot)

            try await h.flows.say("/feedback", from: 2, to: bot)
            #expect(h.flows.last(bot, 2)?.text == text(.feedbackPrompt, "es"))
            try await h.flows.say("La app es genial", from: 2, to: bot)
            #expect(h.flows.last(bot, 2)?.text == text(.feedbackThanks, "es"))

            let notice = try await h.waitForText("[en] La app es genial", bot: bot, chat: admin)
            #expect(notice.contains("Feedback #1 from Iván (worker, Español)"))
            #expect(notice.contains(en(.feedbackNoticeOriginal, ["text": "La app es genial"])))
            let noticeID = try #require(h.sandbox.botMessages(bot, admin).last { $0.text == notice }?.messageID)
            // The notice's place is known once Telegram took it.
            try await h.sandbox.wait(timeout: .seconds(10), "notice recorded") { _ in
                (try? h.database.read { try $0.feedbackForNotice(slot: BotSlot(1)!, admin: admin, chatMessageID: noticeID) }) != nil
            }

            h.sandbox.send("Thank you, Iván!", from: admin, to: bot, replyTo: noticeID)
            let answer = try await h.waitForText("[es] Thank you, Iván!", bot: bot, chat: 2)
            #expect(answer == text(.feedbackAnswer, "es", ["text": "[es] Thank you, Iván!"]))
            try await h.waitForText(en(.feedbackAnswerSent, ["id": "1", "name": "Iván"]), bot: bot, chat: admin)
            let stored = try #require(try h.database.read { try $0.feedback(1) })
            #expect(stored.isAnswered && stored.answer == "Thank you, Iván!" && stored.answeredBy == admin && stored.status == .read)
            #expect(stored.language == "es" && stored.botSlot == BotSlot(1))

            // A sticker as the answer: the admin is asked for text, nothing is sent to the worker.
            let workerMessages = h.sandbox.botMessages(bot, 2).count
            _ = h.sandbox.sendMedia(.sticker, from: admin, to: bot, caption: nil, replyTo: noticeID)
            try await h.waitForText(en(.feedbackAnswerTextOnly), bot: bot, chat: admin)
            #expect(h.sandbox.botMessages(bot, 2).count == workerMessages)
        }
    }

    @Test("feedback for an admin who has not opened a bot yet waits, and reaches them when they do")
    func adminNotStartedYet() async throws {
        let admin: Int64 = 901
        try await withBilling(admins: [admin]) { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(1, on: bot)
            let reply = try await h.flows.say("/feedback Please add Polish", from: 1, to: bot)
            #expect(reply?.text == en(.feedbackThanks))
            #expect(h.sandbox.botMessages(bot, admin).isEmpty, "never written to before they start the bot")
            h.sandbox.addUser(id: admin, firstName: "Ada", languageCode: "en")
            try await h.flows.say("/start", from: admin, to: bot)
            let notice = try await h.waitForText("Please add Polish", bot: bot, chat: admin)
            #expect(notice.contains("Feedback #1"))
        }
    }

    @Test("feedback with no admin configured is kept and its writer told so; /feedback with text sends it at once")
    func noAdmins() async throws {
        try await withBilling { h in
            let bot = h.bots[0]
            try await h.flows.registerManager(1, on: bot)
            let reply = try await h.flows.say("/feedback The summary should come at 7", from: 1, to: bot)
            #expect(reply?.text == en(.feedbackSaved))
            let stored = try #require(try h.database.read { try $0.feedback(1) })
            #expect(stored.message == "The summary should come at 7" && !stored.isAnswered)
        }
    }
}
