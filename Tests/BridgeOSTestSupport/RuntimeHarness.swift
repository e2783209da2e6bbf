import AsyncHTTPClient
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import CoreMetrics
import BridgeOSTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Rates fast enough for tests, still enforced.
extension RateLimits {
    public static let test = RateLimits(
        perBot: Rate(perSecond: 500, burst: 50),
        perChat: Rate(perSecond: 100, burst: 5),
        perGroup: Rate(perSecond: 20, burst: 3))
}

public struct Harness: Sendable {
    public let sandbox: BotAPISandbox
    public let database: AppDatabase
    public let runtime: Runtime
    public let logs: CapturingLogHandlerStore
    public let path: String

    public var bots: [SandboxBot] { sandbox.bots }

    public init(sandbox: BotAPISandbox, database: AppDatabase, runtime: Runtime, logs: CapturingLogHandlerStore, path: String) {
        self.sandbox = sandbox
        self.database = database
        self.runtime = runtime
        self.logs = logs
        self.path = path
    }

    /// Texts the bot sent to a chat, in order.
    public func texts(_ bot: SandboxBot, _ chat: Int64) -> [String] {
        sandbox.botMessages(bot, chat).compactMap(\.text)
    }

    public func waitForTexts(_ bot: SandboxBot, _ chat: Int64, count: Int, timeout: Duration = .seconds(15)) async throws {
        try await sandbox.wait(timeout: timeout, "\(count) messages from \(bot.username) in chat \(chat)") {
            $0.botMessages(bot, chat).count >= count
        }
    }
}

/// Runs the real `Runtime` (pollers, senders, job runner) against a sandbox and a temp database.
public func withRuntime<T>(
    bots: Int = 2,
    limits: RateLimits = .test,
    handler: any UpdateHandler,
    jobHandlers: [any JobHandler] = [],
    makeJobHandlers: ((AppDatabase, RuntimeSignals) -> [any JobHandler])? = nil,
    observer: (any DeliveryObserver)? = nil,
    metrics: any MetricsFactory = NOOPMetricsHandler.instance,
    maxUpdateAttempts: Int = 3,
    tokens: ((BotAPISandbox) -> [BotSlot: BotToken])? = nil,
    existingDatabase: String? = nil,
    commands: [BotCommand] = [BotCommand("help", "Help")],
    sandbox existingSandbox: BotAPISandbox? = nil,
    sweepInterval: Duration = .seconds(30),
    webhook: (baseURL: String, timings: WebhookTimings)? = nil,
    clock: (any WallClock)? = nil,
    _ body: (Harness) async throws -> T
) async throws -> T {
    func run(_ sandbox: BotAPISandbox, path: String) async throws -> T {
        let logs = CapturingLogHandlerStore()
        let logger = logs.logger(label: "runtime.test", level: .debug)
        let database = try AppDatabase.openFile(at: path, clock: clock ?? SystemWallClock())
        return try await withHTTPClient { http in
            let settings = Runtime.Settings(
                tokens: tokens?(sandbox) ?? Dictionary(uniqueKeysWithValues: sandbox.bots.enumerated().map { (BotSlot($0 + 1)!, $1.token) }),
                api: BotAPIConfiguration(baseURL: sandbox.baseURL, requestTimeout: .seconds(5)),
                poller: PollerConfiguration(
                    pollTimeout: 5, maxUpdateAttempts: maxUpdateAttempts, updateRetry: Backoff(base: .milliseconds(20), cap: .milliseconds(100)),
                    pollRetry: Backoff(base: .milliseconds(100), cap: .milliseconds(500)), commands: commands,
                    webhookBaseURL: webhook?.baseURL, webhookTimings: webhook?.timings ?? WebhookTimings()),
                sender: SenderConfiguration(limits: limits, maxAttempts: 6, backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(400)),
                                           sweepInterval: sweepInterval),
                jobs: JobRunnerConfiguration(concurrency: 3, maxAttempts: 5, backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(300))))
            let runtime = Runtime(database: database, httpClient: http, settings: settings, handler: handler, jobHandlers: jobHandlers,
                                  makeJobHandlers: makeJobHandlers.map { make in { signals in make(database, signals) } },
                                  observer: observer, metrics: metrics, logger: logger)
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: runtime.services, gracefulShutdownSignals: [], logger: logger))
            let harness = Harness(sandbox: sandbox, database: database, runtime: runtime, logs: logs, path: path)
            return try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    let result = try await body(harness)
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    return result
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    throw error
                }
            }
        }
    }

    if let existingSandbox {
        let path = try #require(existingDatabase)
        return try await run(existingSandbox, path: path)
    }
    return try await BotAPISandbox.run(bots: SandboxBot.make(bots)) { sandbox in
        try await withTemporaryDirectoryAsync { directory in
            let result = try await run(sandbox, path: existingDatabase ?? directory.appendingPathComponent("bridgeos.sqlite").path)
            #expect(sandbox.violations.isEmpty, "spec violations: \(sandbox.violations)")
            return result
        }
    }
}

