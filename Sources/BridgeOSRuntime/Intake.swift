import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import GRDB
import Logging

/// Handles one update inside the intake transaction: reads and writes the store through `context.db`, and
/// queues replies and slow work through `context`. Throwing rolls everything back; the update is retried.
public protocol UpdateHandler: Sendable {
    func handle(_ update: Update, context: IntakeContext) throws
}

/// What a handler may do while its update's transaction is open.
public final class IntakeContext {
    public let db: Database
    public let now: Date
    /// The bot slot the update came in on (nil when a job completes).
    public let slot: BotSlot?
    /// The bots that run, by slot (usernames for links).
    public let bots: [BotSlot: BotInfo]
    private(set) var queuedWork = false

    init(db: Database, now: Date, slot: BotSlot?, bots: [BotSlot: BotInfo]) {
        self.db = db
        self.now = now
        self.slot = slot
        self.bots = bots
    }

    /// Queues a Bot API call to `chatID` through `slot`'s bot (default: the bot the update came in on).
    /// Long `sendMessage` texts become several messages. Returns the rows, in sending order.
    @discardableResult
    public func send<Method: TelegramMethod>(
        _ method: Method, chatID: Int64, slot: BotSlot? = nil, lane: OutboxLane = .chat, isGroup: Bool = false,
        after dependency: (row: Int64, field: String)? = nil
    ) throws -> [OutboxRow] {
        guard let slot = slot ?? self.slot else {
            throw DomainError.invalidInput("a job must name the bot slot it sends through")
        }
        queuedWork = true
        return try OutboxWriter.rows(
            for: method, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency
        ).map { try OutboxRepository.insert($0, now: now, db) }
    }

    /// Queues slow work; jobs with the same `queueKey` run one after another, in order.
    @discardableResult
    public func enqueueJob<Payload: Encodable>(kind: String, queueKey: String, payload: Payload) throws -> JobRow {
        queuedWork = true
        let data = try JSONEncoder().encode(payload)
        return try JobRepository.insert(kind: kind, queueKey: queueKey, payload: String(decoding: data, as: UTF8.self), now: now, db)
    }
}

/// Turns typed Bot API calls into outbox rows.
public enum OutboxWriter {
    public static func rows<Method: TelegramMethod>(
        for method: Method, slot: BotSlot, chatID: Int64, lane: OutboxLane, isGroup: Bool,
        dependency: (row: Int64, field: String)?
    ) throws -> [NewOutboxRow] {
        if let message = method as? SendMessage, message.text.utf16.count > 4096 {
            // Several messages: the keyboard goes on the last, the reply thread on the first.
            let parts = TextSplitter.split(message.text, entities: message.entities)
            return try parts.enumerated().map { index, part in
                var piece = message
                piece.text = part.text
                piece.entities = part.entities
                if index > 0 { piece.replyParameters = nil }
                if index < parts.count - 1 { piece.replyMarkup = nil }
                return try row(piece, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: index == 0 ? dependency : nil)
            }
        }
        return [try row(method, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency)]
    }

    private static func row<Method: TelegramMethod>(
        _ method: Method, slot: BotSlot, chatID: Int64, lane: OutboxLane, isGroup: Bool, dependency: (row: Int64, field: String)?
    ) throws -> NewOutboxRow {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let payload = String(decoding: try encoder.encode(method), as: UTF8.self)
        // Group and channel ids are negative: they get the group rate whatever the caller said.
        return NewOutboxRow(
            slot: slot, chatID: chatID, method: method.methodName, payload: payload, lane: lane, isGroup: isGroup || chatID < 0,
            dependsOn: dependency?.row, dependsOnField: dependency?.field)
    }
}

/// Signals that wake the senders and the job runner when a transaction commits new work.
public final class RuntimeSignals: Sendable {
    private let outboxBySlot: [BotSlot: Wakeup]
    public let jobs = Wakeup()

    public init() {
        outboxBySlot = Dictionary(uniqueKeysWithValues: BotSlot.all.map { ($0, Wakeup()) })
    }

    /// The wakeup of `slot`'s sender.
    public func outbox(_ slot: BotSlot) -> Wakeup { outboxBySlot[slot]! }

    public func wakeAll() {
        for wakeup in outboxBySlot.values { wakeup.signal() }
        jobs.signal()
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
    let bots: @Sendable () -> [BotSlot: BotInfo]

    public init(database: AppDatabase, handler: any UpdateHandler, signals: RuntimeSignals, bots: @escaping @Sendable () -> [BotSlot: BotInfo]) {
        self.database = database
        self.handler = handler
        self.signals = signals
        self.bots = bots
    }

    public func process(_ update: Update, slot: BotSlot) throws -> Outcome {
        let now = database.clock.now()
        let bots = bots()
        let signals = signals
        return try database.writer.write { db in
            if let record = try UpdateLog.find(slot: slot, updateID: update.updateID, db), record.status != .failing {
                return .duplicate
            }
            let context = IntakeContext(db: db, now: now, slot: slot, bots: bots)
            try handler.handle(update, context: context)
            try UpdateLog.markHandled(slot: slot, updateID: update.updateID, kind: update.kindName, now: now, db)
            if context.queuedWork {
                db.afterNextTransaction(onCommit: { _ in signals.wakeAll() })
            }
            return .handled
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
}

/// Keeps `unreachable_chats` in step with what users do: blocking a bot makes the chat unreachable,
/// unblocking or writing to it again makes it reachable.
public struct ReachabilityTracker: UpdateHandler {
    public init() {}

    public func handle(_ update: Update, context: IntakeContext) throws {
        guard let slot = context.slot else { return }
        switch update.kind {
        case let .myChatMember(change) where change.chat.type == .private:
            if change.newChatMember.status == .kicked {
                try OutboxRepository.markUnreachable(slot: slot, chatID: change.chat.id, reason: .blocked, now: context.now, context.db)
            } else if change.newChatMember.status == .member {
                try OutboxRepository.markReachable(slot: slot, chatID: change.chat.id, context.db)
            }
        case let .message(message) where message.chat.type == .private:
            try OutboxRepository.markReachable(slot: slot, chatID: message.chat.id, context.db)
        default:
            break
        }
    }
}

/// Told when a send finds that a chat cannot be reached (a 403), inside the transaction that records it.
public protocol UnreachableObserver: Sendable {
    func chatBecameUnreachable(slot: BotSlot, chatID: Int64, now: Date, db: Database) throws
}
