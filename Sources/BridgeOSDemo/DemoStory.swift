import AsyncHTTPClient
import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTranslation
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The scripted story: a construction manager and two workers, through the real appliance (`serve` as a
/// child process) and the sandbox. Each scene acts as people would and checks what they then see.
struct DemoStory {
    let driver: DemoDriver
    let sandbox: BotAPISandbox
    let serve: ServeChild
    let database: AppDatabase
    /// The LemonSqueezy stand-in, and a client to deliver its webhooks with.
    let lemon: LemonSqueezySandbox
    let http: HTTPClient
    let book = Phrasebook.demo

    let marta = DemoPerson(id: 1001, name: "Marta", language: "en")
    let ivan = DemoPerson(id: 1002, name: "Iván", language: "es")
    let oksana = DemoPerson(id: 1003, name: "Oksana", language: "uk")
    /// The admin who runs the server (BRIDGEOS_ADMIN_IDS): feedback goes to her.
    let ada = DemoPerson(id: 1009, name: "Ada", language: "en")

    var bots: [SandboxBot] { sandbox.bots }
    var out: DemoOutput { driver.out }

    func play() async throws {
        sandbox.addUser(id: marta.id, firstName: marta.name, username: "marta_builds", languageCode: "en")
        sandbox.addUser(id: ivan.id, firstName: ivan.name, languageCode: "es")
        sandbox.addUser(id: oksana.id, firstName: oksana.name, languageCode: "uk")
        sandbox.addUser(id: ada.id, firstName: ada.name, languageCode: "en")
        try await registration()
        try await invites()
        try await conversation()
        try await media()
        try await voiceAndCheck()
        try await work()
        try await business()
        try await dashboard()
        try await blocking()
        try await crash()
        try await workers()
        try await backup()
        try await postgresExport()
        try await webhookMode()
    }

    // MARK: Scenes

    func registration() async throws {
        out.heading("1. Marta, a site manager, registers (in English)")
        driver.narrate("She opens her company's first bot and sends /start. One message is edited in place through three steps.")
        try await driver.say(marta, bots[0], "/start")
        try await driver.tap(marta, bots[0], "reg:lang:en")
        try await driver.tap(marta, bots[0], "reg:gender:female")
        try await driver.tap(marta, bots[0], "reg:ind:construction")
        let manager = try database.managers.find(marta.id)
        driver.check(manager != nil, "Marta is registered as a manager (code \(manager?.code ?? "none"))")
    }

    func invites() async throws {
        out.heading("2. Marta invites two workers, one per line (one bot per line)")
        let first = try await invite(line: 1)
        driver.narrate("Marta sends the link to Iván. He opens it: it starts @\(bots[0].username), line 1. Three taps.")
        try await join(ivan, payload: first, bot: bots[0], gender: "male")
        let second = try await invite(line: 2)
        driver.narrate("Line 2 is @\(bots[1].username). Marta presses Start there too — that chat will be her line to Oksana — and sends Oksana the link.")
        try await driver.say(marta, bots[1], "/start")
        try await join(oksana, payload: second, bot: bots[1], gender: "female")
        let lines = try database.overview().lines.filter(\.active)
        driver.check(lines.map(\.slot) == [1, 2] && lines.map(\.worker) == [ivan.name, oksana.name],
                     "two connections: line 1 Marta ↔ Iván (es), line 2 Marta ↔ Oksana (uk)")
    }

    func conversation() async throws {
        out.heading("3. Messages go both ways, translated, with the conversation as context")
        try await relay(marta, ivan, bots[0], "morning")
        try await relay(ivan, marta, bots[0], "ladder")
        driver.narrate("“Yes, bring it” — bring what? The translator reads the earlier messages: it is the ladder (“la escalera”, feminine), so the Spanish says “tráela”, not “tráelo”.")
        try await relay(marta, ivan, bots[0], "bringIt", context: ["ladder"])

        out.heading("4. A link and an @mention pass untouched")
        let url = "https://example.com/plans/floor-3"
        let mention = "@acme_foreman"
        let plan = book.text("plan", "en").replacingOccurrences(of: "⟦1⟧", with: url).replacingOccurrences(of: "⟦2⟧", with: mention)
        let before = driver.count(bots[0], ivan)
        try await driver.say(marta, bots[0], plan, then: [(ivan, bots[0], 1)])
        let seen = driver.botTexts(bots[0], ivan).dropFirst(before).first ?? ""
        driver.check(seen.contains(url) && seen.contains(mention), "Iván got the link and the mention exactly as Marta wrote them")
        if driver.phrasebook != nil {
            let want = book.text("plan", "es").replacingOccurrences(of: "⟦1⟧", with: url).replacingOccurrences(of: "⟦2⟧", with: mention)
            driver.verify(seen == want, "Iván sees “\(want)”, not “\(seen)”")
        }
        try await relay(ivan, marta, bots[0], "onMyWay")
    }

    func blocking() async throws {
        out.heading("10. Iván blocks the bot by mistake; what Marta writes meanwhile waits for him")
        let bot = bots[0]
        let martaBefore = driver.count(bot, marta)
        driver.sandbox.block(bot, by: ivan.id)
        driver.screens.action(ivan, bot, "blocks @\(bot.username)")
        try await driver.wait("Marta is told that Iván blocked the bot") { $0.botMessages(bot, 1001).count > martaBefore }
        await driver.settle()
        driver.screens.show(marta, bot)
        let ivanBefore = driver.count(bot, ivan)
        let callsBefore = driver.sandbox.calls(since: 0).total
        driver.sandbox.send(book.text("delivery", "en"), from: marta.id, to: bot)
        driver.screens.show(marta, bot)
        // The message is translated and kept; nothing may even be tried on a chat that blocked the bot.
        try? await Task.sleep(for: .seconds(2))
        driver.screens.show(marta, bot)
        let attempts = driver.sandbox.calls(since: callsBefore).calls.filter { $0.chatID == ivan.id && $0.method != "getUpdates" }
        driver.check(attempts.isEmpty && driver.count(bot, ivan) == ivanBefore,
                     "nothing is sent to Iván, nor tried, while he has blocked the bot (\(attempts.count) attempts)")
        driver.narrate("Iván notices and unblocks the bot.")
        driver.sandbox.unblock(bot, by: ivan.id)
        driver.screens.action(ivan, bot, "unblocks @\(bot.username)")
        let want = expected("delivery", ivan.language)
        try await driver.wait("the kept message reaches Iván") { sandbox in
            let texts = sandbox.botMessages(bot, 1002).dropFirst(ivanBefore).map(DemoScreens.content)
            return want.map { texts.contains($0) } ?? !texts.isEmpty
        }
        await driver.settle()
        driver.screens.show(ivan, bot)
        driver.screens.show(marta, bot)
        if let want {
            driver.check(driver.botTexts(bot, ivan).filter { $0 == want }.count == 1, "the message written during the block arrived once")
        }
        try await relay(ivan, marta, bot, "sorry")
    }

    func crash() async throws {
        out.heading("11. A hard crash in the middle of a burst: serve is killed with SIGKILL and restarted")
        let bot = bots[1]
        let steps = (1...6).map { "step\($0)" }
        let before = driver.count(bot, oksana)
        driver.narrate("Marta sends Oksana six instructions in a row. Telegram allows about one message per second per chat, so they leave over a few seconds.")
        for step in steps { driver.sandbox.send(book.text(step, "en"), from: marta.id, to: bot) }
        driver.screens.show(marta, bot)
        let arrivedTwo = try await driver.wait("the first instructions reach Oksana") { $0.botMessages(bot, 1003).count >= before + 2 }
        // The crash comes while the rest wait in the database and no send is in flight (see below). serve is
        // frozen (SIGSTOP, every thread stopped) while the database is read, so nothing can change between the
        // look and the kill.
        let quiet = try await driver.wait("a moment with instructions waiting and no send in flight") { [serve, database] _ in
            guard serve.freeze() else { return false }
            guard let outbox = try? database.outbox.counts(), let jobs = try? database.jobs.backlog(),
                  outbox[.inFlight] == 0, (outbox[.pending] ?? 0) + jobs.waiting > 0
            else {
                serve.send(SIGCONT)
                return false
            }
            return true
        }
        let pid = serve.pid
        serve.kill()
        let delivered = driver.count(bot, oksana) - before
        driver.screens.show(oksana, bot)
        driver.narrate("⚡ serve (pid \(pid)) killed with SIGKILL after \(delivered) of 6 reached Oksana. No shutdown code ran.")
        if arrivedTwo && quiet {
            let overview = try database.overview()
            let waiting = (overview.outbox["pending"] ?? 0) + (overview.outbox["in_flight"] ?? 0)
            let unconfirmed = driver.sandbox.pendingUpdates(bot).count
            driver.narrate("On disk at that moment: \(overview.messages) messages stored, \(waiting) sends and \(overview.jobsWaiting) translations waiting, none in flight; Telegram still held \(unconfirmed) update(s) serve had not confirmed.")
            driver.narrate("(Why wait for “none in flight”: a crash in the instant between Telegram accepting a message and BridgeOS recording it would send that one message again after the restart — no Bot API call can be made idempotent. README, Delivery guarantees, has the details.)")
        }
        try serve.start()
        driver.narrate("serve restarted (pid \(serve.pid)) on the same data directory.")
        let wanted = steps.map { expected($0, oksana.language) }
        try await driver.wait("all six instructions reach Oksana") { $0.botMessages(bot, 1003).count >= before + 6 }
        await driver.settle()
        try? await Task.sleep(for: .seconds(1))  // a duplicate, if there were one, would arrive now
        driver.screens.show(oksana, bot)
        let got = Array(driver.botTexts(bot, oksana).dropFirst(before))
        if wanted.allSatisfy({ $0 != nil }) {
            let exact = got == wanted.compactMap { $0 }
            driver.check(exact, "all 6 arrived after the restart, in order, none twice (\(got.count) messages)")
        } else {
            let numbered = got.compactMap { $0.split(separator: "/").first.flatMap { Int($0) } }
            driver.check(numbered == Array(1...6), "all 6 arrived after the restart, in order, none twice (\(got.count) messages)")
        }
        try await relay(oksana, marta, bot, "allDone")
    }

    func workers() async throws {
        out.heading("12. /workers: Marta's five lines")
        try await driver.say(marta, bots[0], "/workers")
    }

    func backup() async throws {
        out.heading("13. The admin backs up, while serve keeps running")
        driver.narrate("$ bridgeos backup — a consistent copy of the live database, checked, fsynced, with a manifest (serve also takes one daily and before any upgrade).")
        let status = try await command(["backup"]) { _ in true }
        driver.check(status == 0 && serve.isRunning, "backup taken while serve ran (exit \(status)); `bridgeos restore <file>` puts it back")
    }

    func postgresExport() async throws {
        out.heading("14. The team outgrows one machine: export for PostgreSQL, verified")
        let directory = serve.logFile.deletingLastPathComponent()
        let file = directory.appendingPathComponent("bridgeos-postgres.sql").path
        driver.narrate("$ bridgeos export --sql bridgeos-postgres.sql — one snapshot of the live database as a file psql loads (schema, COPY data, sequences); `--postgres URL` loads a server directly. Every table is read back and compared: rows and SHA-256.")
        let exported = try await command(["export", "--sql", file]) { $0.hasPrefix("messages ") || $0.hasPrefix("users ") || $0.hasPrefix("verified") }
        driver.check(exported == 0 && serve.isRunning, "exported while serve ran, every table verified (exit \(exported))")
        driver.narrate("$ bridgeos import --sql bridgeos-postgres.sql --output imported.sqlite — and back, into a new SQLite file (it never overwrites one).")
        let imported = try await command(["import", "--sql", file, "--output", directory.appendingPathComponent("imported.sqlite").path]) {
            $0.hasPrefix("verified")
        }
        driver.check(imported == 0, "imported back into a new SQLite file, every table equal (exit \(imported))")
    }

    /// Runs a bridgeos command beside serve (same binary, same settings); shows the lines `show` picks, and
    /// any error it reports.
    func command(_ arguments: [String], show: @escaping (Substring) -> Bool) async throws -> Int32 {
        let process = Process()
        process.executableURL = serve.executable
        process.arguments = arguments
        process.environment = serve.environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        // Reading blocks: on a thread of its own, while the sandbox in this process serves serve. The exit is
        // then awaited without holding a thread (Foundation's waitUntilExit spins on one).
        let printed = try await onOwnThread { String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        let status = process.terminationStatus
        for line in printed.split(separator: "\n") where show(line) || line.hasPrefix("bridgeos ") { out.line("    " + line) }
        return status
    }

    // MARK: Helpers

    /// The translation the phrasebook gives (nil with a real provider: not known in advance).
    func expected(_ id: String, _ language: String, context: [String] = []) -> String? {
        guard driver.phrasebook != nil else { return nil }
        return book.translate(book.text(id, "en"), from: "en", to: language, context: context)
    }

    /// `from` writes phrase `id` in their language; waits until `to` sees it and checks the translation.
    func relay(_ from: DemoPerson, _ to: DemoPerson, _ bot: SandboxBot, _ id: String, context: [String] = []) async throws {
        let before = driver.count(bot, to)
        try await driver.say(from, bot, book.text(id, from.language), then: [(to, bot, 1)])
        guard let want = expected(id, to.language, context: context) else { return }
        let got = driver.botTexts(bot, to).dropFirst(before)
        driver.verify(got.contains(want), "\(to.name) sees “\(want)”, got \(got.map { "“\($0)”" }.joined(separator: ", "))")
    }

    /// `/addworker` on line 1's bot; returns the invite's start payload.
    func invite(line: Int) async throws -> String {
        let bot = bots[0]
        let before = driver.count(bot, marta)
        try await driver.say(marta, bot, "/addworker")
        let link = driver.botTexts(bot, marta).dropFirst(before)
            .flatMap { $0.split(whereSeparator: \.isWhitespace) }
            .first { $0.hasPrefix("https://t.me/\(bots[line - 1].username)?start=") }
        driver.check(link != nil, "Marta got an invite link for line \(line) (@\(bots[line - 1].username))")
        return link.map { String($0.split(separator: "=").last ?? "") } ?? ""
    }

    func join(_ worker: DemoPerson, payload: String, bot: SandboxBot, gender: String) async throws {
        try await driver.say(worker, bot, "/start \(payload)")
        try await driver.tap(worker, bot, "join:lang:\(worker.language)")
        let martaBefore = driver.count(bot, marta) + driver.count(bots[0], marta)
        try await driver.tap(worker, bot, "join:gender:\(gender)")
        let bots = self.bots
        try await driver.wait("Marta is told \(worker.name) joined") { sandbox in
            sandbox.botMessages(bot, 1001).count + sandbox.botMessages(bots[0], 1001).count > martaBefore
        }
        await driver.settle()
        driver.screens.show(marta, bot)
    }
}
