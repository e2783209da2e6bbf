import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Webhook mode's pace: how often the webhook is checked, how long a delivery waits out a failing database.
public struct WebhookTimings: Sendable {
    public var checkInterval: Duration
    public var storePatience: Duration

    public init(checkInterval: Duration = .seconds(60), storePatience: Duration = .seconds(20)) {
        self.checkInterval = checkInterval
        self.storePatience = storePatience
    }
}

public struct PollerConfiguration: Sendable {
    /// Long-poll seconds (Telegram allows up to 50).
    public var pollTimeout: Int
    /// Attempts at handling one update before it is recorded as failed and confirmed.
    public var maxUpdateAttempts: Int
    /// Waits between handling attempts of one update.
    public var updateRetry: Backoff
    /// Waits after failed polls (network, 5xx, 409).
    public var pollRetry: Backoff
    /// Commands registered with `setMyCommands` at start (the default list).
    public var commands: [BotCommand]
    /// The same commands per Telegram language code, for users whose app is in that language.
    public var localizedCommands: [String: [BotCommand]]
    /// Webhook mode: the public https address Telegram posts to (`<base>/telegram/<slot>`); nil: polling.
    public var webhookBaseURL: String?
    /// Webhook mode: how often Telegram is asked whether the webhook still points here (`getWebhookInfo`), and
    /// how long a delivery waits out a failing database before it is answered 503 (Telegram delivers it again).
    public var webhookTimings: WebhookTimings

    public init(pollTimeout: Int = 50, maxUpdateAttempts: Int = 5, updateRetry: Backoff = Backoff(base: .milliseconds(200), cap: .seconds(5)),
                pollRetry: Backoff = Backoff(base: .seconds(1), cap: .seconds(60)), commands: [BotCommand] = [],
                localizedCommands: [String: [BotCommand]] = [:], webhookBaseURL: String? = nil, webhookTimings: WebhookTimings = WebhookTimings()) {
        self.webhookBaseURL = webhookBaseURL
        self.webhookTimings = webhookTimings
        self.localizedCommands = localizedCommands
        self.pollTimeout = min(max(pollTimeout, 0), 50)
        self.maxUpdateAttempts = max(1, maxUpdateAttempts)
        self.updateRetry = updateRetry
        self.pollRetry = pollRetry
        self.commands = commands
    }
}

/// One bot's long-poll loop: start-up calls, then updates in order through the intake, confirming only
/// what was handled (or given up on). In webhook mode it sets the webhook instead and watches it; the
/// updates then arrive through `WebhookReceiver`.
public final class SlotPoller: Service, Sendable {
    let slot: BotSlot
    let metrics: RuntimeMetrics
    let api: any TelegramBotAPI
    let intake: Intake
    let database: AppDatabase
    let configuration: PollerConfiguration
    let status: SlotStatusBoard
    let directory: BotDirectory
    let webhooks: WebhookReceiver?
    let settler: UpdateSettler
    let logger: Logger

    public init(slot: BotSlot, api: any TelegramBotAPI, intake: Intake, database: AppDatabase, configuration: PollerConfiguration,
                status: SlotStatusBoard, directory: BotDirectory, webhooks: WebhookReceiver? = nil, metrics: RuntimeMetrics = RuntimeMetrics(),
                logger: Logger) {
        self.webhooks = webhooks
        self.metrics = metrics
        self.slot = slot
        self.api = api
        self.intake = intake
        self.database = database
        self.configuration = configuration
        self.status = status
        self.directory = directory
        var logger = logger
        logger[metadataKey: "slot"] = "\(slot.number)"
        self.logger = logger
        settler = UpdateSettler(intake: intake, configuration: configuration, logger: logger)
    }

    public func run() async throws {
        status.set(slot, .starting)
        guard await startUp() else { return }
        await withDiscardingTaskGroup { group in
            // Commands are set in the background: polling does not wait for them, and a 429 there delays
            // only the commands still to set.
            group.addTask { await self.setCommands() }
            if let url = webhookURL { await watchWebhook(url: url) } else { await poll() }
            group.cancelAll()
        }
    }

