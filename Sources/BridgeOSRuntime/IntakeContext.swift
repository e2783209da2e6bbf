import BridgeOSCore
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging

/// Handles one update inside the intake transaction: reads and writes the store through `context.tx`, and
/// queues replies and slow work through `context`. Throwing rolls everything back; the update is retried.
public protocol UpdateHandler: Sendable {
    func handle(_ update: Update, context: IntakeContext) throws
    /// The update could not be handled, attempt after attempt, and is given up: tell its sender (in the
    /// transaction that records it as failed). Default: nothing.
    func updateFailed(_ update: Update, context: IntakeContext) throws
}

extension UpdateHandler {
    public func updateFailed(_ update: Update, context: IntakeContext) throws {}
}

/// Why a row that carries a conversation message will never be delivered.
public enum DeliveryFailure: Sendable, Equatable {
    /// Telegram refused the call for good (a 400: too long, malformed, a message that no longer exists).
    case refused(String)
    /// It failed in a way that is not Telegram's to explain, again and again.
    case gaveUp(String)
    /// The conversation ended (/disconnect, /reset) before it could be delivered.
    case connectionEnded
    /// It was held for a chat that stayed unreachable for the whole retention period.
    case expired(days: Int)

    public var description: String {
        switch self {
        case let .refused(text), let .gaveUp(text): text
        case .connectionEnded: "the connection ended before delivery"
        case let .expired(days): "the chat stayed unreachable for \(days) days"
        }
    }
}

/// Told, inside the transaction that records it, when delivery to a chat stops or a message fails for good.
public protocol DeliveryObserver: Sendable {
    /// A private chat cannot be written to: blocked, never started, deactivated. Called once, when that
    /// becomes known; the chat's rows are held until it can be written to again.
    func chatBecameUnreachable(slot: BotSlot, chatID: Int64, reason: UnreachableReason, context: IntakeContext) throws
    /// A row carrying a conversation message (`row.messageID`) failed for good.
    func deliveryFailed(_ row: OutboxRow, reason: DeliveryFailure, context: IntakeContext) throws
    /// A row carrying a conversation message has been failing for a while (Telegram's 5xx, the network):
    /// it is still retried, and will be for as long as that lasts. Called once per row.
    func deliveryDelayed(_ row: OutboxRow, context: IntakeContext) throws
    /// Telegram took a row queued with `reportDelivery` (`messageIDs`: the messages it made, one per copy for
    /// `copyMessages`), recorded in the same transaction.
    func delivered(_ row: OutboxRow, messageIDs: [Int64], context: IntakeContext) throws
}

extension DeliveryObserver {
    public func deliveryDelayed(_ row: OutboxRow, context: IntakeContext) throws {}
    public func delivered(_ row: OutboxRow, messageIDs: [Int64], context: IntakeContext) throws {}
}

/// What a handler may do while its update's transaction is open.
public final class IntakeContext {
    /// The open transaction: everything the handler reads and writes.
    public let tx: StoreTransaction
    public let now: Date
    /// The bot slot the update came in on (nil when a job completes).
    public let slot: BotSlot?
    /// The bots that run, by slot (usernames for links).
    public let bots: [BotSlot: BotInfo]
    let observer: (any DeliveryObserver)?
    /// Slots whose held rows were queued again: their senders must look at older ids too.
    private(set) var requeuedSlots: Set<BotSlot> = []
    /// Slots whose senders got rows, and whether jobs were queued: only those are woken.
    private(set) var sentSlots: Set<BotSlot> = []
    private(set) var queuedJobs = false
    /// Notices that could not be queued (logged by `finish`).
    public private(set) var noticeErrors: [String] = []

    /// Logs the notices that could not be queued (what they were about was recorded all the same).
    public func logNoticeErrors(_ logger: Logger, _ metadata: Logger.Metadata = [:]) {
        for problem in noticeErrors {
            logger.error("cannot queue a notice", metadata: metadata.merging(["error": "\(problem)"]) { $1 })
        }
    }
    /// How deep notices are nested (a notice whose own chat must be held may notify once more).
    private var notifying = 0

    init(tx: StoreTransaction, now: Date, slot: BotSlot?, bots: [BotSlot: BotInfo], observer: (any DeliveryObserver)? = nil) {
        self.tx = tx
        self.now = now
        self.slot = slot
        self.bots = bots
        self.observer = observer
    }

