import AsyncHTTPClient
import BridgeOSBilling
import BridgeOSCore
import BridgeOSDashboard
import BridgeOSFlows
import BridgeOSOperations
import BridgeOSRelay
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import BridgeOSWeb
import CoreMetrics
import Prometheus
import Foundation
import Logging
import ServiceLifecycle

/// The appliance, built from configuration in one place: the five slots (pollers, senders), the intake
/// with the conversation flows and the relay, the job runner, retention and the HTTP side. `serve`, the
/// benchmarks and `demo` all build it here (`launch` adds what a process owns: the lock, the database, the
/// HTTP client), so none of them can drift from production.
public struct Appliance: Sendable {
    public let database: AppDatabase
    public let runtime: Runtime
    /// The metrics registry `/metrics` serves.
    public let metrics: ApplianceMetrics
    /// Translation health, for the dashboard and the alerts.
    public let health: ApplianceHealth
    public let alerts: AlertService
    /// The HTTP routes the server serves (health, readiness, metrics, the dashboard, webhooks, the caller's).
    public let routes: [any WebRoutes]
    /// Everything to run, for one `ServiceGroup`.
    public let services: [ServiceGroupConfiguration.ServiceConfiguration]

    /// Why the configuration cannot make an appliance.
    public enum BuildError: Error, CustomStringConvertible {
        case noBots
        case translatorNeedsKey(String)
        case dashboard(String)

        public var description: String {
            switch self {
            case .noBots: "no bot configured: set BRIDGEOS_BOT1_TOKEN (and up to BRIDGEOS_BOT5_TOKEN) to tokens from @BotFather"
            case let .translatorNeedsKey(problems): "translation is configured without what it needs: \(problems)"
            case let .dashboard(reason): "the dashboard's templates did not load: \(reason)"
            }
        }
    }

    /// Checks what `build` needs of the configuration, before anything is opened or created.
    public static func validate(_ configuration: AppConfiguration) throws(BuildError) {
        guard configuration.botTokens.contains(where: { BotSlot($0.key) != nil && BotToken($0.value) != nil }) else { throw .noBots }
        let problems = configuration.translation.problems
        if !problems.isEmpty { throw .translatorNeedsKey(problems.joined(separator: "; ")) }
    }

