import AsyncHTTPClient
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `bridgeos serve` as a child process against an in-process sandbox.
@Suite("bridgeos serve")
struct ServeTests {
    func environment(_ sandbox: BotAPISandbox, dataDir: URL, bots: Int? = nil) -> [String: String] {
        var environment = [
            "BRIDGEOS_DATA_DIR": dataDir.path,
            "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
            "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0",
            "BRIDGEOS_POLL_TIMEOUT": "2",
            "BRIDGEOS_RATE_PER_CHAT": "20",
        ]
        for (index, bot) in sandbox.bots.prefix(bots ?? sandbox.bots.count).enumerated() {
            environment["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret
        }
        return environment
    }

    /// What a running child wrote to stderr so far.
    func log(_ launched: (SpawnedProcess, URL, URL)) -> String {
        (try? String(contentsOf: launched.2, encoding: .utf8)) ?? ""
    }

    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw SandboxTimeout(what: what, timeout: timeout) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func exitStatus(_ process: SpawnedProcess, within timeout: Duration) async throws -> Int32 {
        try await waitFor("process exit", timeout: timeout) { !process.isRunning }
        return process.terminationStatus
    }

    @Test("serve answers through every slot, reports /healthz, refuses a second instance, stops cleanly on SIGTERM")
    func serveLifecycle() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let serve = try launch(try product("bridgeos"), ["serve"], environment: environment(sandbox, dataDir: directory), in: directory)
                defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }
                for (index, bot) in sandbox.bots.enumerated() {
                    sandbox.addUser(id: Int64(10 + index), firstName: "User")
                    sandbox.send("/start", from: Int64(10 + index), to: bot)
                }
                for (index, bot) in sandbox.bots.enumerated() {
                    try await sandbox.wait(timeout: .seconds(30), "registration from slot \(index + 1)") { $0.botMessages(bot, Int64(10 + index)).count == 1 }
                    let picker = try #require(sandbox.botMessages(bot, Int64(10 + index)).first)
                    #expect(picker.text == "👋 Welcome to BridgeOS! Choose your language:")
                    #expect(picker.replyMarkup?.inlineKeyboard.joined().count == 14)
                    // Commands registered in every language (in the background: polling does not wait for them).
                    try await sandbox.wait(timeout: .seconds(30), "commands of slot \(index + 1)") {
                        $0.commands(bot, languageCode: "es")?.first?.command == "help"
                    }
                }

