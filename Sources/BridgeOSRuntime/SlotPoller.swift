import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

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

    public init(pollTimeout: Int = 50, maxUpdateAttempts: Int = 5, updateRetry: Backoff = Backoff(base: .milliseconds(200), cap: .seconds(5)),
                pollRetry: Backoff = Backoff(base: .seconds(1), cap: .seconds(60)), commands: [BotCommand] = [],
                localizedCommands: [String: [BotCommand]] = [:]) {
        self.localizedCommands = localizedCommands
        self.pollTimeout = min(max(pollTimeout, 0), 50)
        self.maxUpdateAttempts = max(1, maxUpdateAttempts)
        self.updateRetry = updateRetry
        self.pollRetry = pollRetry
        self.commands = commands
    }
}

/// What each slot is doing, for `/healthz` and logs.
public final class SlotStatusBoard: Sendable {
    public enum State: String, Sendable, Codable {
        case starting, polling
        /// Another process polls this token (409): backing off.
        case conflict
        /// Telegram cannot be reached: retrying.
        case retrying
        /// The token was refused (401): this slot is off until restart.
        case unauthorized
        case stopped
    }

    public struct Slot: Sendable, Codable, Equatable {
        public var state: State
        public var username: String?
        public var lastError: String?
        /// When a poll last succeeded (an answer from Telegram to getUpdates, updates or none).
        public var lastPollAt: Date?
    }

    private let slots = Mutex<[BotSlot: Slot]>([:])

    public init() {}

    public func set(_ slot: BotSlot, _ state: State, error: String? = nil) {
        slots.withLock { slots in
            slots[slot, default: Slot(state: state)].state = state
            slots[slot]?.lastError = error
        }
    }

    /// A poll succeeded: polling, and when.
    public func polled(_ slot: BotSlot, at date: Date) {
        slots.withLock { slots in
            slots[slot, default: Slot(state: .polling)].state = .polling
            slots[slot]?.lastError = nil
            slots[slot]?.lastPollAt = date
        }
    }

    public func setBot(_ slot: BotSlot, _ info: BotInfo) {
        slots.withLock { $0[slot, default: Slot(state: .starting)].username = info.username }
    }

    public var all: [BotSlot: Slot] { slots.withLock { $0 } }
}

/// One bot's long-poll loop: start-up calls, then updates in order through the intake, confirming only
/// what was handled (or given up on).
public final class SlotPoller: Service, Sendable {
    let slot: BotSlot
    let metrics: RuntimeMetrics
    let api: any TelegramBotAPI
    let intake: Intake
    let database: AppDatabase
    let configuration: PollerConfiguration
    let status: SlotStatusBoard
    let directory: BotDirectory
    let logger: Logger

    public init(slot: BotSlot, api: any TelegramBotAPI, intake: Intake, database: AppDatabase, configuration: PollerConfiguration,
                status: SlotStatusBoard, directory: BotDirectory, metrics: RuntimeMetrics = RuntimeMetrics(), logger: Logger) {
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
    }

    public func run() async throws {
        status.set(slot, .starting)
        guard await startUp() else { return }
        await withDiscardingTaskGroup { group in
            // Commands are set in the background: polling does not wait for them, and a 429 there delays
            // only the commands still to set.
            group.addTask { await self.setCommands() }
            await poll()
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

    /// getMe (the username is needed for invite links) and deleteWebhook (we poll). Retries network
    /// failures and honours 429s; returns false when the token is refused or on shutdown.
    func startUp() async -> Bool {
        var attempt = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            attempt += 1
            do {
                let me = try await api.call(GetMe())
                directory.set(slot, me)
                status.setBot(slot, me)
                _ = try await api.call(DeleteWebhook())
                logger.info("bot ready", metadata: ["username": "\(me.username)"])
                return true
            } catch TelegramError.unauthorized {
                logger.error("Telegram refused BRIDGEOS_BOT\(slot.number)_TOKEN (401): this slot is off; the other slots keep running")
                status.set(slot, .unauthorized, error: "token refused")
                return false
            } catch {
                logger.warning("cannot reach Telegram at start, retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
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

    /// Handles one update, retrying failures. A failing store (busy, full, read-only) is waited out for as
    /// long as it lasts, without counting: the update is not confirmed meanwhile. A handler that keeps
    /// failing on this update gives it up after `maxUpdateAttempts`, recorded as failed (and its sender told)
    /// so it can be confirmed. Returns false only on shutdown before the update was settled.
    func handle(_ update: Update) async -> Bool {
        var attempt = 0
        var storeFailures = 0
        /// The store failed (while handling, or while recording a failure): wait, then try the update again.
        func waitForStore(_ what: String, _ error: any Error) async -> Bool {
            storeFailures += 1
            if storeFailures == 1 || storeFailures % 20 == 0 {
                logger.error("cannot \(what); the update waits (not confirmed) until it can", metadata: [
                    "update": "\(update.updateID)", "error": "\(error)", "attempt": "\(storeFailures)",
                ])
            }
            await pause(Backoff(base: configuration.updateRetry.base, cap: .seconds(10)).delay(afterAttempt: storeFailures))
            return !Task.isShuttingDownGracefully && !Task.isCancelled
        }
        while true {
            do {
                let outcome = try intake.process(update, slot: slot)
                if outcome == .duplicate {
                    logger.debug("update already handled", metadata: ["update": "\(update.updateID)"])
                }
                if storeFailures > 0 { logger.notice("the database works again; handling updates", metadata: ["update": "\(update.updateID)"]) }
                return true
            } catch let error where StoreFailure.isEnvironmental(error) {
                guard await waitForStore("write the database", error) else { return false }
            } catch {
                attempt += 1
                let description = String(describing: error)
                let record: UpdateRecord
                do {
                    record = try intake.recordFailure(update, slot: slot, error: description, maxAttempts: configuration.maxUpdateAttempts)
                } catch {
                    // The failure cannot be recorded either (the store fails).
                    guard await waitForStore("record a failed update", error) else { return false }
                    continue
                }
                if record.status == .failed {
                    logger.error("giving up on an update after repeated failures; its sender is told, and it is confirmed so the bot goes on", metadata: [
                        "update": "\(update.updateID)", "kind": "\(update.kindName)", "attempts": "\(record.attempts)", "error": "\(description)",
                    ])
                    return true
                }
                logger.warning("handling an update failed, retrying", metadata: ["update": "\(update.updateID)", "error": "\(description)"])
                await pause(configuration.updateRetry.delay(afterAttempt: attempt))
                if Task.isShuttingDownGracefully || Task.isCancelled { return false }
            }
        }
    }

    /// Sleeps, ending early on shutdown.
    private func pause(_ duration: Duration) async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}

/// The bots that run, by slot, as `getMe` described them.
public final class BotDirectory: Sendable {
    private let bots = Mutex<[BotSlot: BotInfo]>([:])

    public init() {}

    public func set(_ slot: BotSlot, _ info: BotInfo) { bots.withLock { $0[slot] = info } }
    public var all: [BotSlot: BotInfo] { bots.withLock { $0 } }
}
