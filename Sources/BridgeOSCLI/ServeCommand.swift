import ArgumentParser
import AsyncHTTPClient
import BridgeOSCore
import BridgeOSFlows
import BridgeOSOperations
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import BridgeOSWeb
import Foundation
import Logging
import ServiceLifecycle

/// `bridgeos serve`: the appliance. The composition root of the long-running process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the bots: poll Telegram, handle updates, send replies, serve /healthz.",
        discussion: """
            Needs at least one of BRIDGEOS_BOT1_TOKEN … BRIDGEOS_BOT5_TOKEN. Stops gracefully on SIGTERM or \
            SIGINT: work in flight finishes, nothing is lost. One `serve` per data directory.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let configuration = try global.loadConfiguration()
        let logger = global.makeLogger(configuration, label: "bridgeos")
        var tokens: [BotSlot: BotToken] = [:]
        for (number, value) in configuration.botTokens {
            if let slot = BotSlot(number), let token = BotToken(value) { tokens[slot] = token }
        }
        if configuration.translator == "openai", configuration.openAIAPIKey.isEmpty, configuration.openAIBaseURL.contains("api.openai.com") {
            printError("bridgeos serve: BRIDGEOS_TRANSLATOR=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL pointing at a local server)")
            throw ExitCode(78)
        }
        guard !tokens.isEmpty else {
            printError("bridgeos serve: no bot configured: set BRIDGEOS_BOT1_TOKEN (and up to BRIDGEOS_BOT5_TOKEN) to tokens from @BotFather")
            throw ExitCode(78)
        }
        let (database, lock) = try reportingFailures("serve") { () throws -> (AppDatabase, DataDirectoryLock) in
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let lock = try DataDirectoryLock(directory: configuration.dataDirectory)
            return (try AppDatabase.open(configuration), lock)
        }
        defer { lock.release() }

        let localizer = try reportingFailures("serve") { try Localizer.embedded(logger: logger) }
        var localizedCommands: [String: [BotCommand]] = [:]
        for language in Language.all { localizedCommands[language.code] = BotCommands.list(localizer, language: language.code) }
        let httpClient = HTTPClient.makeForBotAPI()
        let settings = Runtime.Settings(
            tokens: tokens,
            api: BotAPIConfiguration(baseURL: configuration.telegramAPIURL),
            poller: PollerConfiguration(
                pollTimeout: configuration.pollTimeout, maxUpdateAttempts: configuration.updateMaxAttempts,
                commands: BotCommands.list(localizer, language: "en"), localizedCommands: localizedCommands),
            sender: SenderConfiguration(limits: RateLimits(
                perBot: .init(perSecond: configuration.ratePerBot, burst: max(1, configuration.ratePerBot)),
                perChat: .init(perSecond: configuration.ratePerChat, burst: 3),
                perGroup: .init(perSecond: configuration.ratePerGroupPerMinute / 60, burst: 3))))
        let relaySettings = RelaySettings(
            freeMessages: configuration.freeMessages, unlimitedUsers: configuration.testUserIDs,
            hourlyCap: configuration.relayHourlyCap, contextMessages: configuration.contextMessages)
        var relay: any RelayHandler = UnavailableRelay()
        var makeJobHandlers: ((RuntimeSignals) -> [any JobHandler])?
        if configuration.translator == "openai" {
            let translator = OpenAITranslator(
                configuration: OpenAIConfiguration(baseURL: configuration.openAIBaseURL, apiKey: configuration.openAIAPIKey, model: configuration.translatorModel),
                httpClient: httpClient, logger: logger)
            relay = TranslationRelay(settings: relaySettings)
            makeJobHandlers = { signals in
                [RelayJobHandler(database: database, translator: translator, localizer: localizer, settings: relaySettings, signals: signals, logger: logger)]
            }
        } else {
            logger.notice("no translator configured (BRIDGEOS_TRANSLATOR=none): connected people are told translation is off")
        }
        let notices = CounterpartNotices(localizer: localizer)
        let runtime = Runtime(database: database, httpClient: httpClient, settings: settings,
                              handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: relay), notices]),
                              makeJobHandlers: makeJobHandlers, observer: notices, logger: logger)
        let web = WebServer.application(
            host: configuration.httpHost, port: configuration.httpPort,
            health: HealthController(database: database, status: runtime.status), logger: logger,
            onListening: { port in logger.info("HTTP listening", metadata: ["address": "\(configuration.httpHost):\(port)"]) })

        logger.info("BridgeOS \(BridgeOSVersion.current) starting", metadata: [
            "slots": "\(tokens.keys.sorted().map(\.number))", "database": "\(configuration.databasePath)",
        ])
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: runtime.services + [
                .init(service: web),
                .init(service: RetentionService(
                    database: database, settings: RetentionService.Settings(messageRetentionDays: configuration.messageRetentionDays),
                    observer: notices, bots: runtime.directory, signals: runtime.signals, logger: logger)),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            logger.error("stopped after an error", metadata: ["error": "\(error)"])
            try? await httpClient.shutdown()
            throw ExitCode.failure
        }
        try await httpClient.shutdown()
        logger.info("BridgeOS stopped")
    }
}
