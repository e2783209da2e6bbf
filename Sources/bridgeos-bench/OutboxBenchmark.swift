import ArgumentParser
import AsyncHTTPClient
import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import Foundation
import Logging
import ServiceLifecycle

/// Outbox throughput and update→send latency of the real runtime against the sandbox on 127.0.0.1.
struct OutboxBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Measure outbox throughput and update→reply latency against the Bot API sandbox."
    )

    @Option(help: "Messages queued for the throughput run.")
    var messages: Int = 5000

    @Option(help: "Chats the messages are spread over.")
    var chats: Int = 200

    @Option(help: "Bots (slots) sending in parallel, 1-5.")
    var bots: Int = 5

    @Option(help: "Round trips timed for latency (one user message → bot reply each).")
    var roundTrips: Int = 300

    @Option(help: "Extra answer delay of the sandbox per call, in milliseconds (Telegram's is tens of ms).")
    var latency: Int = 0

    @Flag(help: "Use Telegram's real rate limits instead of lifting them (throughput then shows the limits, not the machinery).")
    var telegramLimits = false

    func validate() throws {
        guard messages > 0, chats > 0, roundTrips > 0 else { throw ValidationError("counts must be positive") }
        guard (1...5).contains(bots) else { throw ValidationError("--bots must be 1...5") }
    }

    /// Echoes every private text: the latency run's reply.
    struct Echo: UpdateHandler {
        func handle(_ update: Update, context: IntakeContext) throws {
            guard case let .message(message) = update.kind, let text = message.text else { return }
            try context.send(SendMessage(chatID: .id(message.chat.id), text: "echo: \(text)"), chatID: message.chat.id)
        }
    }

    func run() async throws {
        let limits = telegramLimits ? RateLimits.telegram : RateLimits(
            perBot: .init(perSecond: 100_000, burst: 100_000), perChat: .init(perSecond: 100_000, burst: 100_000),
            perGroup: .init(perSecond: 100_000, burst: 100_000))
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        print("outbox benchmark: \(bots) bots, SQLite \(AppDatabase.sqliteVersionText), sandbox latency \(latency) ms, "
              + (telegramLimits ? "Telegram's rate limits" : "rate limits lifted"))

        try await BotAPISandbox.run(bots: SandboxBot.make(bots)) { sandbox in
            if latency > 0 { sandbox.inject(SandboxFault(.latency(.milliseconds(latency)), count: Int.max)) }
            let database = try AppDatabase.openFile(at: directory.appendingPathComponent("bench.sqlite").path)
            try await withHTTPClient { http in
                let settings = Runtime.Settings(
                    tokens: Dictionary(uniqueKeysWithValues: sandbox.bots.enumerated().map { (BotSlot($0 + 1)!, $1.token) }),
                    api: BotAPIConfiguration(baseURL: sandbox.baseURL),
                    poller: PollerConfiguration(pollTimeout: 5),
                    sender: SenderConfiguration(limits: limits, maxConcurrent: 16))
                let runtime = Runtime(database: database, httpClient: http, settings: settings, handler: Echo(), logger: logger)
                let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: runtime.services, gracefulShutdownSignals: [], logger: logger))
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    defer { tasks.cancelAll() }
                    try await measureThroughput(sandbox, database, runtime)
                    try await measureLatency(sandbox)
                    await group.triggerGracefulShutdown()
                }
            }
        }
    }

    func measureThroughput(_ sandbox: BotAPISandbox, _ database: AppDatabase, _ runtime: Runtime) async throws {
        // Users who pressed Start, so the bots may write to them.
        for chat in 0..<chats {
            let user = Int64(1_000 + chat)
            sandbox.addUser(id: user, firstName: "User \(chat)")
            for bot in sandbox.bots { sandbox.send("/start", from: user, to: bot) }
        }
        try await sandbox.wait(timeout: .seconds(120), "start-up echoes") { sandbox in
            sandbox.calls("sendMessage").filter { $0.status == 200 }.count >= chats * bots
        }
        let before = sandbox.calls("sendMessage").count
        var rows: [NewOutboxRow] = []
        for n in 0..<messages {
            let slot = BotSlot(n % bots + 1)!
            let chat = Int64(1_000 + (n / bots) % chats)
            rows.append(NewOutboxRow(slot: slot, chatID: chat, method: "sendMessage", payload: #"{"chat_id":\#(chat),"text":"message \#(n)"}"#))
        }
        let clock = ContinuousClock()
        let start = clock.now
        _ = try database.outbox.enqueue(rows)
        runtime.signals.wakeAll()
        try await sandbox.wait(timeout: .seconds(600), "\(messages) sends") { sandbox in
            sandbox.calls("sendMessage").count - before >= messages
        }
        let elapsed = (clock.now - start).seconds
        print(String(format: "throughput: %d messages to %d chats through %d bots in %.2f s = %.0f messages/s",
                     messages, chats, bots, elapsed, Double(messages) / elapsed))
    }

    func measureLatency(_ sandbox: BotAPISandbox) async throws {
        let bot = sandbox.bots[0]
        let user: Int64 = 999
        sandbox.addUser(id: user, firstName: "Timer")
        var samples: [Duration] = []
        let clock = ContinuousClock()
        for n in 0..<roundTrips {
            let expected = sandbox.botMessages(bot, user).count + 1
            let start = clock.now
            sandbox.send("ping \(n)", from: user, to: bot)
            try await sandbox.wait(timeout: .seconds(30), "reply \(n)") { $0.botMessages(bot, user).count >= expected }
            try await sandbox.wait(timeout: .seconds(5), "reply \(n) recorded") { sandbox in
                sandbox.calls("sendMessage").last { $0.chatID == user }?.parameters["text"] == .string("echo: ping \(n)")
            }
            // The moment the sandbox answered the reply's sendMessage, not when this loop noticed it.
            guard let answered = sandbox.calls("sendMessage").last(where: { $0.chatID == user })?.answeredAt else {
                throw ValidationError("reply \(n) not in the call log")
            }
            samples.append(answered - start)
        }
        let summary = LatencySummary(samples)
        print("update→reply latency over \(roundTrips) round trips (long poll, intake transaction, outbox, send): "
              + "p50 \(summary.p50.microsecondsText), p99 \(summary.p99.microsecondsText), mean \(summary.mean.microsecondsText)")
    }
}
