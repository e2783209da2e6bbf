import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Synchronization

/// Everything around one `bridgeos serve` under test: the Bot API sandbox with five bots, an
/// OpenAI-compatible translator that can be taken down, a data directory whose database already holds
/// `conversations` manager–worker lines spread over the five slots (as onboarding leaves them), and the
/// serve child itself.
final class FaultWorld: Sendable {
    let sandbox: BotAPISandbox
    let translator: FakeProvider
    /// While true the translator answers 503 (an outage).
    let translatorDown: Flag
    let directory: URL
    let environment: [String: String]
    let serve: ServeProcess
    let conversations: Int

    init(sandbox: BotAPISandbox, translator: FakeProvider, translatorDown: Flag, directory: URL, environment: [String: String],
         serve: ServeProcess, conversations: Int) {
        self.sandbox = sandbox
        self.translator = translator
        self.translatorDown = translatorDown
        self.directory = directory
        self.environment = environment
        self.serve = serve
        self.conversations = conversations
    }

    var databasePath: String { directory.appendingPathComponent("bridgeos.sqlite").path }

    /// The bot of conversation `index`'s slot.
    func bot(_ conversation: Int) -> SandboxBot { sandbox.bots[conversation % sandbox.bots.count] }

    /// Builds the world in a temporary directory, runs `body`, and stops serve (SIGKILL if it still runs)
    /// before the sandbox and translator go.
    static func run<T: Sendable>(
        conversations: Int = 25, settings: [String: String] = [:], wrapper: [String] = [], executable: URL? = nil,
        directory: URL? = nil, _ body: (FaultWorld) async throws -> T
    ) async throws -> T {
        let translator = FakeProvider(recordsRequests: false)
        let down = Flag()
        let answer: @Sendable (Data) -> FakeProvider.Answer = { body in
            guard !down.isOn else {
                return FakeProvider.Answer(status: 503, body: #"{"error":{"message":"overloaded"}}"#, headers: ["retry-after-ms": "500"])
            }
            return FakeProvider.taggedTranslation(body)
        }
        translator.fallback.withLock { $0 = answer }
        return try await translator.run { translatorURL in
            try await BotAPISandbox.run(bots: SandboxBot.make(5, prefix: "fault")) { sandbox in
                try await withTemporaryDirectoryAsync { temporary in
                    let directory = directory ?? temporary
                    var environment = [
                        "BRIDGEOS_DATA_DIR": directory.path,
                        "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
                        "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0",
                        "BRIDGEOS_POLL_TIMEOUT": "5",
                        "BRIDGEOS_TRANSLATOR": "openai",
                        "OPENAI_BASE_URL": translatorURL,
                        "OPENAI_API_KEY": FaultWorld.apiKey,
                        // A paying team: the free allowance is not what is tested.
                        "BRIDGEOS_FREE_MESSAGES": "1000000",
                        "BRIDGEOS_BACKUP_INTERVAL_HOURS": "0",
                    ]
                    for (index, bot) in sandbox.bots.enumerated() { environment["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret }
                    environment.merge(settings) { _, new in new }
                    let database = try AppDatabase.openFile(at: directory.appendingPathComponent("bridgeos.sqlite").path)
                    try RelayPeople.seed(database, conversations: conversations)
                    for index in 0..<conversations {
                        let bot = sandbox.bots[index % sandbox.bots.count]
                        for (id, name, language) in [(RelayPeople.manager(index), "Manager \(index)", "en"), (RelayPeople.worker(index), "Worker \(index)", "es")] {
                            _ = sandbox.addUser(id: id, firstName: name, languageCode: language)
                            sandbox.markStarted(bot, by: id)
                        }
                    }
                    let world = FaultWorld(sandbox: sandbox, translator: translator, translatorDown: down, directory: directory,
                                           environment: environment, serve: ServeProcess(environment: environment, directory: directory, wrapper: wrapper, executable: executable),
                                           conversations: conversations)
                    do {
                        let result = try await body(world)
                        _ = await world.serve.terminate(timeout: .seconds(20))
                        return result
                    } catch {
                        await world.serve.kill()
                        throw error
                    }
                }
            }
        }
    }

    /// The translator's API key: it must never appear in serve's log.
    static let apiKey = "sk-fault-suite-4c1d9e7a2b"

    /// Secrets and message texts that must never reach serve's log at the info level: the bot tokens'
    /// secret halves, the translator's key and the load's message texts.
    func leaks(in log: String) -> [String] {
        var found: [String] = []
        for bot in sandbox.bots where log.contains(String(bot.token.secret.split(separator: ":")[1])) { found.append("the token of \(bot.username)") }
        if log.contains(Self.apiKey) { found.append("the translator's API key") }
        if log.contains(RelayLoad.marker) { found.append("a message text") }
        return found
    }

    /// Long form (`BRIDGEOS_FAULT_LONG=1`): the sizes and durations the issue names for an unattended box,
    /// not CI's.
    static var long: Bool { ProcessInfo.processInfo.environment["BRIDGEOS_FAULT_LONG"] == "1" }
}

/// A switch tests turn on and off from any task.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isOn: Bool { value.withLock { $0 } }
    func set(_ on: Bool) { value.withLock { $0 = on } }
}