    /// Queues a Bot API call to `chatID` through `slot`'s bot (default: the bot the update came in on).
    /// Long `sendMessage` texts become several messages; a media copy whose caption is too long goes
    /// without it, followed by the text as a reply. A private chat whose user has not started that bot, or
    /// that cannot be written to, gets its rows held until it can. `messageID` names the conversation message
    /// the call carries. Returns the rows, in sending order.
    @discardableResult
    public func send<Method: TelegramMethod>(
        _ method: Method, chatID: Int64, slot: BotSlot? = nil, lane: OutboxLane = .chat, isGroup: Bool = false,
        after dependency: (row: Int64, field: String)? = nil, messageID: Int64? = nil, reportDelivery: Bool = false
    ) throws -> [OutboxRow] {
        guard let slot = slot ?? self.slot else {
            throw DomainError.invalidInput("a job must name the bot slot it sends through")
        }
        sentSlots.insert(slot)
        let held = lane == .chat && !isGroup && chatID > 0 ? try mustHold(slot: slot, chatID: chatID) : false
        return try OutboxWriter.queue(
            method, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency, messageID: messageID,
            held: held, reportDelivery: reportDelivery, now: now, tx)
    }

    /// Whether rows for this private chat must wait: it is known to be unreachable, or its user never
    /// started this bot (Telegram would refuse, and BridgeOS never writes first).
    private func mustHold(slot: BotSlot, chatID: Int64) throws -> Bool {
        if try tx.unreachableChat(slot: slot, chatID: chatID) != nil { return true }
        if try tx.hasBotChat(slot: slot, user: chatID) { return false }
        if try tx.markUnreachable(slot: slot, chatID: chatID, reason: .notStarted, now: now) {
            try chatBecameUnreachable(slot: slot, chatID: chatID, reason: .notStarted)
        }
        return true
    }

    /// Tells the observer (once per discovery). A notice may cause one more (its own chat never opened);
    /// deeper nesting stops. A notice that cannot be written (other than a failing store) does not undo what
    /// caused it: it runs in a savepoint of its own.
    func chatBecameUnreachable(slot: BotSlot, chatID: Int64, reason: UnreachableReason) throws {
        guard let observer else { return }
        try notify { try observer.chatBecameUnreachable(slot: slot, chatID: chatID, reason: reason, context: self) }
    }

    func deliveryFailed(_ row: OutboxRow, reason: DeliveryFailure) throws {
        guard let observer, row.messageID != nil else { return }
        try notify { try observer.deliveryFailed(row, reason: reason, context: self) }
    }

    func deliveryDelayed(_ row: OutboxRow) throws {
        guard let observer, row.messageID != nil else { return }
        try notify { try observer.deliveryDelayed(row, context: self) }
    }

    func delivered(_ row: OutboxRow, messageIDs: [Int64]) throws {
        guard let observer, row.reportDelivery else { return }
        try notify { try observer.delivered(row, messageIDs: messageIDs, context: self) }
    }

    private func notify(_ body: () throws -> Void) throws {
        guard notifying < 2 else { return }
        notifying += 1
        defer { notifying -= 1 }
        do {
            try tx.savepoint(body)
        } catch let error where StoreFailure.isEnvironmental(error) {
            throw error
        } catch {
            // The notice is lost, not what it is about; the error is kept for the operator's logs.
            noticeErrors.append("\(error)")
        }
    }

    /// The chat can be written to again: its held rows go back in the queue, in order.
    public func chatReachable(slot: BotSlot, chatID: Int64) throws {
        if try tx.markReachable(slot: slot, chatID: chatID, now: now) > 0 {
            requeuedSlots.insert(slot)
        }
    }

    /// Queues slow work; jobs with the same `queueKey` run one after another, in order. `notBefore` delays
    /// it (a reminder): give a delayed job a key of its own, or it holds back every later job of its key.
    @discardableResult
    public func enqueueJob<Payload: Encodable>(kind: String, queueKey: String, payload: Payload, notBefore: Date? = nil) throws -> JobRow {
        queuedJobs = true
        let data = try JSONEncoder().encode(payload)
        return try tx.queueJob(kind: kind, queueKey: queueKey, payload: String(decoding: data, as: UTF8.self), now: now, notBefore: notBefore)
    }

    /// What to wake once the transaction commits.
    var pendingWake: PendingWake { PendingWake(requeuedSlots: requeuedSlots, sentSlots: sentSlots, queuedJobs: queuedJobs) }