    func poll() async {
        var offset: Int64?
        var failures = 0
        var inConflict = false
        // The first poll returns at once: the slot counts as polling only once Telegram has answered a
        // getUpdates (not while another instance holds the token, 409), without waiting a long poll out.
        var first = true
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let updates: [Update]
            do {
                let poll = GetUpdates(offset: offset, limit: 100, timeout: first ? 0 : configuration.pollTimeout)
                first = false
                updates = try await cancelWhenGracefulShutdown { try await self.api.call(poll) }
                failures = 0
                if inConflict { logger.notice("polling again: the other instance is gone") }
                inConflict = false
                status.polled(slot, at: database.clock.now())
            } catch is CancellationError {
                break
            } catch let error as TelegramError {
                failures += 1
                switch error {
                case .conflict:
                    if !inConflict {
                        logger.warning("another process is polling this bot's token (409): is a second BridgeOS running with BRIDGEOS_BOT\(slot.number)_TOKEN? Backing off; the other slots keep running")
                    }
                    inConflict = true
                    status.set(slot, .conflict, error: error.description)
                case .unauthorized:
                    logger.error("Telegram refused BRIDGEOS_BOT\(slot.number)_TOKEN (401): this slot is off until the token is fixed and BridgeOS restarted")
                    status.set(slot, .unauthorized, error: error.description)
                    return
                case let .flood(seconds, _):
                    metrics.flood(slot, polling: true)
                    logger.warning("Telegram asked to slow down polling", metadata: ["retry_after": "\(seconds)"])
                    status.set(slot, .retrying, error: error.description)
                    await pause(.seconds(seconds))
                    continue
                default:
                    logger.warning("polling failed, retrying", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                    status.set(slot, .retrying, error: error.description)
                }
                await pause(configuration.pollRetry.delay(afterAttempt: failures))
                continue
            } catch {
                failures += 1
                logger.warning("polling failed, retrying", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                await pause(configuration.pollRetry.delay(afterAttempt: failures))
                continue
            }
            for update in updates {
                guard await handle(update) else { return }
                offset = update.updateID + 1
            }
        }
        status.set(slot, .stopped)
        // Confirm what was handled, so a restart does not fetch it again (it would be skipped anyway).
        if let offset {
            _ = try? await api.call(GetUpdates(offset: offset, limit: 1, timeout: 0))
        }
    }

    /// getMe (the username is needed for invite links), then setWebhook in webhook mode or deleteWebhook (we
    /// poll; a webhook set before is removed). Retries network failures and honours 429s; returns false when
    /// the token is refused or on shutdown.
    func startUp() async -> Bool {
        var attempt = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            attempt += 1
            do {
                let me = try await api.call(GetMe())
                directory.set(slot, me)
                status.setBot(slot, me)
                if let url = webhookURL {
                    try await setWebhook(url: url, botID: me.id)
                } else {
                    _ = try await api.call(DeleteWebhook())
                }
                logger.info("bot ready", metadata: ["username": "\(me.username)"])
                return true
            } catch TelegramError.unauthorized {
                logger.error("Telegram refused BRIDGEOS_BOT\(slot.number)_TOKEN (401): this slot is off; the other slots keep running")
                status.set(slot, .unauthorized, error: "token refused")
                return false
            } catch let error as TelegramError where webhookURL != nil && !error.isRetryable {
                // Telegram refuses the address (not https, a port it does not deliver to, a host it cannot resolve).
                logger.error("Telegram refuses this slot's webhook address: check BRIDGEOS_PUBLIC_URL and the reverse proxy; retrying",
                             metadata: ["error": "\(error)", "url": "\(webhookURL ?? "")", "attempt": "\(attempt)"])
                status.set(slot, .retrying, error: "setWebhook refused: \(error)")
                await pause(configuration.pollRetry.delay(afterAttempt: attempt))
            } catch {
                logger.warning(webhookURL == nil ? "cannot reach Telegram at start, retrying" : "cannot reach Telegram or set the webhook at start, retrying",
                               metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                status.set(slot, .retrying, error: "\(error)")
                let retryAfter = (error as? TelegramError)?.retryAfter.map { Duration.seconds($0) }
                await pause(retryAfter ?? configuration.pollRetry.delay(afterAttempt: attempt))
            }
        }
        return false
    }

    /// setMyCommands for the default list and each language, each set once: a 429 waits as long as
    /// Telegram asks and retries that call only; other transient failures back off; a refusal is logged.
    func setCommands() async {
        let commandSets: [(String?, [BotCommand])] = [(nil, configuration.commands)]
            + configuration.localizedCommands.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        for (language, commands) in commandSets where !commands.isEmpty {
            var attempt = 0
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                attempt += 1
                do {
                    _ = try await api.call(SetMyCommands(commands, languageCode: language))
                    break
                } catch let error as TelegramError where error.isRetryable {
                    await pause(error.retryAfter.map { .seconds($0) } ?? configuration.pollRetry.delay(afterAttempt: attempt))
                } catch {
                    logger.error("setMyCommands refused", metadata: ["language": "\(language ?? "default")", "error": "\(error)"])
                    break
                }
            }
        }
    }

    /// Handles one update, retrying failures (see `UpdateSettler`). Returns false only on shutdown before the
    /// update was settled.
    func handle(_ update: Update) async -> Bool {
        await settler.settle(update, slot: slot) != .unsettled
    }

    /// Sleeps, ending early on shutdown.
    func pause(_ duration: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
