import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import Testing

@Suite("bridgeos doctor and webhooks")
struct DoctorWebhookTests {
    @Test("doctor tells what Telegram says of each bot's webhook against the mode serve runs in")
    func webhooks() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(3)) { sandbox in
            try await withHTTPClient { http in
                for (bot, url) in [(sandbox.bots[0], "https://bridgeos.example.test/telegram/1"), (sandbox.bots[1], "https://other.example.test/telegram/2")] {
                    let client = BotAPIClient(token: bot.token, httpClient: http, configuration: BotAPIConfiguration(baseURL: sandbox.baseURL),
                                              logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
                    _ = try await client.call(SetWebhook(url: url, secretToken: "secret"))
                }
            }
            // Telegram cannot reach slot 1's webhook (no proxy answers): a failed delivery, an update waiting.
            sandbox.addUser(id: 10, firstName: "Marta")
            sandbox.send("/start", from: 10, to: sandbox.bots[0])
            try await sandbox.wait(timeout: .seconds(10), "a failed delivery") { $0.webhookDeliveries.contains { $0.status == nil } }
            try await withTemporaryDirectoryAsync { directory in
                #expect(try await bridgeos("migrate", in: directory).status == 0)
                var environment = ["BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL]
                for (index, bot) in sandbox.bots.enumerated() { environment["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret }
                let webhook = try await bridgeos("doctor", environment: environment.merging([
                    "BRIDGEOS_WEBHOOK": "1", "BRIDGEOS_PUBLIC_URL": "https://bridgeos.example.test",
                ]) { _, new in new }, in: directory)
                #expect(webhook.status == 1, "\(webhook.stdout)")
                #expect(webhook.stdout.contains("Telegram cannot deliver to https://bridgeos.example.test/telegram/1: Connection refused (1 updates waiting)"), "\(webhook.stdout)")
                #expect(webhook.stdout.contains("the webhook points to other.example.test, not https://bridgeos.example.test/telegram/2"))
                #expect(webhook.stdout.contains("webhook mode: serve sets https://bridgeos.example.test/telegram/3 at start"))
                let polling = try await bridgeos("doctor", environment: environment, in: directory)
                #expect(polling.stdout.contains("a webhook to bridgeos.example.test is set: serve deletes it at start and polls"), "\(polling.stdout)")
                #expect(polling.stdout.contains("polls (no webhook set)"))
                #expect(!webhook.stdout.contains("secret") && !polling.stdout.contains(sandbox.bots[0].token.secret))
            }
        }
    }
}