    /// Builds the appliance over an open database and a shared HTTP client (both owned by the caller).
    /// - Parameter onListening: told the HTTP port once the server listens (0 in the configuration picks one).
    public static func build(
        configuration: AppConfiguration, database: AppDatabase, httpClient: HTTPClient, localizer: Localizer,
        metrics: ApplianceMetrics = ApplianceMetrics(), alertProbes: AlertService.Probes? = nil, logger: Logger,
        routes: [any WebRoutes] = [], webhookTimings: WebhookTimings = WebhookTimings(), onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws(BuildError) -> Appliance {
        let health = ApplianceHealth()
        var tokens: [BotSlot: BotToken] = [:]
        for (number, value) in configuration.botTokens {
            if let slot = BotSlot(number), let token = BotToken(value) { tokens[slot] = token }
        }
        try validate(configuration)
        var localizedCommands: [String: [BotCommand]] = [:]
        for language in Language.all { localizedCommands[language.code] = BotCommands.list(localizer, language: language.code) }
        let settings = Runtime.Settings(
            tokens: tokens,
            api: BotAPIConfiguration(baseURL: configuration.telegramAPIURL),
            poller: PollerConfiguration(
                pollTimeout: configuration.pollTimeout, maxUpdateAttempts: configuration.updateMaxAttempts,
                commands: BotCommands.list(localizer, language: "en"), localizedCommands: localizedCommands,
                webhookBaseURL: configuration.webhook ? configuration.publicURL : nil, webhookTimings: webhookTimings),
            sender: SenderConfiguration(limits: RateLimits(
                perBot: .init(perSecond: configuration.ratePerBot, burst: max(1, configuration.ratePerBot)),
                perChat: .init(perSecond: configuration.ratePerChat, burst: 3),
                perGroup: .init(perSecond: configuration.ratePerGroupPerMinute / 60, burst: 3))))
        let relaySettings = RelaySettings(
            freeMessages: configuration.freeMessages, unlimitedUsers: configuration.testUserIDs,
            hourlyCap: configuration.relayHourlyCap, contextMessages: configuration.contextMessages)
        var relay: any RelayHandler = UnavailableRelay()
        let summarizer = TranslationProviders.summarizer(configuration.translation, httpClient: httpClient, logger: logger)
        let work = WorkSettings(confirmationReminder: TimeInterval(configuration.confirmReminderMinutes * 60), summariesAvailable: summarizer != nil)
        // Reminders and summaries run whatever the translator: what was queued before a restart without one
        // still finds its handler.
        let translator = TranslationProviders.chain(configuration.translation, httpClient: httpClient, metrics: metrics.factory, logger: logger)
        let billing = configuration.business
        let business = BusinessSettings(freeMessages: configuration.freeMessages, checkoutAvailable: billing.checkoutConfigured,
                                        referralReward: billing.referralReward, adminIDs: billing.adminIDs)
        var workHandlers: [any JobHandler] = [
            TaskReminderJobHandler(localizer: localizer), ReceiptFollowUpJobHandler(localizer: localizer, settings: work),
            DailySummaryJobHandler(database: database, summarizer: summarizer, localizer: localizer, logger: logger),
            // Feedback travels with or without a translator (untranslated, then).
            FeedbackNoticeJobHandler(database: database, translator: translator, localizer: localizer, admins: billing.adminIDs, logger: logger),
            FeedbackAnswerJobHandler(database: database, translator: translator, localizer: localizer, logger: logger),
        ]
        if billing.checkoutConfigured {
            let checkouts = LemonSqueezyCheckouts(
                configuration: LemonSqueezyConfiguration(apiURL: billing.lemonSqueezyAPIURL, apiKey: billing.lemonSqueezyAPIKey,
                                                         storeID: billing.lemonSqueezyStoreID, variantID: billing.lemonSqueezyVariantID),
                httpClient: httpClient, logger: logger)
            workHandlers.append(CheckoutJobHandler(database: database, checkouts: checkouts, localizer: localizer,
                                                   freeMessages: configuration.freeMessages, logger: logger))
        }
        var makeJobHandlers: ((RuntimeSignals) -> [any JobHandler]) = { [workHandlers] _ in workHandlers }
        // Voice messages are fetched through the bot they came by, and transcribed when a transcriber is configured.
        let voice = TranslationProviders.transcriber(configuration.translation, httpClient: httpClient, logger: logger).map { transcriber in
            VoiceTranscription(transcriber: transcriber,
                               files: BotVoiceFiles(clients: tokens.mapValues { BotAPIClient(token: $0, httpClient: httpClient, configuration: settings.api, logger: logger) }),
                               database: database, logger: logger)
        }
        if let translator {
            relay = TranslationRelay(settings: relaySettings)
            makeJobHandlers = { [workHandlers] signals in
                RelayJobs.handlers(database: database, translator: translator, localizer: localizer, settings: relaySettings, signals: signals,
                                 metrics: metrics.factory, health: health, voice: voice, logger: logger) + workHandlers
            }
        } else {
            logger.notice("no translator configured (BRIDGEOS_TRANSLATOR=none): connected people are told translation is off")
        }
        let notices = CounterpartNotices(localizer: localizer)
        let runtime = Runtime(database: database, httpClient: httpClient, settings: settings,
                              handler: CompositeHandler([ConversationRouter(localizer: localizer, relay: relay, work: work, business: business), notices]),
                              makeJobHandlers: makeJobHandlers, observer: notices, metrics: metrics.factory, logger: logger)
        let slots = tokens.keys.sorted()
        // A long poll answers within the poll timeout (a webhook is checked every interval); a slot silent for
        // that plus two minutes has stopped.
        let staleAfter = configuration.webhook ? webhookTimings.checkInterval.seconds + 120 : TimeInterval(configuration.pollTimeout + 120)
        var webRoutes: [any WebRoutes] = [
            HealthController(database: database, status: runtime.status),
            ReadinessController(database: database, status: runtime.status, slots: slots, staleAfter: staleAfter, logger: logger),
            MetricsController(database: database, metrics: metrics, logger: logger),
        ]
        if let webhooks = runtime.webhooks { webRoutes.append(TelegramWebhookController(receiver: webhooks)) }
        do {
            webRoutes.append(try Dashboard(
                database: database, status: runtime.status, health: health, intake: runtime.intake,
                settings: DashboardSettings(publicURL: configuration.dashboardBaseURL, databasePath: configuration.databasePath,
                                            backupDirectory: configuration.backupDirectory, dataDirectory: configuration.dataDirectory,
                                            slots: slots, started: database.clock.now()),
                logger: logger))
        } catch {
            throw .dashboard("\(error)")
        }
        let alerts = AlertService(
            database: database, intake: runtime.intake, status: runtime.status, health: health, localizer: localizer,
            settings: AlertService.Settings(admins: billing.adminIDs, slots: slots, slotStaleAfter: staleAfter,
                                            dashboardURL: configuration.dashboardBaseURL + "/admin"),
            probes: alertProbes ?? .live(dataDirectory: configuration.dataDirectory, backupDirectory: configuration.backupDirectory),
            logger: logger)
        if !billing.lemonSqueezyWebhookSecret.isEmpty {
            webRoutes.append(LemonSqueezyWebhookController(
                secret: billing.lemonSqueezyWebhookSecret, events: BillingEvents(localizer: localizer, freeMessages: configuration.freeMessages),
                intake: runtime.intake, logger: logger))
        }
        let web = WebServer.application(
            host: configuration.httpHost, port: configuration.httpPort, routes: webRoutes + routes, logger: logger, onListening: onListening)
        let retention = RetentionService(
            database: database, settings: RetentionService.Settings(messageRetentionDays: configuration.messageRetentionDays),
            observer: notices, bots: runtime.directory, signals: runtime.signals, logger: logger)
        return Appliance(database: database, runtime: runtime, metrics: metrics, health: health, alerts: alerts, routes: webRoutes + routes,
                         services: runtime.services + [
            // A failing service stops the others gracefully: cancelling the web server while a connection is
            // accepted but not yet taken traps in SwiftNIO, and graceful lets in-flight requests finish.
            .init(service: web),
            .init(service: retention, failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: BackupService(configuration: configuration, logger: logger), failureTerminationBehavior: .gracefullyShutdownGroup),
            .init(service: alerts, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
        ])
    }
}
