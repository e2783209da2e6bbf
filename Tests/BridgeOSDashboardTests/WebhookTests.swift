import AsyncHTTPClient
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import NIOCore
import Testing

extension DashboardTests {
    /// Webhook mode end to end: the sandbox plays Telegram and the reverse proxy, delivering each update over
    /// HTTP to the appliance's `/telegram/<slot>`, one at a time, again until it gets a 2xx.
    @Suite("Webhook mode")
    struct WebhookTests {
        static let publicURL = "https://bridgeos.example.test"
        static let environment = ["BRIDGEOS_WEBHOOK": "1", "BRIDGEOS_PUBLIC_URL": publicURL]

        /// Waits until every bot has its webhook set.
        static func webhooksSet(_ h: DashboardHarness) async throws {
            try await h.sandbox.wait(timeout: .seconds(20), "webhooks set") { sandbox in sandbox.bots.allSatisfy { sandbox.webhook($0) != nil } }
        }

        /// An update as Telegram would post it, from someone who never started the bot.
        static func forgedUpdate(id: Int64) -> Data {
            Data(#"{"update_id":\#(id),"message":{"message_id":1,"date":1767225600,"chat":{"id":500,"type":"private","first_name":"Eve"},"from":{"id":500,"is_bot":false,"first_name":"Eve"},"text":"/start"}}"#.utf8)
        }

        @Test("each slot sets its webhook with its own kept secret, one connection and BridgeOS's update kinds; a whole registration flows through it and nothing polls")
        func flows() async throws {
            try await withDashboard(environment: Self.environment) { h in
                try await Self.webhooksSet(h)
                let (first, second) = (h.bots[0], h.bots[1])
                let hooks = try [first, second].map { try #require(h.sandbox.webhook($0)) }
                #expect(hooks.map(\.url) == ["\(Self.publicURL)/telegram/1", "\(Self.publicURL)/telegram/2"])
                let secrets = hooks.compactMap(\.secretToken)
                #expect(secrets.count == 2 && Set(secrets).count == 2, "a secret per slot")
                #expect(secrets.allSatisfy { $0.count == 43 && $0.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" } })
                #expect(try h.database.webhookSecrets.current(slot: BotSlot(1)!, botID: first.token.botID) == secrets[0], "kept in the database")
                let set = try #require(h.sandbox.calls("setWebhook").first { $0.botID == first.token.botID })
                #expect(set.parameters["max_connections"]?.int64 == 1, "one delivery at a time: a chat's updates in order")
                #expect(set.parameters["allowed_updates"]?.array?.compactMap(\.string) == Update.allowedUpdates)

                // Registration: a command, then three button presses, each delivered by webhook.
                let code = try await h.flows.registerManager(10, on: first)
                #expect(!code.isEmpty)
                #expect(h.sandbox.calls("getUpdates").isEmpty, "webhook mode never polls")
                #expect(h.sandbox.webhookDeliveries.contains { $0.botID == first.token.botID && $0.status == 200 })

                let ready = try await h.browser().get("/readyz")
                #expect(ready.status == 200, "\(ready.body)")
                #expect(ready.body.contains(#""state":"webhook""#), "\(ready.body)")
            }
        }

        @Test("a delivery without the slot's secret token is refused with 401 and nothing is handled; another slot is 404; a body that is no update is 400")
        func refusals() async throws {
            try await withDashboard(environment: Self.environment) { h in
                try await Self.webhooksSet(h)
                let bot = h.bots[0]
                let secret = try #require(h.sandbox.webhook(bot)?.secretToken)
                #expect(await h.sandbox.postToWebhook(bot, body: Self.forgedUpdate(id: 900_001), secretToken: "wrong-\(secret.dropFirst(6))") == 401)
                #expect(await h.sandbox.postToWebhook(bot, body: Self.forgedUpdate(id: 900_002), secretToken: nil) == 401)
                #expect(await h.sandbox.postToWebhook(bot, body: Self.forgedUpdate(id: 900_003), secretToken: h.sandbox.webhook(h.bots[1])?.secretToken) == 401,
                        "another slot's secret does not open this one")
                for id in [900_001, 900_002, 900_003] as [Int64] {
                    #expect(try h.database.read { try $0.updateRecord(slot: BotSlot(1)!, updateID: id) } == nil, "update \(id) was not handled")
                }
                #expect(h.sandbox.botMessages(bot, 500).isEmpty)

                var request = HTTPClientRequest(url: "\(h.base)/telegram/5")
                request.method = .POST
                request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: secret)
                request.body = .bytes(ByteBuffer(data: Self.forgedUpdate(id: 900_004)))
                #expect(try await h.http.execute(request, timeout: .seconds(10)).status.code == 404, "slot 5 has no bot here")

                #expect(await h.sandbox.postToWebhook(bot, body: Data(#"{"message":{}}"#.utf8), secretToken: secret) == 400)
                #expect(await h.sandbox.postToWebhook(bot, body: Data("not json".utf8), secretToken: secret) == 400)
                #expect(h.sandbox.violations.isEmpty)
            }
        }

