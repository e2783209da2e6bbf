import BridgeOSCore
import Foundation
import GRDB

/// The runtime's bookkeeping: the update log, the outbox, held chats and jobs.
extension StoreTransaction {
    // MARK: Update log

    public func updateRecord(slot: BotSlot, updateID: Int64) throws -> UpdateRecord? {
        try UpdateLog.find(slot: slot, updateID: updateID, db)
    }

    /// Records the update as handled, in the transaction that applied its effects.
    public func markUpdateHandled(slot: BotSlot, updateID: Int64, kind: String, now: Date) throws {
        try UpdateLog.markHandled(slot: slot, updateID: updateID, kind: kind, now: now, db)
    }

    /// Counts a failed attempt; after `maxAttempts` the update is recorded as failed.
    public func recordUpdateFailure(slot: BotSlot, updateID: Int64, kind: String, error: String, maxAttempts: Int, now: Date) throws -> UpdateRecord {
        try UpdateLog.recordFailure(slot: slot, updateID: updateID, kind: kind, error: error, maxAttempts: maxAttempts, now: now, db)
    }

    // MARK: Outbox

    /// Queues a row (held: stored `unreachable`, waiting for its chat).
    public func queue(_ row: NewOutboxRow, now: Date) throws -> OutboxRow {
        try OutboxRepository.insert(row, now: now, db)
    }

    /// The last look at the store before a row's call, and the claim that marks it in flight.
    public func prepareToSend(_ row: OutboxRow, now: Date) throws -> SendPreparation {
        // Held meanwhile (the chat became unreachable): it waits with the chat's other rows.
        if row.lane == .chat, let unreachable = try OutboxRepository.unreachable(slot: row.botSlot, chatID: row.chatID, db) {
            try OutboxRepository.holdChat(slot: row.botSlot, chatID: row.chatID, reason: unreachable.reason,
                                          error: "held: the chat cannot be written to (\(unreachable.reason.rawValue))", now: now, db)
            return .held
        }
        if row.lane == .chat {
            // The chat is reachable: anything still held for it goes out now (this heals rows held without a
            // record, e.g. from before an upgrade), and before this row.
            if try OutboxRepository.requeueHeld(slot: row.botSlot, chatID: row.chatID, now: now, db) > 0 { return .olderFirst }
            if try OutboxRepository.olderRowWaits(slot: row.botSlot, chatID: row.chatID, before: row.id, db) { return .olderFirst }
        }
        // State changes win over queued work: a message of a conversation that ended is not delivered.
        if let messageID = row.messageID, try OutboxRepository.messageConnectionEnded(messageID, db) {
            let dead = try OutboxRepository.markDead(row.id, error: "the connection ended before delivery", now: now, db)
            return .connectionEnded(dead)
        }
        // The payload as it is now: an edit may have replaced a waiting message's content.
        return try OutboxRepository.claimForSending(row.id, now: now, db).map { .send(payload: $0) } ?? .gone
    }

    /// Replaces the payload of a row Telegram has not been asked yet (pending or held): an edit of a message
    /// still waiting to be delivered. False when the row is in flight or done.
    public func replaceWaitingPayload(_ id: Int64, payload: String, now: Date) throws -> Bool {
        try OutboxRepository.replaceWaitingPayload(id, payload: payload, now: now, db)
    }

    /// Records a successful call (for a row whose delivery is reported in the same transaction).
    public func markSent(_ id: Int64, result: String?, messageID: Int64?, now: Date) throws {
        try OutboxRepository.markSent(id, result: result, messageID: messageID, now: now, db)
    }

    /// Marks a row dead (a final failure); returns it as it is now.
    @discardableResult
    public func markDead(_ id: Int64, error: String, now: Date) throws -> OutboxRow? {
        try OutboxRepository.markDead(id, error: error, now: now, db)
    }

    /// Puts a row back in the queue until `notBefore`.
    public func reschedule(_ id: Int64, notBefore: Date, countAttempt: Bool, error: String, now: Date) throws {
        try OutboxRepository.reschedule(id, notBefore: notBefore, countAttempt: countAttempt, error: error, now: now, db)
    }

    /// Held rows that will not be delivered any more (held past `cutoff`, or their message is due for deletion).
    public func expiredHeldRows(before cutoff: Date, limit: Int) throws -> [OutboxRow] {
        try OutboxRepository.expiredHeld(before: cutoff, limit: limit, db)
    }

    // MARK: Reachability

    /// Why the bot may not write to the chat, if it may not.
    public func unreachableChat(slot: BotSlot, chatID: Int64) throws -> UnreachableChat? {
        try OutboxRepository.unreachable(slot: slot, chatID: chatID, db)
    }

    /// Remembers that the bot may not write to the chat; true when that was not known.
    @discardableResult
    public func markUnreachable(slot: BotSlot, chatID: Int64, reason: UnreachableReason, now: Date) throws -> Bool {
        try OutboxRepository.markUnreachable(slot: slot, chatID: chatID, reason: reason, now: now, db)
    }

    /// The bot may not write to the chat: remembers it and holds the chat's waiting rows (and `inFlight`).
    /// Returns the ids held.
    @discardableResult
    public func holdChat(slot: BotSlot, chatID: Int64, reason: UnreachableReason, error: String, inFlight: Int64? = nil, now: Date) throws -> [Int64] {
        try OutboxRepository.holdChat(slot: slot, chatID: chatID, reason: reason, error: error, inFlight: inFlight, now: now, db)
    }

    /// The chat works again: its held rows are queued again, in order. Returns how many.
    @discardableResult
    public func markReachable(slot: BotSlot, chatID: Int64, now: Date) throws -> Int {
        try OutboxRepository.markReachable(slot: slot, chatID: chatID, now: now, db)
    }

    /// When the chat last became reachable again after it was not.
    public func reopenedAt(slot: BotSlot, chatID: Int64) throws -> Date? {
        try OutboxRepository.reopenedAt(slot: slot, chatID: chatID, db)
    }

    // MARK: Jobs

    @discardableResult
    public func queueJob(kind: String, queueKey: String, payload: String, now: Date, notBefore: Date? = nil) throws -> JobRow {
        try JobRepository.insert(kind: kind, queueKey: queueKey, payload: payload, now: now, notBefore: notBefore, db)
    }

    /// Marks a job done, in the transaction that applies its result.
    public func completeJob(_ id: Int64, now: Date) throws {
        try JobRepository.complete(id, now: now, db)
    }

    public func failJob(_ id: Int64, error: String, now: Date) throws {
        try JobRepository.fail(id, error: error, now: now, db)
    }

    // MARK: Housekeeping

    /// Forgets expired flow states.
    @discardableResult
    public func purgeExpiredConversationStates(now: Date) throws -> Int {
        try ConversationStates.purgeExpired(now: now, db)
    }
}

/// What the last look before a call decided.
public enum SendPreparation: Sendable, Equatable {
    /// Claimed (in flight): call Telegram with `payload` (the row's, as stored now).
    case send(payload: String)
    /// The chat cannot be written to: the row (with the chat's others) is held.
    case held
    /// An older row of the chat still waits: it goes first.
    case olderFirst
    /// The message's conversation ended: the row is dead now (nil if it was gone).
    case connectionEnded(OutboxRow?)
    /// Sent, held or dead meanwhile: not this call's to send.
    case gone
}
