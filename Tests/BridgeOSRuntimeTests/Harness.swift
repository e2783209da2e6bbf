import AsyncHTTPClient
import BridgeOSCore
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

/// Rates fast enough for tests, still enforced.
extension RateLimits {
    static let test = RateLimits(
        perBot: Rate(perSecond: 500, burst: 50),
        perChat: Rate(perSecond: 100, burst: 5),
        perGroup: Rate(perSecond: 20, burst: 3))
}

struct Harness {
    let sandbox: BotAPISandbox
    let database: AppDatabase
    let runtime: Runtime
    let logs: CapturingLogHandlerStore
    let path: String

    var bots: [SandboxBot] { sandbox.bots }

    /// Texts the bot sent to a chat, in order.
    func texts(_ bot: SandboxBot, _ chat: Int64) -> [String] {
        sandbox.botMessages(bot, chat).compactMap(\.text)
    }

    func waitForTexts(_ bot: SandboxBot, _ chat: Int64, count: Int, timeout: Duration = .seconds(15)) async throws {
        try await sandbox.wait(timeout: timeout, "\(count) messages from \(bot.username) in chat \(chat)") {
            $0.botMessages(bot, chat).count >= count
        }
    }
}

/// Runs the real `Runtime` (pollers, senders, job runner) against a sandbox and a temp database.
func withRuntime<T>(
    bots: Int = 2,
    limits: RateLimits = .test,
    handler: any UpdateHandler = TestHandler(),
    jobHandlers: [any JobHandler] = [],
    maxUpdateAttempts: Int = 3,
    tokens: ((BotAPISandbox) -> [BotSlot: BotToken])? = nil,
    existingDatabase: String? = nil,
    sandbox existingSandbox: BotAPISandbox? = nil,
    _ body: (Harness) async throws -> T
) async throws -> T {
    func run(_ sandbox: BotAPISandbox, path: String) async throws -> T {
        let logs = CapturingLogHandlerStore()
        let logger = logs.logger(label: "runtime.test", level: .debug)
        let database = try AppDatabase.openFile(at: path)
        return try await withHTTPClient { http in
            let settings = Runtime.Settings(
                tokens: tokens?(sandbox) ?? Dictionary(uniqueKeysWithValues: sandbox.bots.enumerated().map { (BotSlot($0 + 1)!, $1.token) }),
                api: BotAPIConfiguration(baseURL: sandbox.baseURL, requestTimeout: .seconds(5)),
                poller: PollerConfiguration(
                    pollTimeout: 5, maxUpdateAttempts: maxUpdateAttempts, updateRetry: Backoff(base: .milliseconds(20), cap: .milliseconds(100)),
                    pollRetry: Backoff(base: .milliseconds(100), cap: .milliseconds(500)), commands: [BotCommand("help", "Help")]),
                sender: SenderConfiguration(limits: limits, maxAttempts: 6, backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(400))),
                jobs: JobRunnerConfiguration(concurrency: 3, maxAttempts: 5, backoff: Backoff(base: .milliseconds(50), cap: .milliseconds(300))))
            let runtime = Runtime(database: database, httpClient: http, settings: settings, handler: handler, jobHandlers: jobHandlers, logger: logger)
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

/// A handler that exercises the runtime: echoes text; `/long` answers 5000 characters; `/burst N` sends N
/// numbered messages; `/thread` sends two messages, the second replying to the first; `/fail` always
/// throws; `/job X` queues a job; buttons are answered at once.
struct TestHandler: UpdateHandler {
    struct Failure: Error {}

    /// 5000 characters in paragraphs of about 960.
    static let longText: String = {
        let paragraph = String(repeating: "Bring the ladder to the north site before noon. ", count: 20)
        return String(String(repeating: paragraph + "\n\n", count: 6).prefix(5000))
    }()

    func handle(_ update: Update, context: IntakeContext) throws {
        switch update.kind {
        case let .message(message):
            guard let text = message.text else { return }
            let chat = message.chat.id
            if let command = message.command {
                switch command.name {
                case "start", "help":
                    try context.send(SendMessage(chatID: .id(chat), text: "welcome"), chatID: chat)
                case "long":
                    try context.send(SendMessage(chatID: .id(chat), text: TestHandler.longText), chatID: chat)
                case "burst":
                    for number in 1...(Int(command.argument ?? "") ?? 10) {
                        try context.send(SendMessage(chatID: .id(chat), text: "\(number)"), chatID: chat)
                    }
                case "thread":
                    let first = try context.send(SendMessage(chatID: .id(chat), text: "first"), chatID: chat)
                    var second = SendMessage(chatID: .id(chat), text: "second")
                    second.replyParameters = ReplyParameters(messageID: 0)
                    try context.send(second, chatID: chat, after: (first[0].id, "reply_parameters.message_id"))
                case "fail":
                    throw Failure()
                case "job":
                    try context.enqueueJob(kind: "echo", queueKey: "chat:\(chat)", payload: EchoJob(chat: chat, slot: context.slot!.number, text: command.argument ?? ""))
                default:
                    try context.send(SendMessage(chatID: .id(chat), text: "unknown command"), chatID: chat)
                }
            } else {
                try context.send(SendMessage(chatID: .id(chat), text: "echo: \(text)"), chatID: chat)
            }
        case let .callbackQuery(query):
            try context.send(AnswerCallbackQuery(callbackQueryID: query.id, text: "ok"), chatID: query.from.id, lane: .immediate)
        default:
            break
        }
    }
}

struct EchoJob: Codable {
    let chat: Int64
    let slot: Int
    let text: String
}

/// Sends "job: X" for `/job X`; fails the first attempt of any text listed in `flaky`.
final class EchoJobHandler: JobHandler {
    let kind = "echo"
    let flaky: Set<String>
    let attempts = Mutex<[String: Int]>([:])

    init(flaky: Set<String> = []) { self.flaky = flaky }

    func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(EchoJob.self, from: Data(job.payload.utf8))
        let attempt = attempts.withLock { counts -> Int in
            counts[payload.text, default: 0] += 1
            return counts[payload.text]!
        }
        if flaky.contains(payload.text), attempt == 1 {
            throw JobFailure.retryable("provider down", after: .milliseconds(300))
        }
        return JobCompletion { context in
            try context.send(SendMessage(chatID: .id(payload.chat), text: "job: \(payload.text)"), chatID: payload.chat, slot: BotSlot(payload.slot)!)
        }
    }
}