        @Test("an update delivered again (Telegram never got the 200) is answered 200 and handled once")
        func redelivery() async throws {
            try await withDashboard(environment: Self.environment) { h in
                try await Self.webhooksSet(h)
                let bot = h.bots[0]
                h.sandbox.addUser(id: 10, firstName: "Marta")
                try await h.flows.say("/start", from: 10, to: bot)
                let delivered = try #require(h.sandbox.webhookDeliveries.last { $0.botID == bot.token.botID && $0.status == 200 })
                let answers = h.sandbox.botMessages(bot, 10).count
                #expect(try await h.sandbox.deliverAgain(bot, updateID: delivered.updateID) == 200)
                #expect(try await h.sandbox.deliverAgain(bot, updateID: delivered.updateID) == 200)
                let record = try #require(try h.database.read { try $0.updateRecord(slot: BotSlot(1)!, updateID: delivered.updateID) })
                #expect(record.status == .handled)
                // The chat's messages go out in order: had a redelivery been handled, its answer would come first.
                try await h.flows.say("/start", from: 10, to: bot)
                #expect(h.sandbox.botMessages(bot, 10).count == answers + 1, "one answer for the new /start, none for the redeliveries")
            }
        }

        @Test("while another process holds the database's write lock, a delivery is answered 503 and nothing is recorded; once it is free Telegram's next delivery is handled once")
        func failingStore() async throws {
            let environment = Self.environment.merging(["BRIDGEOS_SQLITE_BUSY_TIMEOUT_MS": "100"]) { _, new in new }
            try await withDashboard(environment: environment, webhookTimings: WebhookTimings(storePatience: .milliseconds(300))) { h in
                try await Self.webhooksSet(h)
                let bot = h.bots[0]
                h.sandbox.addUser(id: 10, firstName: "Marta")
                // Another process takes the write lock (a stuck script, a long restore) until told to let go.
                let directory = URL(fileURLWithPath: h.configuration.dataDirectory)
                let (locked, release) = (directory.appendingPathComponent("locked").path, directory.appendingPathComponent("release").path)
                let locker = try launch(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
                    import os, sqlite3, sys, time
                    c = sqlite3.connect(sys.argv[1], isolation_level=None)
                    c.execute("BEGIN IMMEDIATE")
                    open(sys.argv[2], "w").close()
                    deadline = time.time() + 30
                    while not os.path.exists(sys.argv[3]) and time.time() < deadline:
                        time.sleep(0.02)
                    c.execute("COMMIT")
                    """, h.configuration.databasePath, locked, release], in: directory).0
                defer { if locker.isRunning { locker.terminate() } }
                try await h.sandbox.wait(timeout: .seconds(10), "the lock taken") { _ in FileManager.default.fileExists(atPath: locked) }

                h.sandbox.send("/start", from: 10, to: bot)
                try await h.sandbox.wait(timeout: .seconds(15), "a delivery answered 503") { $0.webhookDeliveries.contains { $0.status == 503 } }
                let refused = try #require(h.sandbox.webhookDeliveries.first { $0.status == 503 })
                #expect(try h.database.read { try $0.updateRecord(slot: BotSlot(1)!, updateID: refused.updateID) } == nil, "nothing recorded")
                #expect(h.sandbox.botMessages(bot, 10).isEmpty)

                FileManager.default.createFile(atPath: release, contents: nil)
                try await h.flows.waitForTexts(bot, 10, count: 1)
                #expect(try h.database.read { try $0.updateRecord(slot: BotSlot(1)!, updateID: refused.updateID) }?.status == .handled)
                // The sandbox records a delivery's answer after the request returns: the reply may come first.
                try await h.sandbox.wait(timeout: .seconds(10), "the delivery answered 200") { sandbox in
                    sandbox.webhookDeliveries.last { $0.updateID == refused.updateID }?.status == 200
                }
                try await Task.sleep(for: .milliseconds(300))
                #expect(h.sandbox.botMessages(bot, 10).count == 1, "handled once")
            }
        }

        @Test("the slot watches its webhook: one deleted is set again; Telegram failing to deliver makes the slot not ready until deliveries work again")
        func watch() async throws {
            try await withDashboard(environment: Self.environment, webhookTimings: WebhookTimings(checkInterval: .milliseconds(100))) { h in
                try await Self.webhooksSet(h)
                let bot = h.bots[0]
                let sets = h.sandbox.calls("setWebhook").count
                try await withHTTPClient { http in
                    let client = BotAPIClient(token: bot.token, httpClient: http, configuration: BotAPIConfiguration(baseURL: h.sandbox.baseURL),
                                              logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
                    _ = try await client.call(DeleteWebhook())
                }
                try await h.sandbox.wait(timeout: .seconds(10), "webhook set again") { $0.webhook(bot) != nil && $0.calls("setWebhook").count > sets }

                // The proxy loses its route: Telegram reports failed deliveries and the update waits.
                h.sandbox.stopRoutingWebhooks(from: Self.publicURL)
                h.sandbox.addUser(id: 10, firstName: "Marta")
                h.sandbox.send("/start", from: 10, to: bot)
                try await h.sandbox.wait(timeout: .seconds(10), "a failed delivery") { $0.webhookDeliveries.contains { $0.status == nil } }
                var page = try await h.browser().get("/readyz")
                for _ in 0..<100 where page.status == 200 {
                    try await Task.sleep(for: .milliseconds(50))
                    page = try await h.browser().get("/readyz")
                }
                #expect(page.status == 503)
                #expect(page.body.contains("Telegram cannot deliver to the webhook"), "\(page.body)")

                h.sandbox.routeWebhooks(from: Self.publicURL, to: h.base)
                try await h.flows.waitForTexts(bot, 10, count: 1)
                for _ in 0..<100 where page.status != 200 {
                    try await Task.sleep(for: .milliseconds(50))
                    page = try await h.browser().get("/readyz")
                }
                #expect(page.status == 200, "\(page.body)")
            }
        }

        @Test("after a restart the kept secret opens the slot at once, but a delivery before the slot has started waits for it and is answered 503 when it does not come; a secret kept for another bot opens nothing")
        func beforeStart() async throws {
            try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
                try await withTemporaryDirectoryAsync { directory in
                    let path = directory.appendingPathComponent("bridgeos.sqlite").path
                    let (bot, other) = (sandbox.bots[0], sandbox.bots[1])
                    // The last run kept slot 1's secret, which Telegram still uses; slot 2 had another bot then.
                    let kept = try AppDatabase.openFile(at: path)
                    _ = try kept.webhookSecrets.secret(slot: BotSlot(1)!, botID: bot.token.botID, now: Date()) { "kept-secret-1" }
                    _ = try kept.webhookSecrets.secret(slot: BotSlot(2)!, botID: 42, now: Date()) { "kept-secret-of-an-old-bot" }
                    sandbox.addUser(id: 10, firstName: "Marta")
                    // This run's start-up is slow (getMe takes 1.5 s).
                    sandbox.inject(SandboxFault(.latency(.milliseconds(1500)), method: "getMe", botID: bot.token.botID))
                    try await withFlows(bots: 2, existingDatabase: path, sandbox: sandbox,
                                        webhook: (Self.publicURL, WebhookTimings(storePatience: .milliseconds(200)))) { h in
                        let receiver = try #require(h.runtime.webhooks)
                        #expect(receiver.check(slot: 1, secretToken: "kept-secret-1") == nil, "the kept secret opens slot 1 before its start")
                        #expect(receiver.check(slot: 2, secretToken: "kept-secret-of-an-old-bot") == .unauthorized)
                        let update = Data(#"{"update_id":7,"message":{"message_id":1,"date":1767225600,"chat":{"id":10,"type":"private","first_name":"Marta"},"from":{"id":10,"is_bot":false,"first_name":"Marta"},"text":"/start"}}"#.utf8)
                        #expect(await receiver.deliver(slot: 1, body: update) == .unsettled, "slot 1 has not started: Telegram must deliver it again")
                        #expect(try h.database.read { try $0.updateRecord(slot: BotSlot(1)!, updateID: 7) } == nil, "nothing recorded")
                        try await h.sandbox.wait(timeout: .seconds(10), "slot 1 started") { $0.webhook(bot) != nil }
                        #expect(h.sandbox.webhook(bot)?.secretToken == "kept-secret-1", "the same bot keeps its secret")
                        #expect(h.sandbox.webhook(other)?.secretToken != "kept-secret-of-an-old-bot", "a new bot in slot 2 gets a new one")
                        #expect(await receiver.deliver(slot: 1, body: update) == .accepted)
                        #expect(try h.database.read { try $0.updateRecord(slot: BotSlot(1)!, updateID: 7) }?.status == .handled)
                    }
                }
            }
        }

        @Test("switching back to polling deletes the webhook, and what Telegram held meanwhile is polled")
        func backToPolling() async throws {
            try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
                let bot = sandbox.bots[0]
                try await withHTTPClient { http in
                    let client = BotAPIClient(token: bot.token, httpClient: http, configuration: BotAPIConfiguration(baseURL: sandbox.baseURL),
                                              logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
                    _ = try await client.call(SetWebhook(url: "\(Self.publicURL)/telegram/1", secretToken: "left-by-an-earlier-run"))
                }
                sandbox.addUser(id: 10, firstName: "Marta")
                sandbox.send("/start", from: 10, to: bot)  // no proxy route: Telegram holds it
                try await withTemporaryDirectoryAsync { directory in
                    try await withFlows(bots: 2, existingDatabase: directory.appendingPathComponent("bridgeos.sqlite").path, sandbox: sandbox) { h in
                        try await h.waitForTexts(bot, 10, count: 1)
                        #expect(sandbox.webhook(bot) == nil)
                        #expect(!sandbox.calls("getUpdates").isEmpty)
                    }
                }
            }
        }
    }
}
