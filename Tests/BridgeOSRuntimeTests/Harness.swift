import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Synchronization
import Testing

/// The runtime harness with the test handler unless a test says otherwise.
func withRuntime<T>(
    bots: Int = 2,
    limits: RateLimits = .test,
    handler: any UpdateHandler = TestHandler(),
    jobHandlers: [any JobHandler] = [],
    maxUpdateAttempts: Int = 3,
    tokens: ((BotAPISandbox) -> [BotSlot: BotToken])? = nil,
    existingDatabase: String? = nil,
    sandbox: BotAPISandbox? = nil,
    sweepInterval: Duration = .seconds(30),
    _ body: (Harness) async throws -> T
) async throws -> T {
    try await BridgeOSTestSupport.withRuntime(
        bots: bots, limits: limits, handler: handler, jobHandlers: jobHandlers, maxUpdateAttempts: maxUpdateAttempts,
        tokens: tokens, existingDatabase: existingDatabase, sandbox: sandbox, sweepInterval: sweepInterval, body)
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

extension Harness {
    /// A user who has started `bot` (sent /start and got the welcome), so the bot may write to them.
    func startedChat(_ user: Int64, _ bot: SandboxBot, name: String = "Ana") async throws {
        sandbox.addUser(id: user, firstName: name)
        sandbox.send("/start", from: user, to: bot)
        try await waitForTexts(bot, user, count: 1)
    }
}
