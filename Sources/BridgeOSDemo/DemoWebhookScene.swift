import BridgeOSTelegramSandbox
import Foundation

extension DemoStory {
    /// The address the demo's pretend reverse proxy answers at; the sandbox forwards its deliveries to serve.
    static let publicURL = "https://bridgeos.example.com"

    func webhookMode() async throws {
        out.heading("15. Behind a reverse proxy: Telegram pushes updates to serve (webhook mode)")
        driver.narrate("The admin puts nginx in front of serve and sets BRIDGEOS_WEBHOOK=1 and BRIDGEOS_PUBLIC_URL=\(Self.publicURL), then restarts serve. Each bot's webhook is set to \(Self.publicURL)/telegram/<slot> with a secret token only Telegram and serve know.")
        _ = await serve.stop()
        let callsBefore = sandbox.calls(since: 0).total
        let starts = serve.listeningPorts().count
        try serve.start(adding: ["BRIDGEOS_WEBHOOK": "1", "BRIDGEOS_PUBLIC_URL": Self.publicURL])
        let listening = try await driver.wait("serve listens again") { [serve] _ in serve.isRunning && serve.listeningPorts().count > starts }
        if listening, let port = serve.httpPort() { sandbox.routeWebhooks(from: Self.publicURL, to: "http://127.0.0.1:\(port)") }
        let set = try await driver.wait("every bot's webhook is set") { sandbox in sandbox.bots.allSatisfy { sandbox.webhook($0) != nil } }
        driver.check(set, "webhooks set for all \(bots.count) bots, each with its own secret token")

        let bot = bots[0]
        let deliveriesBefore = sandbox.webhookDeliveries.count
        try await relay(marta, ivan, bot, "tomorrowSeven")
        let pushed = sandbox.webhookDeliveries.dropFirst(deliveriesBefore).filter { $0.botID == bot.token.botID && $0.status == 200 }
        // (The old serve's last long poll ends with setWebhook: Telegram answers it 409.)
        let polls = sandbox.calls(since: callsBefore).calls.filter { $0.method == "getUpdates" && $0.status == 200 }
        driver.check(!pushed.isEmpty && polls.isEmpty,
                     "Iván got Marta's message through the webhook (\(pushed.count) delivery, answered 200 only after it was stored; no polling)")

        driver.narrate("Someone who found the address posts a made-up update without the secret token.")
        let forged = Data(#"{"update_id":999999001,"message":{"message_id":1,"date":1767225600,"chat":{"id":666,"type":"private","first_name":"Mallory"},"from":{"id":666,"is_bot":false,"first_name":"Mallory"},"text":"/start"}}"#.utf8)
        let refused = await sandbox.postToWebhook(bot, body: forged, secretToken: "guessed")
        driver.check(refused == 401, "a delivery without the secret token is refused (\(refused.map(String.init) ?? "no answer")); nothing handled")

        driver.narrate("Telegram did not get serve's answer in time and delivers Marta's message again.")
        let ivanBefore = driver.count(bot, ivan)
        if let last = pushed.last {
            let again = try await sandbox.deliverAgain(bot, updateID: last.updateID)
            await driver.settle()
            try? await Task.sleep(for: .seconds(1))  // a second copy, if there were one, would arrive now
            driver.check(again == 200 && driver.count(bot, ivan) == ivanBefore,
                         "the same update delivered twice is answered 200 and handled once (Iván has one copy)")
        }

        driver.narrate("Back to polling (BRIDGEOS_WEBHOOK=0, restart): serve deletes the webhooks and polls again.")
        _ = await serve.stop()
        try serve.start()
        let deleted = try await driver.wait("the webhooks are deleted") { sandbox in sandbox.bots.allSatisfy { sandbox.webhook($0) == nil } }
        driver.check(deleted, "the webhooks are deleted and serve polls again")
        try await relay(ivan, marta, bot, "onMyWay")
    }
}
