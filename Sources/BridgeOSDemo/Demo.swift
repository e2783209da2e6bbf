import BridgeOSApp
import BridgeOSBillingSandbox
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTelegramSandbox
import BridgeOSTranslation
import Foundation
import Logging

/// `bridgeos demo`: the real appliance — `bridgeos serve`, all five bot slots, a real SQLite file — against
/// the built-in Bot API sandbox, with simulated people playing a scripted story.
public enum Demo {
    /// Why the demo cannot start.
    public struct SetupError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The sandbox's five bots: one company, five lines.
    static func bots() -> [SandboxBot] { SandboxBot.make(5, prefix: "acme_crew") }

    /// Plays the story, prints the transcript and what the database holds. Returns whether every check held.
    /// - Parameters:
    ///   - configuration: the demo's own settings; only the translator (and its provider settings) is used.
    ///   - dataDirectory: an empty or new directory for the database and serve's log.
    public static func runStory(configuration: AppConfiguration, dataDirectory: URL, logger: Logger) async throws -> Bool {
        let out = DemoOutput()
        let provider = configuration.translation.hasProvider
        if provider {
            // The child would refuse it (exit 78): say so in one line, before anything starts.
            var check = configuration
            check.botTokens = [1: bots()[0].token.secret]
            do { try Appliance.validate(check) } catch { throw SetupError(description: "\(error)") }
        }
        try prepare(dataDirectory)
        intro(out, configuration: configuration, dataDirectory: dataDirectory, provider: provider)
        let lemon = LemonSqueezySandbox()
        return try await BotAPISandbox.run(bots: bots()) { sandbox in try await lemon.run { lemonURL in try await TranscriptionStandIn.run { whisperURL in
          try await withHTTPClient { http in
            var environment = childEnvironment(configuration, sandbox: sandbox, dataDirectory: dataDirectory, provider: provider)
            // Voice notes are transcribed by the stand-in Whisper server, unless a real transcriber is configured.
            if configuration.translation.transcriber == "none" {
                environment["BRIDGEOS_TRANSCRIBER"] = "openai"
                environment["BRIDGEOS_TRANSCRIBER_URL"] = whisperURL
                environment["BRIDGEOS_TRANSCRIBER_KEY"] = "demo"
            }
            // Subscriptions through the LemonSqueezy stand-in; Ada (1009) is the admin feedback goes to.
            environment["LEMONSQUEEZY_API_URL"] = lemonURL
            environment["LEMONSQUEEZY_API_KEY"] = lemon.apiKey
            environment["LEMONSQUEEZY_STORE_ID"] = lemon.storeID
            environment["LEMONSQUEEZY_VARIANT_ID"] = lemon.variantID
            environment["LEMONSQUEEZY_WEBHOOK_SECRET"] = lemon.signingSecret
            environment["BRIDGEOS_ADMIN_IDS"] = "1009"
            environment["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
            // Created here, before serve starts; the story reads it (checks, the overview), serve writes it.
            var options = configuration
            options.dataDirectory = dataDirectory.path
            let database = try AppDatabase.open(options)
            let serve = ServeChild(executable: ServeChild.currentExecutable, environment: environment,
                                   logFile: dataDirectory.appendingPathComponent("serve.log"))
            try serve.start()
            // Ctrl-C (or a SIGTERM) in the middle of the story must not leave serve running without its sandbox.
            let interrupts = serve.stopOnInterrupt()
            defer {
                interrupts.forEach { $0.cancel() }
                serve.kill()
            }
            let driver = DemoDriver(sandbox: sandbox, out: out, phrasebook: provider ? nil : .demo, serve: serve)
            do {
                try await driver.wait("serve is polling all five bots") { sandbox in sandbox.bots.allSatisfy { sandbox.isPolling($0) } }
                out.line()
                driver.narrate("serve is running (pid \(serve.pid)) and polling all five bots: @\(sandbox.bots.map(\.username).joined(separator: ", @")).")
                let story = DemoStory(driver: driver, sandbox: sandbox, serve: serve, database: database, lemon: lemon, http: http)
                try await story.play()
            } catch is DemoDriver.StoryStopped {
                out.line()
                out.line("✗ the story stopped: the appliance did not answer in time (serve's log: \(serve.logFile.path))")
                for line in serve.logTail() { out.line("    " + line) }
                outro(out, failures: driver.failures, dataDirectory: dataDirectory)
                return false
            } catch let stopped as DemoDriver.ServeStopped {
                out.line()
                out.line("✗ serve stopped unexpectedly (exit \(stopped.status)); the end of its log (\(serve.logFile.path)):")
                for line in serve.logTail() { out.line("    " + line) }
                return false
            }

            out.heading("16. Checks")
            let violations = sandbox.violations
            driver.check(violations.isEmpty, "\(sandbox.calls.count) requests to the Bot API sandbox (long polls included): \(violations.count) broke the Bot API spec or Telegram's limits")
            for violation in violations.prefix(5) { out.note("  \(violation)") }
            let status = await serve.stop()
            driver.check(status == 0, "serve stopped cleanly on SIGTERM (exit \(status))")
            summary(out, try database.overview())
            outro(out, failures: driver.failures, dataDirectory: dataDirectory)
            return driver.failures.isEmpty
        } } } }
    }

    /// The data directory must hold no database yet: the story starts from nobody.
    static func prepare(_ directory: URL) throws {
        let database = directory.appendingPathComponent(AppConfiguration.databaseFileName).path
        guard !FileManager.default.fileExists(atPath: database) else {
            throw SetupError(description: "\(database) exists: the demo needs an empty data directory (leave out --data-dir for a new one in /tmp)")
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SetupError(description: "cannot create \(directory.path): \((error as NSError).localizedDescription)")
        }
    }

    /// A new directory under the system's temporary directory.
    public static func temporaryDataDirectory() throws -> URL {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("bridgeos-demo-XXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else { throw SetupError(description: "cannot create a temporary directory") }
        return URL(fileURLWithPath: String(cString: made), isDirectory: true)
    }

    static func childEnvironment(_ configuration: AppConfiguration, sandbox: BotAPISandbox, dataDirectory: URL, provider: Bool) -> [String: String] {
        var environment: [String: String] = [
            "BRIDGEOS_TELEGRAM_API_URL": sandbox.baseURL,
            "BRIDGEOS_DATA_DIR": dataDirectory.path,
            "BRIDGEOS_HTTP_ADDRESS": "127.0.0.1:0",
            "BRIDGEOS_LOG_LEVEL": "info",
            "BRIDGEOS_TRANSLATOR": "phrasebook",
        ]
        for (index, bot) in sandbox.bots.enumerated() {
            environment["BRIDGEOS_BOT\(index + 1)_TOKEN"] = bot.token.secret
        }
        if provider { environment.merge(configuration.translation.environment) { _, provider in provider } }
        return environment
    }

    static func intro(_ out: DemoOutput, configuration: AppConfiguration, dataDirectory: URL, provider: Bool) {
        out.line("BridgeOS demo — the real appliance, no tokens needed")
        out.line()
        out.note("bridgeos serve runs as a child process with all five bot slots, its intake, jobs and outbox, and a real SQLite database. Telegram is the built-in Bot API sandbox on 127.0.0.1, which checks every call against the official spec. Marta (English), Iván (Spanish) and Oksana (Ukrainian) are simulated people.")
        out.line()
        out.line("  data:        \(dataDirectory.path)/\(AppConfiguration.databaseFileName)")
        out.line("  serve's log: \(dataDirectory.path)/serve.log")
        if provider {
            out.line("  translation: \(configuration.translation.summary)")
        } else {
            out.line("  translation: the built-in demo phrasebook. It knows this story's sentences in English, Spanish and")
            out.line("               Ukrainian and marks anything else as untranslated. For real translation, configure a provider:")
            out.line("                 BRIDGEOS_TRANSLATOR=openai OPENAI_API_KEY=sk-… swift run bridgeos demo")
            out.line("               or a local model (Ollama shown; llama.cpp server and vLLM speak the same API):")
            out.line("                 BRIDGEOS_TRANSLATOR=openai OPENAI_BASE_URL=http://127.0.0.1:11434/v1 \\")
            out.line("                 BRIDGEOS_TRANSLATOR_MODEL=llama3.1 swift run bridgeos demo")
        }
        out.line()
        out.line("  How to read it: ┌ opens a person's chat with a bot; their lines are theirs, “bot” lines are what the")
        out.line("  bot sent them (“bot ✎” when it edited a message in place); [buttons] are under the message; » is an action.")
    }

    /// A provider URL without what may be secret in it (user, password, query).
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "(the configured provider)" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "(the configured provider)"
    }

    static func summary(_ out: DemoOutput, _ overview: StoreOverview) {
        out.heading("17. What the database holds")
        out.line("  people:")
        for person in overview.people {
            out.line("    \(person.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(person.role.isEmpty ? "(not registered)" : person.role), \(person.language)")
        }
        out.line("  connections:")
        for line in overview.lines {
            out.line("    line \(line.slot): \(line.manager) ↔ \(line.worker) (\(line.workerLanguage)), \(line.active ? "active" : "ended"), \(line.messages) messages")
        }
        out.line("  messages: \(overview.messages)")
        let order = ["sent", "pending", "in_flight", "unreachable", "dead"]
        let outbox = order.compactMap { status in overview.outbox[status].map { "\($0) \(status)" } }.joined(separator: ", ")
        out.line("  outbox (messages, edits and button answers to send): \(outbox.isEmpty ? "none" : outbox)")
        out.line("  jobs waiting: \(overview.jobsWaiting)")
    }

    static func outro(_ out: DemoOutput, failures: [String], dataDirectory: URL) {
        out.line()
        if failures.isEmpty {
            out.line("The story played through: every message arrived once, in order, in its reader's language.")
        } else {
            out.line("✗ \(failures.count) check(s) failed:")
            for failure in failures { out.line("  - \(failure)") }
            out.line("serve's log is in \(dataDirectory.path)/serve.log")
        }
        out.line()
        out.line("The database and serve's log stay in \(dataDirectory.path) to look at (remove it when done).")
        out.line()
        out.line("Next:")
        out.line("  swift run bridgeos demo --interactive   try it by hand in your browser (http://127.0.0.1:8080/sandbox)")
        out.line("  README.md, “Going live”                  bot tokens from @BotFather, then bridgeos serve")
    }
}
