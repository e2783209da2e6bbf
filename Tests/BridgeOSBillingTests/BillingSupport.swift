import AsyncHTTPClient
import BridgeOSApp
import BridgeOSBilling
import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The appliance as `serve` builds it (`Appliance.build` from a configuration) against the Telegram sandbox,
/// the LemonSqueezy stand-in and a fake translation provider, all on 127.0.0.1.
struct BillingHarness {
    let flows: Harness
    let lemon: LemonSqueezySandbox
    let http: HTTPClient
    let port: Int
    var sandbox: BotAPISandbox { flows.sandbox }
    var database: AppDatabase { flows.database }
    var bots: [SandboxBot] { flows.bots }
    var webhookURL: String { "http://127.0.0.1:\(port)/webhooks/lemonsqueezy" }

    /// Delivers a webhook body as LemonSqueezy does; returns the HTTP status.
    func deliver(_ body: Data, signing: LemonSqueezySandbox.Signing = .valid) async throws -> Int {
        try await lemon.deliver(body, to: webhookURL, signing: signing, httpClient: http)
    }

    func subscription(_ manager: Int64) throws -> Subscription? {
        try database.read { try $0.subscription(manager: manager) }
    }

    func webhookCount() throws -> Int {
        try database.read { try $0.webhookDeliveryCount(since: .distantPast) }
    }

    /// Waits until the bot's newest message to `chat` contains `fragment`; returns it.
    @discardableResult
    func waitForText(_ fragment: String, bot: SandboxBot, chat: Int64, timeout: Duration = .seconds(15)) async throws -> String {
        try await sandbox.wait(timeout: timeout, "“\(fragment)” in chat \(chat)") { sandbox in
            sandbox.botMessages(bot, chat).contains { $0.text?.contains(fragment) == true }
        }
        return try #require(sandbox.botMessages(bot, chat).last { $0.text?.contains(fragment) == true }?.text)
    }

    func texts(_ bot: SandboxBot, _ chat: Int64) -> [String] { flows.texts(bot, chat) }
}


func withBilling<T>(
    admins: Set<Int64> = [], freeMessages: Int = 3, referralReward: Int = 10, webhookSecret: String? = LemonSqueezySandbox().signingSecret,
    checkout: Bool = true, lemon: LemonSqueezySandbox = LemonSqueezySandbox(), _ body: (BillingHarness) async throws -> T
) async throws -> T {
    let provider = FakeProvider()
    provider.fallback.withLock { $0 = FakeProvider.taggedTranslation }
    return try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
        try await lemon.run { lemonURL in
            try await provider.run { translatorURL in
                try await withTemporaryDirectoryAsync { directory in
                    var values = [
                        "BRIDGEOS_DATA_DIR": directory.path, "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
                        "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0", "BRIDGEOS_TRANSLATOR": "openai", "OPENAI_API_KEY": "test-openai-key",
                        "OPENAI_BASE_URL": translatorURL, "BRIDGEOS_FREE_MESSAGES": "\(freeMessages)",
                        "BRIDGEOS_REFERRAL_REWARD": "\(referralReward)", "BRIDGEOS_BACKUP_INTERVAL_HOURS": "0",
                        "BRIDGEOS_RATE_PER_CHAT": "100", "BRIDGEOS_POLL_TIMEOUT": "5",
                        "BRIDGEOS_ADMIN_IDS": admins.map(String.init).joined(separator: ","), "LEMONSQUEEZY_API_URL": lemonURL,
                    ]
                    for (index, bot) in sandbox.bots.enumerated() { values["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret }
                    if checkout {
                        values["LEMONSQUEEZY_API_KEY"] = lemon.apiKey
                        values["LEMONSQUEEZY_STORE_ID"] = lemon.storeID
                        values["LEMONSQUEEZY_VARIANT_ID"] = lemon.variantID
                    }
                    if let webhookSecret { values["LEMONSQUEEZY_WEBHOOK_SECRET"] = webhookSecret }
                    let configuration = try AppConfiguration.load(environment: values)
                    let logs = CapturingLogHandlerStore()
                    let logger = logs.logger(label: "billing.test", level: .debug)
                    let database = try AppDatabase.open(configuration)
                    let (ports, continuation) = AsyncStream<Int>.makeStream()
                    return try await withHTTPClient { http in
                        let appliance = try Appliance.build(configuration: configuration, database: database, httpClient: http, localizer: localizer,
                                                            logger: logger, onListening: { continuation.yield($0); continuation.finish() })
                        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: appliance.services, gracefulShutdownSignals: [],
                                                                                          logger: logger))
                        let flows = Harness(sandbox: sandbox, database: database, runtime: appliance.runtime, logs: logs, path: configuration.databasePath)
                        return try await withThrowingTaskGroup(of: Void.self) { tasks in
                            tasks.addTask { try await group.run() }
                            var iterator = ports.makeAsyncIterator()
                            let port = await iterator.next() ?? 0
                            do {
                                let result = try await body(BillingHarness(flows: flows, lemon: lemon, http: http, port: port))
                                await group.triggerGracefulShutdown()
                                try await tasks.waitForAll()
                                #expect(sandbox.violations.isEmpty, "spec violations: \(sandbox.violations)")
                                #expect(lemon.violations.withLock { $0 }.isEmpty, "LemonSqueezy contract violations")
                                return result
                            } catch {
                                await group.triggerGracefulShutdown()
                                try? await tasks.waitForAll()
                                throw error
                            }
                        }
                    }
                }
            }
        }
    }
}
