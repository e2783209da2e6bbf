import BridgeOSBilling
import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation

/// The story's business scene: /subscription with a checkout link, the payment arriving as a signed
/// LemonSqueezy webhook, and feedback to the admin and back.
extension DemoStory {
    func business() async throws {
        out.heading("8. Marta subscribes; Oksana's feedback reaches the admin, and the answer comes back")
        let line1 = bots[0]
        driver.narrate("Marta sends /subscription. serve asks LemonSqueezy (its stand-in on 127.0.0.1) for a checkout page carrying her Telegram id, and answers with this month's usage and the link.")
        try await driver.say(marta, line1, "/subscription")
        let checkout = lemon.checkouts.withLock { $0.last }
        let offer = driver.sandbox.botMessages(line1, marta.id).last?.text ?? ""
        driver.check(checkout != nil && offer.contains(checkout?.url ?? "—") && checkout?.telegramID == "\(marta.id)",
                     "Marta got a LemonSqueezy checkout link made for her")

        driver.narrate("She pays on that page. LemonSqueezy then calls serve's webhook with subscription_created, signed with the shared secret; serve checks the signature, records the subscription and tells Marta.")
        let port = serve.httpPort()
        let now = Date()
        let event = lemon.subscriptionEvent("subscription_created", id: "2026120301", status: "active", telegramID: marta.id,
                                            updatedAt: now, renewsAt: now.addingTimeInterval(30 * 86400))
        let before = driver.count(line1, marta)
        let status = try await lemon.deliver(event, to: "http://127.0.0.1:\(port ?? 0)/webhooks/lemonsqueezy", httpClient: http)
        driver.screens.action(marta, line1, "pays; LemonSqueezy → POST /webhooks/lemonsqueezy: HTTP \(status)")
        _ = try await driver.wait("Marta is told her subscription runs") { $0.botMessages(line1, 1001).count > before }
        await driver.settle()
        driver.screens.show(marta, line1)
        let replay = try await lemon.deliver(event, to: "http://127.0.0.1:\(port ?? 0)/webhooks/lemonsqueezy", httpClient: http)
        let forged = try await lemon.deliver(event, to: "http://127.0.0.1:\(port ?? 0)/webhooks/lemonsqueezy", signing: .wrong, httpClient: http)
        driver.narrate("LemonSqueezy may deliver the same event twice, and anyone may post to the webhook: the replay changes nothing (HTTP \(replay)), a wrong signature is refused (HTTP \(forged)).")
        let subscription = try database.read { try $0.subscription(manager: 1001) }
        driver.check(status == 200 && replay == 200 && forged == 401 && subscription?.isActive(at: Date()) == true,
                     "Marta's subscription is active: unlimited translation for her team")

        driver.narrate("Oksana has an idea for the people behind BridgeOS. Ada, who runs this server (BRIDGEOS_ADMIN_IDS), opened line 1's bot once; BridgeOS never writes first.")
        try await driver.say(ada, line1, "/start")
        let line2 = bots[1]
        try await driver.say(oksana, line2, "/feedback")
        try await driver.say(oksana, line2, book.text("feedbackVoice", "uk"), then: [(oksana, line2, 1), (ada, line1, 1)])
        let notice = driver.sandbox.botMessages(line1, ada.id).last
        let translated = driver.phrasebook == nil || notice?.text?.contains(book.text("feedbackVoice", "en")) == true
        driver.check(notice?.text?.contains("Feedback #1 from Oksana") == true && translated, "Ada got Oksana's feedback in English, with the original")

        driver.narrate("Ada answers by replying to that message. Oksana gets the answer in Ukrainian; Ada is told it went.")
        let adaBefore = driver.count(line1, ada)
        let oksanaBefore = driver.count(line2, oksana)
        driver.sandbox.send(book.text("feedbackAnswer", "en"), from: ada.id, to: line1, replyTo: notice?.messageID)
        driver.screens.show(ada, line1)
        _ = try await driver.wait("the answer reaches Oksana") { sandbox in
            sandbox.botMessages(line2, 1003).count > oksanaBefore && sandbox.botMessages(line1, 1009).count > adaBefore
        }
        await driver.settle()
        driver.screens.show(oksana, line2)
        driver.screens.show(ada, line1)
        let answer = driver.sandbox.botMessages(line2, oksana.id).last?.text ?? ""
        let answered = try database.read { try $0.feedback(1) }?.isAnswered == true
        driver.check(answered && (driver.phrasebook == nil || answer.contains(book.text("feedbackAnswer", "uk"))),
                     "Oksana got Ada's answer in Ukrainian; the feedback is marked answered")
    }
}