                // /healthz on the port the server picked.
                try await waitFor("HTTP listening") { log(serve).contains("HTTP listening") }
                let line = try #require(log(serve).split(separator: "\n").first { $0.contains("HTTP listening") })
                let port = try #require(line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) })
                try await withHTTPClient { http in
                    let response = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(5))
                    #expect(response.status.code == 200)
                    let body = try await response.body.collect(upTo: 1 << 16)
                    let health = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
                    #expect(health.object?["status"] == .string("ok"))
                    #expect(health.object?["slots"]?.array?.count == 2)
                    #expect(!String(buffer: body).contains(sandbox.bots[0].token.secret))
                }

                // A second serve on the same data directory stops at once.
                let second = try await bridgeos("serve", environment: environment(sandbox, dataDir: directory), in: directory)
                #expect(second.status == 1)
                #expect(second.stderr.contains("another bridgeos serve is already running"))

                serve.0.terminate()  // SIGTERM
                #expect(try await exitStatus(serve.0, within: .seconds(20)) == 0)
                #expect(log(serve).contains("BridgeOS stopped"))
                for bot in sandbox.bots { #expect(!log(serve).contains(String(bot.token.secret.split(separator: ":")[1]))) }
                #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
            }
        }
    }

    @Test("SIGKILL mid-work loses nothing and handles nothing twice")
    func killAndRestart() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let bot = sandbox.bots[0]
                let users = (100..<140).map(Int64.init)
                // Slow answers keep several sends in flight when the kill comes.
                sandbox.inject(SandboxFault(.latency(.milliseconds(150)), method: "sendMessage", count: 1000))
                var first = try launch(try product("bridgeos"), ["serve"], environment: environment(sandbox, dataDir: directory), in: directory)
                for user in users {
                    sandbox.addUser(id: user, firstName: "U\(user)")
                    sandbox.send("/start", from: user, to: bot)
                }
                try await sandbox.wait(timeout: .seconds(30), "first replies") { sandbox in users.filter { !sandbox.botMessages(bot, $0).isEmpty }.count >= 5 }
                kill(first.0.processIdentifier, SIGKILL)
                await exited(first.0)
                #expect(first.0.terminationReason == .uncaughtSignal)
                let answeredBeforeKill = users.filter { !sandbox.botMessages(bot, $0).isEmpty }.count
                #expect(answeredBeforeKill < users.count, "the kill came too late to test anything")

                first = try launch(try product("bridgeos"), ["serve"], environment: environment(sandbox, dataDir: directory), in: directory)
                defer { if first.0.isRunning { kill(first.0.processIdentifier, SIGKILL) } }
                try await sandbox.wait(timeout: .seconds(60), "every user answered") { sandbox in users.allSatisfy { !sandbox.botMessages(bot, $0).isEmpty } }
                try await Task.sleep(for: .milliseconds(500))
                let counts = users.map { sandbox.botMessages(bot, $0).count }
                // Never lost; at most one duplicate per chat, and only for chats that had a send in flight.
                #expect(counts.allSatisfy { $0 == 1 || $0 == 2 }, "\(counts)")
                #expect(counts.filter { $0 == 2 }.count <= 8)

                let database = try AppDatabase.openFile(at: directory.appendingPathComponent("bridgeos.sqlite").path)
                #expect(try database.updateLog.count(status: .handled) == users.count)
                try await waitFor("outbox settled") {
                    let counts = (try? database.outbox.counts()) ?? [:]
                    return counts[.pending, default: 0] == 0 && counts[.inFlight, default: 0] == 0
                }
                let open = try database.outbox.counts()
                #expect(open[.pending, default: 0] == 0 && open[.inFlight, default: 0] == 0)
                #expect(open[.dead, default: 0] == 0 && open[.unreachable, default: 0] == 0)
                for user in users {
                    #expect(try database.outbox.rows(slot: BotSlot(1)!, chatID: user).map(\.status) == [.sent])
                }

                first.0.terminate()
                #expect(try await exitStatus(first.0, within: .seconds(20)) == 0)
                #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
            }
        }
    }

    @Test("SIGKILL in the middle of registration: the next process continues at the same step")
    func registrationSurvivesKill() async throws {
        try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
            try await withTemporaryDirectoryAsync { directory in
                let bot = sandbox.bots[0]
                var serve = try launch(try product("bridgeos"), ["serve"], environment: environment(sandbox, dataDir: directory), in: directory)
                defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }
                sandbox.addUser(id: 7, firstName: "Marta", languageCode: "pl")
                sandbox.send("/start", from: 7, to: bot)
                try await sandbox.wait(timeout: .seconds(30), "language picker") { !$0.botMessages(bot, 7).isEmpty }
                let picker = try #require(sandbox.botMessages(bot, 7).last)
                let first = try #require(sandbox.press("reg:lang:pl", on: picker, by: 7, bot: bot))
                try await sandbox.wait(timeout: .seconds(30), "gender step") { $0.isAnswered(callbackQuery: first) && $0.botMessages(bot, 7).last?.text != picker.text }

                kill(serve.0.processIdentifier, SIGKILL)
                await exited(serve.0)
                serve = try launch(try product("bridgeos"), ["serve"], environment: environment(sandbox, dataDir: directory), in: directory)

                let genderStep = try #require(sandbox.botMessages(bot, 7).last)
                let second = try #require(sandbox.press("reg:gender:female", on: genderStep, by: 7, bot: bot))
                try await sandbox.wait(timeout: .seconds(30), "industry step") { $0.isAnswered(callbackQuery: second) }
                try await sandbox.wait(timeout: .seconds(30), "industry picker") { sandbox in
                    sandbox.botMessages(bot, 7).last?.replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == "reg:ind:retail" } == true
                }
                let industry = try #require(sandbox.botMessages(bot, 7).last)
                #expect(sandbox.press("reg:ind:retail", on: industry, by: 7, bot: bot) != nil)
                try await sandbox.wait(timeout: .seconds(30), "registered") { $0.botMessages(bot, 7).last?.text?.contains("✅") == true }
                serve.0.terminate()
                #expect(try await exitStatus(serve.0, within: .seconds(20)) == 0)
                let database = try AppDatabase.openFile(at: directory.appendingPathComponent("bridgeos.sqlite").path)
                let manager = try #require(try database.managers.find(7))
                #expect(manager.industry == "retail")
                #expect(try database.users.find(7)?.language == "pl")
                #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
            }
        }
    }

    /// Presses a button of the newest bot message that has it, and waits for the press to be answered.
    func press(_ data: String, by user: Int64, in sandbox: BotAPISandbox) async throws {
        let bot = sandbox.bots[0]
        let message = try #require(sandbox.botMessages(bot, user).last { $0.replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == data } == true })
        let query = try #require(sandbox.press(data, on: message, by: user, bot: bot))
        try await sandbox.wait(timeout: .seconds(30), "\(data) answered") { $0.isAnswered(callbackQuery: query) }
        try await sandbox.wait(timeout: .seconds(30), "\(data) applied") { $0.message(message.messageID, bot: bot, chatID: user) != message }
    }

    @Test("a 20-second translation outage with a SIGKILL in the middle: all five messages arrive afterwards, in order, once")
    func outageAndKill() async throws {
        let provider = FakeProvider()
        let down = Mutex(false)
        provider.fallback.withLock { fallback in
            fallback = { body in
                if down.withLock({ $0 }) {
                    return FakeProvider.Answer(status: 503, body: #"{"error":{"message":"overloaded"}}"#, headers: ["retry-after-ms": "300"])
                }
                let request = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
                let user = ((request?["messages"] as? [[String: String]])?.last?["content"]) ?? ""
                let text = user.components(separatedBy: "<message>\n").last?.components(separatedBy: "\n</message>").first ?? user
                return FakeProvider.completion("[tr] " + text)
            }
        }
        try await provider.run { providerURL in
            try await BotAPISandbox.run(bots: SandboxBot.make(1)) { sandbox in
                try await withTemporaryDirectoryAsync { directory in
                    let bot = sandbox.bots[0]
                    var environment = environment(sandbox, dataDir: directory)
                    environment["BRIDGEOS_TRANSLATOR"] = "openai"
                    environment["OPENAI_BASE_URL"] = providerURL
                    environment["OPENAI_API_KEY"] = "sk-test-outage"
                    var serve = try launch(try product("bridgeos"), ["serve"], environment: environment, in: directory)
                    defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }

                    // A manager registers and invites; a worker joins.
                    sandbox.addUser(id: 1, firstName: "Marta", languageCode: "en")
                    sandbox.send("/start", from: 1, to: bot)
                    try await sandbox.wait(timeout: .seconds(30), "picker") { !$0.botMessages(bot, 1).isEmpty }
                    for data in ["reg:lang:en", "reg:gender:female", "reg:ind:construction"] { try await press(data, by: 1, in: sandbox) }
                    sandbox.send("/addworker", from: 1, to: bot)
                    try await sandbox.wait(timeout: .seconds(30), "invite") { $0.botMessages(bot, 1).last?.text?.contains("start=i1_") == true }
                    let link = try #require(sandbox.botMessages(bot, 1).last?.text?.split(separator: "\n").first { $0.hasPrefix("https://") })
                    sandbox.addUser(id: 2, firstName: "Iván", languageCode: "es")
                    sandbox.send("/start \(link.split(separator: "=").last!)", from: 2, to: bot)
                    try await sandbox.wait(timeout: .seconds(30), "join picker") { !$0.botMessages(bot, 2).isEmpty }
                    for data in ["join:lang:es", "join:gender:male"] { try await press(data, by: 2, in: sandbox) }
                    let delivered: @Sendable () -> [String] = { sandbox.botMessages(bot, 2).compactMap(\.text).filter { $0.hasPrefix("[tr] ") } }

                    // The provider goes down; the manager writes five messages.
                    down.withLock { $0 = true }
                    let outageStart = ContinuousClock.now
                    for n in 1...5 { sandbox.send("message \(n)", from: 1, to: bot) }
                    let delayedNotice = "Translation is delayed for a moment. Your messages will be delivered, in order, as soon as it is back."
                    try await sandbox.wait(timeout: .seconds(30), "delay notice") { $0.botMessages(bot, 1).last?.text == delayedNotice }

                    // The process dies in the middle of the outage, and comes back.
                    try await Task.sleep(for: .seconds(5))
                    kill(serve.0.processIdentifier, SIGKILL)
                    await exited(serve.0)
                    serve = try launch(try product("bridgeos"), ["serve"], environment: environment, in: directory)
                    #expect(delivered().isEmpty)

                    // Twenty seconds after it began, the provider answers again.
                    try await Task.sleep(until: outageStart + .seconds(20))
                    down.withLock { $0 = false }
                    try await sandbox.wait(timeout: .seconds(60), "five delivered") { _ in delivered().count >= 5 }
                    try await Task.sleep(for: .seconds(1))
                    #expect(delivered() == (1...5).map { "[tr] message \($0)" })
                    #expect(sandbox.botMessages(bot, 1).filter { $0.text == delayedNotice }.count == 1)
                    serve.0.terminate()
                    #expect(try await exitStatus(serve.0, within: .seconds(20)) == 0)
                    #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
                }
            }
        }
    }

    @Test("serve without tokens, or with a malformed one, says so and never prints the token")
    func badTokens() async throws {
        try await withTemporaryDirectoryAsync { directory in
            let none = try await bridgeos("serve", environment: ["BRIDGEOS_DATA_DIR": directory.path], in: directory)
            #expect(none.status == 78)
            #expect(none.stderr.contains("no bot configured: set BRIDGEOS_BOT1_TOKEN"))
            let secret = "12345:not a real token with spaces"
            let malformed = try await bridgeos("serve", environment: ["BRIDGEOS_DATA_DIR": directory.path, "BRIDGEOS_BOT3_TOKEN": secret], in: directory)
            #expect(malformed.status == 78)
            #expect(malformed.stderr.contains("BRIDGEOS_BOT3_TOKEN is invalid"))
            #expect(!malformed.stderr.contains("not a real token"))
        }
    }
}
