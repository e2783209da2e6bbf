import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import Synchronization

/// Signals that wake the senders and the job runner when a transaction commits new work.
public final class RuntimeSignals: Sendable {
    private let outboxBySlot: [BotSlot: Wakeup]
    private let reloads = Mutex<Set<BotSlot>>([])
    /// Slots whose senders were told that rows were queued (and must read the store on their next pass).
    private let arrivals = Mutex<Set<BotSlot>>(Set(BotSlot.all))
    public let jobs = Wakeup()

    public init() {
        outboxBySlot = Dictionary(uniqueKeysWithValues: BotSlot.all.map { ($0, Wakeup()) })
    }

    /// The wakeup of `slot`'s sender (the sender's own passes; rows queued go through `rowsQueued`).
    func outbox(_ slot: BotSlot) -> Wakeup { outboxBySlot[slot]! }

    /// Rows were queued for `slot`'s sender: its next pass reads the store.
    public func rowsQueued(_ slot: BotSlot) {
        arrivals.withLock { _ = $0.insert(slot) }
        outboxBySlot[slot]!.signal()
    }

    /// Every sender reads the store on its next pass; the job runner looks too.
    public func wakeAll() {
        arrivals.withLock { $0.formUnion(BotSlot.all) }
        for wakeup in outboxBySlot.values { wakeup.signal() }
        jobs.signal()
    }

    /// Rows older than the newest one `slot`'s sender has seen became open again (held rows queued again):
    /// its next pass reads all open rows.
    public func requestReload(_ slot: BotSlot) {
        reloads.withLock { _ = $0.insert(slot) }
        outboxBySlot[slot]!.signal()
    }

    /// Whether a reload was requested since the last call.
    public func takeReload(_ slot: BotSlot) -> Bool {
        reloads.withLock { $0.remove(slot) != nil }
    }

    /// Whether rows were queued for `slot` since the last call (a pass woken only by the sender's own
    /// finished calls has nothing new to read).
    func takeArrivals(_ slot: BotSlot) -> Bool {
        arrivals.withLock { $0.remove(slot) != nil }
    }
}

/// Handles updates exactly once: the update log, the handler's effects and the work they queue commit
/// together, or not at all.
public final class Intake: Sendable {
    public enum Outcome: Equatable, Sendable {
        case handled
        /// Handled (or given up) before: nothing was done again.
        case duplicate
    }

    let database: AppDatabase
    let handler: any UpdateHandler
    let signals: RuntimeSignals
    let observer: (any DeliveryObserver)?
    let bots: @Sendable () -> [BotSlot: BotInfo]
    let logger: Logger
    let metrics: RuntimeMetrics

    public init(database: AppDatabase, handler: any UpdateHandler, signals: RuntimeSignals, observer: (any DeliveryObserver)? = nil,
                bots: @escaping @Sendable () -> [BotSlot: BotInfo], metrics: RuntimeMetrics = RuntimeMetrics(),
                logger: Logger = Logger(label: "bridgeos.intake")) {
        self.logger = logger
        self.metrics = metrics
        self.database = database
        self.handler = handler
        self.signals = signals
        self.observer = observer
        self.bots = bots
    }

    public func process(_ update: Update, slot: BotSlot) throws -> Outcome {
        let now = database.clock.now()
        let bots = bots()
        let signals = signals
        let observer = observer
        let outcome: Outcome = try metrics.timedWrite("update") {
            try database.write { tx in
                if let record = try tx.updateRecord(slot: slot, updateID: update.updateID), record.status != .failing {
                    return .duplicate
                }
                if let reason = update.implausibility {
                    logger.warning("update set aside: Telegram could not have sent it", metadata: ["update": "\(update.updateID)", "reason": "\(reason)"])
                    try tx.markUpdateHandled(slot: slot, updateID: update.updateID, kind: update.kindName, now: now)
                    return .handled
                }
                let context = IntakeContext(tx: tx, now: now, slot: slot, bots: bots, observer: observer)
                try handler.handle(update, context: context)
                try tx.markUpdateHandled(slot: slot, updateID: update.updateID, kind: update.kindName, now: now)
                context.finish(signals: signals, logger: logger, ["update": "\(update.updateID)"])
                return .handled
            }
        }
        if outcome == .handled { metrics.updateHandled(slot) }
        return outcome
    }

