import BridgeOSCore
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTestSupport
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The delivery guarantees against the real `bridgeos serve` (a child process), the Bot API sandbox and a
/// fake OpenAI-compatible provider: the ordinary paths on which messages used to be lost.
@Suite("bridgeos serve: delivery guarantees")
struct ServeDeliveryTests {
    /// "[tr] " + the message, or the message twice for texts that start with "LONG" (a translation that
    /// grows past Telegram's caption limit). While `down`, 503s.
    static func provider(down: Flag) -> FakeProvider {
        let provider = FakeProvider()
        provider.fallback.withLock { fallback in
            fallback = { body in
                if down.isOn {
                    return FakeProvider.Answer(status: 503, body: #"{"error":{"message":"overloaded"}}"#, headers: ["retry-after-ms": "200"])
                }
                let request = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
                let user = ((request?["messages"] as? [[String: String]])?.last?["content"]) ?? ""
                let text = user.components(separatedBy: "<message>\n").last?.components(separatedBy: "\n</message>").first ?? user
                return FakeProvider.completion("[tr] " + (text.hasPrefix("LONG") ? text + " " + text : text))
            }
        }
        return provider
    }

    @Test("blocked and unblocked, a line never opened, a long caption, a burst of 30, a write lock held by another process, a message after /disconnect")
    func ordinaryPaths() async throws {
        let down = Flag()
        try await Self.provider(down: down).run { providerURL in
            try await BotAPISandbox.run(bots: SandboxBot.make(2)) { sandbox in
                try await withTemporaryDirectoryAsync { directory in
                    let (bot1, bot2) = (sandbox.bots[0], sandbox.bots[1])
                    var environment = [
                        "BRIDGEOS_DATA_DIR": directory.path, "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
                        "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0", "BRIDGEOS_POLL_TIMEOUT": "2", "BRIDGEOS_RATE_PER_CHAT": "20",
                        "BRIDGEOS_TRANSLATOR": "openai", "OPENAI_BASE_URL": providerURL, "OPENAI_API_KEY": "sk-test-delivery",
                    ]
                    environment["BRIDGEOS_BOT1_TOKEN"] = bot1.token.secret
                    environment["BRIDGEOS_BOT2_TOKEN"] = bot2.token.secret
                    let serve = try launch(try product("bridgeos"), ["serve"], environment: environment, in: directory)
                    defer { if serve.0.isRunning { kill(serve.0.processIdentifier, SIGKILL) } }
                    let people = People(sandbox: sandbox)
                    @Sendable func texts(_ bot: SandboxBot, _ chat: Int64) -> [String] { sandbox.botMessages(bot, chat).compactMap { $0.text ?? $0.caption } }

                    // Marta (en) registers in bot 1 and connects Iván (es) on line 1.
                    try await people.registerManager(1, "Marta", on: bot1)
                    let line1 = try await people.invite(by: 1, on: bot1, line: 1)
                    try await people.join(2, "Iván", language: "es", payload: line1, on: bot1)

                    // 2. A line the manager never opened: Oksana joins line 2 and writes at once.
                    let line2 = try await people.invite(by: 1, on: bot1, line: 2)
                    try await people.join(3, "Oksana", language: "uk", payload: line2, on: bot2)
                    let oksanaBefore = sandbox.botMessages(bot2, 3).count
                    sandbox.send("Я на місці", from: 3, to: bot2)
                    let waiting = "Oksana wrote to you on line 2. Open it to read: https://t.me/\(bot2.username)"
                    try await sandbox.wait(timeout: .seconds(30), "told in bot 1 that Oksana wrote") { _ in texts(bot1, 1).contains(waiting) }
                    #expect(sandbox.botMessages(bot2, 1).isEmpty)  // never written to first
                    try await Task.sleep(for: .milliseconds(500))
                    #expect(sandbox.botMessages(bot2, 3).count == oksanaBefore)  // and Oksana was told nothing false
                    sandbox.send("/start", from: 1, to: bot2)
                    try await sandbox.wait(timeout: .seconds(30), "Oksana's message in bot 2") { _ in texts(bot2, 1).contains("[tr] Я на місці") }
                    #expect(texts(bot2, 1).first == "[tr] Я на місці")  // what waited comes first
                    #expect(texts(bot1, 1).filter { $0 == waiting }.count == 1)

                    // 1. Kept, then delivered: Iván blocks bot 1; Marta writes twice; Iván unblocks.
                    sandbox.block(bot1, by: 2)
                    let blocked = "Iván has blocked this bot, so your messages cannot reach them for now. What you send is kept."
                    try await sandbox.wait(timeout: .seconds(30), "Marta told") { _ in texts(bot1, 1).last == blocked }
                    sandbox.send("Bring the ladder", from: 1, to: bot1)
                    sandbox.send("And the drill", from: 1, to: bot1)
                    try await Task.sleep(for: .seconds(1))
                    let ivanBefore = texts(bot1, 2).count
                    sandbox.unblock(bot1, by: 2)
                    try await sandbox.wait(timeout: .seconds(30), "kept messages delivered") { _ in texts(bot1, 2).contains("[tr] And the drill") }
                    #expect(Array(texts(bot1, 2).dropFirst(ivanBefore).prefix(2)) == ["[tr] Bring the ladder", "[tr] And the drill"])

                    // 3. A photo whose translated caption is longer than 1,024: the photo, then the text as a reply.
                    let caption = "LONG " + String(repeating: "the wall on the north side needs a second coat ", count: 20) + "today"
                    #expect((920...1000).contains(caption.utf16.count))
                    sandbox.sendMedia(.photo, from: 2, to: bot1, caption: caption)
                    let translated = "[tr] " + caption + " " + caption
                    try await sandbox.wait(timeout: .seconds(30), "photo and caption text") { _ in texts(bot1, 1).last == translated }
                    let messages = sandbox.botMessages(bot1, 1)
                    let photo = try #require(messages.dropLast().last)
                    #expect(photo.photo != nil && photo.caption == nil)  // not even the original caption
                    #expect(messages.last?.replyToMessage?.messageID == photo.messageID)

                    // 4. A burst of 30 in a few seconds: all relayed, in order.
                    for n in 1...30 { sandbox.send("item \(n)", from: 2, to: bot1) }
                    try await sandbox.wait(timeout: .seconds(60), "30 relayed") { _ in texts(bot1, 1).contains("[tr] item 30") }
                    #expect(Array(texts(bot1, 1).suffix(30)) == (1...30).map { "[tr] item \($0)" })

                    // A write lock held by another process for longer than the busy timeout: nothing is lost.
                    let database = directory.appendingPathComponent("bridgeos.sqlite").path
                    let locker = try launch(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
                        import sqlite3, sys, time
                        db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
                        db.execute("BEGIN IMMEDIATE")
                        print("locked", flush=True)
                        time.sleep(7)
                        db.execute("COMMIT")
                        """, database], in: directory)
                    try await waitFor("the lock taken") { (try? String(contentsOf: locker.1, encoding: .utf8))?.contains("locked") == true }
                    sandbox.send("During the lock", from: 1, to: bot1)
                    try await Task.sleep(for: .seconds(1))
                    #expect(!texts(bot1, 2).contains("[tr] During the lock"))
                    await exited(locker.0)
                    #expect(locker.0.terminationStatus == 0)
                    try await sandbox.wait(timeout: .seconds(30), "delivered after the lock") { _ in texts(bot1, 2).contains("[tr] During the lock") }

                    // A job whose connection ended before it ran: not delivered, the sender told; the worker told too.
                    down.set(true)
                    sandbox.send("See you tomorrow", from: 1, to: bot1)
                    try await Task.sleep(for: .seconds(1))
                    sandbox.send("/disconnect", from: 1, to: bot1)
                    try await sandbox.wait(timeout: .seconds(30), "confirm") { $0.botMessages(bot1, 1).last?.replyMarkup != nil }
                    let confirm = try #require(sandbox.botMessages(bot1, 1).last?.replyMarkup?.inlineKeyboard.joined().first?.callbackData)
                    try await people.press(confirm, by: 1, on: bot1)
                    try await sandbox.wait(timeout: .seconds(30), "Iván told of the disconnect") { _ in texts(bot1, 2).last?.contains("Marta") == true }
                    down.set(false)
                    let ended = "Your message “See you tomorrow” was not delivered: the connection with Iván has ended."
                    try await sandbox.wait(timeout: .seconds(30), "Marta told") { _ in texts(bot1, 1).contains(ended) }
                    #expect(!texts(bot1, 2).contains("[tr] See you tomorrow"))
                    sandbox.send("¿Hola?", from: 2, to: bot1)
                    let endedForWorker = "Tu conexión con Marta ha terminado, así que este mensaje no se entregó. Pide a Marta un nuevo enlace de invitación."
                    try await sandbox.wait(timeout: .seconds(30), "Iván told") { _ in texts(bot1, 2).last == endedForWorker }

                    serve.0.terminate()
                    try await waitFor("serve exits") { !serve.0.isRunning }
                    #expect(serve.0.terminationStatus == 0)
                    #expect(sandbox.violations.isEmpty, "\(sandbox.violations)")
                }
            }
        }
    }

    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw SandboxTimeout(what: what, timeout: timeout) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// A switch shared with a fake server's handler.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isOn: Bool { value.withLock { $0 } }
    func set(_ on: Bool) { value.withLock { $0 = on } }
}

/// Simulated people driving a real `serve` through the sandbox.
struct People {
    let sandbox: BotAPISandbox

    func press(_ data: String, by user: Int64, on bot: SandboxBot) async throws {
        let message = try #require(sandbox.botMessages(bot, user).last { $0.replyMarkup?.inlineKeyboard.joined().contains { $0.callbackData == data } == true },
                                   "no button \(data)")
        let query = try #require(sandbox.press(data, on: message, by: user, bot: bot))
        try await sandbox.wait(timeout: .seconds(30), "\(data) answered") { $0.isAnswered(callbackQuery: query) }
        try await sandbox.wait(timeout: .seconds(30), "\(data) applied") { $0.message(message.messageID, bot: bot, chatID: user) != message }
    }

    func registerManager(_ user: Int64, _ name: String, on bot: SandboxBot) async throws {
        sandbox.addUser(id: user, firstName: name, languageCode: "en")
        sandbox.send("/start", from: user, to: bot)
        try await sandbox.wait(timeout: .seconds(30), "picker") { !$0.botMessages(bot, user).isEmpty }
        for data in ["reg:lang:en", "reg:gender:female", "reg:ind:construction"] { try await press(data, by: user, on: bot) }
    }

    /// /addworker (or the invite button of a line) and the deep-link payload it answers with.
    func invite(by manager: Int64, on bot: SandboxBot, line: Int) async throws -> String {
        let before = sandbox.botMessages(bot, manager).count
        sandbox.send("/addworker", from: manager, to: bot)
        try await sandbox.wait(timeout: .seconds(30), "invite") { sandbox in
            sandbox.botMessages(bot, manager).dropFirst(before).contains { $0.text?.contains("start=i\(line)_") == true }
        }
        let reply = try #require(sandbox.botMessages(bot, manager).dropFirst(before).first { $0.text?.contains("start=i\(line)_") == true })
        let link = try #require(reply.text?.split(separator: "\n").first { $0.hasPrefix("https://") })
        return String(link.split(separator: "=").last!)
    }

    func join(_ worker: Int64, _ name: String, language: String, payload: String, on bot: SandboxBot) async throws {
        sandbox.addUser(id: worker, firstName: name, languageCode: language)
        sandbox.send("/start \(payload)", from: worker, to: bot)
        try await sandbox.wait(timeout: .seconds(30), "join picker") { !$0.botMessages(bot, worker).isEmpty }
        for data in ["join:lang:\(language)", "join:gender:female"] { try await press(data, by: worker, on: bot) }
    }
}