    /// Ends the handlers' part of the transaction: logs the notices that could not be queued and, once the
    /// transaction commits, wakes exactly the senders and the job runner it gave work to. Whoever runs a
    /// transaction with a context calls it.
    func finish(signals: RuntimeSignals, logger: Logger, _ metadata: Logger.Metadata = [:]) {
        logNoticeErrors(logger, metadata)
        let wake = pendingWake
        tx.afterCommit { wake.apply(signals) }
    }
}

/// The senders and job runner a committed transaction gave work to: only they are woken (waking all five
/// senders for every commit was a measured cost).
struct PendingWake: Sendable {
    let requeuedSlots: Set<BotSlot>
    let sentSlots: Set<BotSlot>
    let queuedJobs: Bool

    func apply(_ signals: RuntimeSignals) {
        for slot in requeuedSlots { signals.requestReload(slot) }
        for slot in sentSlots.subtracting(requeuedSlots) { signals.rowsQueued(slot) }
        if queuedJobs { signals.jobs.signal() }
    }
}

/// Turns typed Bot API calls into outbox rows.
public enum OutboxWriter {
    /// Telegram's limits, in UTF-16 units.
    public static let textLimit = 4096
    public static let captionLimit = 1024

    struct Planned {
        var row: NewOutboxRow
        /// Sent as a reply to the row planned just before it (its message id goes into `reply_parameters`).
        var repliesToPrevious = false
    }

    /// Inserts the rows for `method` in the caller's transaction, in sending order.
    @discardableResult
    public static func queue<Method: TelegramMethod>(
        _ method: Method, slot: BotSlot, chatID: Int64, lane: OutboxLane = .chat, isGroup: Bool = false,
        dependency: (row: Int64, field: String)? = nil, messageID: Int64? = nil, held: Bool = false, reportDelivery: Bool = false,
        now: Date, _ tx: StoreTransaction
    ) throws -> [OutboxRow] {
        var inserted: [OutboxRow] = []
        let plans = try plan(method, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency)
        for var planned in plans {
            planned.row.messageID = messageID
            planned.row.held = held
            // Every part is reported (where each landed); the message is delivered when its last part is.
            planned.row.reportDelivery = reportDelivery
            if planned.repliesToPrevious, let previous = inserted.last {
                planned.row.dependsOn = previous.id
                planned.row.dependsOnField = "reply_parameters.message_id"
            }
            inserted.append(try tx.queue(planned.row, now: now))
        }
        return inserted
    }

    static func plan<Method: TelegramMethod>(
        _ method: Method, slot: BotSlot, chatID: Int64, lane: OutboxLane, isGroup: Bool, dependency: (row: Int64, field: String)?
    ) throws -> [Planned] {
        if let message = method as? SendMessage, message.text.utf16.count > textLimit {
            return try split(message, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency)
        }
        if let copy = method as? CopyMessage, let caption = copy.caption, caption.utf16.count > captionLimit {
            // The media without the caption (an empty one: copyMessage would keep the original's otherwise),
            // then the whole text as a reply to it, entities kept.
            var media = copy
            media.caption = ""
            media.captionEntities = nil
            let text = SendMessage(chatID: copy.chatID, text: caption, entities: copy.captionEntities,
                                   replyParameters: ReplyParameters(messageID: 0, allowSendingWithoutReply: true))
            var planned = [Planned(row: try row(media, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency))]
            var parts = try split(text, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: nil)
            if !parts.isEmpty { parts[0].repliesToPrevious = true }
            planned += parts
            return planned
        }
        return [Planned(row: try row(method, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: dependency))]
    }

    /// A text as several messages when it is too long: the keyboard goes on the last, the reply on the first.
    private static func split(
        _ message: SendMessage, slot: BotSlot, chatID: Int64, lane: OutboxLane, isGroup: Bool, dependency: (row: Int64, field: String)?
    ) throws -> [Planned] {
        let parts = TextSplitter.split(message.text, entities: message.entities, limit: textLimit)
        return try parts.enumerated().map { index, part in
            var piece = message
            piece.text = part.text
            piece.entities = part.entities
            if index > 0 { piece.replyParameters = nil }
            if index < parts.count - 1 { piece.replyMarkup = nil }
            return Planned(row: try row(piece, slot: slot, chatID: chatID, lane: lane, isGroup: isGroup, dependency: index == 0 ? dependency : nil))
        }
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