    /// Handles an event from outside Telegram (a payment provider's webhook) the way an update is handled:
    /// what `body` writes and the messages it queues commit together, and the senders it gave work are woken.
    public func external<T: Sendable>(_ body: @escaping @Sendable (IntakeContext) throws -> T) async throws -> T {
        let now = database.clock.now()
        let bots = bots()
        let (signals, observer, logger) = (signals, observer, logger)
        return try await metrics.timedWrite("external") {
            try await database.write { tx in
                let context = IntakeContext(tx: tx, now: now, slot: nil, bots: bots, observer: observer)
                let result = try body(context)
                context.finish(signals: signals, logger: logger)
                return result
            }
        }
    }

    /// Counts a failed attempt at handling `update` (after its transaction rolled back). When it is the
    /// last one, the update is recorded as failed and its sender is told, in the same transaction.
    public func recordFailure(_ update: Update, slot: BotSlot, error: String, maxAttempts: Int) throws -> UpdateRecord {
        let now = database.clock.now()
        let bots = bots()
        let (signals, observer, handler, logger) = (signals, observer, handler, logger)
        return try database.write { tx in
            let record = try tx.recordUpdateFailure(slot: slot, updateID: update.updateID, kind: update.kindName, error: error,
                                                    maxAttempts: maxAttempts, now: now)
            guard record.status == .failed else { return record }
            let context = IntakeContext(tx: tx, now: now, slot: slot, bots: bots, observer: observer)
            // The answer must not keep the failure from being recorded: it goes in a savepoint of its own.
            do {
                try tx.savepoint { try handler.updateFailed(update, context: context) }
            } catch {
                // The failure is recorded all the same; the answer is what is lost.
                logger.error("cannot answer an update given up on", metadata: ["update": "\(update.updateID)", "error": "\(error)"])
            }
            context.finish(signals: signals, logger: logger, ["update": "\(update.updateID)"])
            return record
        }
    }
}

extension Update {
    /// The update's field name, for the update log and logs.
    public var kindName: String {
        switch kind {
        case .message: "message"
        case .editedMessage: "edited_message"
        case .callbackQuery: "callback_query"
        case .myChatMember: "my_chat_member"
        case .messageReaction: "message_reaction"
        case let .unsupported(name): name
        case let .undecodable(name, _): name
        }
    }
}

/// Runs several handlers in order, in the same transaction.
public struct CompositeHandler: UpdateHandler {
    let handlers: [any UpdateHandler]

    public init(_ handlers: [any UpdateHandler]) { self.handlers = handlers }

    public func handle(_ update: Update, context: IntakeContext) throws {
        for handler in handlers { try handler.handle(update, context: context) }
    }

    public func updateFailed(_ update: Update, context: IntakeContext) throws {
        for handler in handlers { try handler.updateFailed(update, context: context) }
    }
}

/// Keeps `bot_chats` and `unreachable_chats` in step with what users do: writing to a bot, pressing its
/// buttons or unblocking it means the bot may write to that chat (and what was held for it goes out, in
/// order); blocking it means it may not.
public struct ReachabilityTracker: UpdateHandler {
    public init() {}

    public func handle(_ update: Update, context: IntakeContext) throws {
        guard let slot = context.slot else { return }
        switch update.kind {
        case let .myChatMember(change) where change.chat.type == .private:
            switch change.newChatMember.status {
            case .kicked:
                try context.tx.holdChat(slot: slot, chatID: change.chat.id, reason: .blocked,
                                        error: "the user blocked the bot", now: context.now)
            case .member:
                try opened(slot: slot, userID: change.chat.id, context: context)
            default:
                break
            }
        case let .message(message) where message.chat.type == .private:
            guard let from = message.from, !from.isBot else { return }
            try opened(slot: slot, userID: message.chat.id, context: context)
        case let .callbackQuery(query):
            try opened(slot: slot, userID: query.from.id, context: context)
        default:
            break
        }
    }

    /// An update given up on still shows that its sender uses this bot (so the answer to it can go out).
    public func updateFailed(_ update: Update, context: IntakeContext) throws {
        try handle(update, context: context)
    }

    private func opened(slot: BotSlot, userID: Int64, context: IntakeContext) throws {
        try context.tx.recordBotChat(slot: slot, user: userID, now: context.now)
        try context.chatReachable(slot: slot, chatID: userID)
    }
}
