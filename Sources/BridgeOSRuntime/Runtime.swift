import AsyncHTTPClient
import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import CoreMetrics
import Foundation
import Logging
import ServiceLifecycle

/// Everything `bridgeos serve` runs, wired once: a poller and a sender per configured slot, the intake
/// they share, and the job runner. `bridgeos serve` and the tests build it the same way.
public final class Runtime: Sendable {
    public struct Settings: Sendable {
        /// Bot tokens by slot (any non-empty subset of the five).
        public var tokens: [BotSlot: BotToken]
        public var api: BotAPIConfiguration
        public var poller: PollerConfiguration
        public var sender: SenderConfiguration
        public var jobs: JobRunnerConfiguration

        public init(tokens: [BotSlot: BotToken], api: BotAPIConfiguration = BotAPIConfiguration(), poller: PollerConfiguration = PollerConfiguration(),
                    sender: SenderConfiguration = SenderConfiguration(), jobs: JobRunnerConfiguration = JobRunnerConfiguration()) {
            self.tokens = tokens
            self.api = api
            self.poller = poller
            self.sender = sender
            self.jobs = jobs
        }
    }

    public let database: AppDatabase
    public let signals: RuntimeSignals
    public let directory: BotDirectory
    public let status: SlotStatusBoard
    public let intake: Intake
    public let clients: [BotSlot: BotAPIClient]
    /// Webhook mode's receiver (nil: the slots poll).
    public let webhooks: WebhookReceiver?
    let pollers: [SlotPoller]
    let senders: [OutboxSender]
    let jobRunner: JobRunner

    /// - Parameter makeJobHandlers: job handlers that need the runtime's signals (to wake senders themselves).
    public init(database: AppDatabase, httpClient: HTTPClient, settings: Settings, handler: any UpdateHandler,
                jobHandlers: [any JobHandler] = [], makeJobHandlers: ((RuntimeSignals) -> [any JobHandler])? = nil,
                observer: (any DeliveryObserver)? = nil, metrics: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger) {
        self.database = database
        let signals = RuntimeSignals()
        let directory = BotDirectory()
        self.signals = signals
        self.directory = directory
        let status = SlotStatusBoard()
        let runtimeMetrics = RuntimeMetrics(factory: metrics)
        let intake = Intake(database: database, handler: CompositeHandler([ReachabilityTracker(), handler]), signals: signals, observer: observer,
                            bots: { directory.all }, metrics: runtimeMetrics, logger: logger)
        self.status = status
        self.intake = intake
        var clients: [BotSlot: BotAPIClient] = [:]
        for (slot, token) in settings.tokens {
            clients[slot] = BotAPIClient(token: token, httpClient: httpClient, configuration: settings.api, logger: logger)
        }
        self.clients = clients
        let slots = clients.keys.sorted()
        let webhooks = settings.poller.webhookBaseURL.map { _ in
            WebhookReceiver(database: database, botIDs: settings.tokens.mapValues(\.botID), directory: directory,
                            settler: UpdateSettler(intake: intake, configuration: settings.poller, logger: logger),
                            storePatience: settings.poller.webhookTimings.storePatience, metrics: runtimeMetrics, logger: logger)
        }
        self.webhooks = webhooks
        pollers = slots.map { slot in
            SlotPoller(slot: slot, api: clients[slot]!, intake: intake, database: database, configuration: settings.poller,
                       status: status, directory: directory, webhooks: webhooks, metrics: runtimeMetrics, logger: logger)
        }
        senders = slots.map { slot in
            OutboxSender(slot: slot, api: clients[slot]!, database: database, signals: signals,
                         configuration: settings.sender, observer: observer, directory: directory, metrics: runtimeMetrics, logger: logger)
        }
        jobRunner = JobRunner(database: database, handlers: jobHandlers + (makeJobHandlers?(signals) ?? []), signals: signals, bots: directory,
                              observer: observer, configuration: settings.jobs, metrics: metrics, logger: logger)
    }

    /// The services, for one `ServiceGroup`. A slot whose poller or sender stops (its token was refused)
    /// does not stop the others; an unexpected error shuts everything down gracefully.
    public var services: [ServiceGroupConfiguration.ServiceConfiguration] {
        let slotServices: [any Service] = pollers + senders
        return slotServices.map {
            .init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup)
        } + [.init(service: jobRunner, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup)]
    }
}
