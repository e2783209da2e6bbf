import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import GRDB

/// When one side of a connection blocks its bot, the other side is told once, plainly; when they unblock
/// (or the bot can reach them again), both are told the line works again. Messages meanwhile are kept
/// (undelivered in the outbox, not retried forever).
public struct CounterpartNotices: UpdateHandler, UnreachableObserver {
    let localizer: Localizer

    public init(localizer: Localizer) { self.localizer = localizer }

    /// `my_chat_member` in a private chat: blocked (kicked) or back (member).
    /// Queues a message in the current transaction.
    typealias Queue = (SendMessage, BotSlot, Int64) throws -> Void

    public func handle(_ update: Update, context: IntakeContext) throws {
        guard case let .myChatMember(change) = update.kind, change.chat.type == .private, let slot = context.slot else { return }
        // Through the context, so the committing transaction wakes the sender.
        let queue: Queue = { message, slot, chat in try context.send(message, chatID: chat, slot: slot) }
        if change.newChatMember.status == .kicked {
            try unreachable(slot: slot, userID: change.chat.id, now: context.now, db: context.db, queue: queue)
        } else if change.newChatMember.status == .member {
            try restored(slot: slot, userID: change.chat.id, now: context.now, db: context.db, queue: queue)
        }
    }

    /// A 403 found while sending (the block was not seen as an update). The sender wakes itself afterwards.
    public func chatBecameUnreachable(slot: BotSlot, chatID: Int64, now: Date, db: Database) throws {
        try unreachable(slot: slot, userID: chatID, now: now, db: db) { message, slot, chat in
            for row in try OutboxWriter.rows(for: message, slot: slot, chatID: chat, lane: .chat, isGroup: false, dependency: nil) {
                _ = try OutboxRepository.insert(row, now: now, db)
            }
        }
    }

    /// The connection that `slot`'s bot carries for `userID`.
    func connection(slot: BotSlot, userID: Int64, db: Database) throws -> Connection? {
        if let connection = try ConnectionRepository.activeRequest(manager: userID, slot: slot).fetchOne(db) { return connection }
        return try ConnectionRepository.activeRequest(worker: userID).fetchOne(db).flatMap { $0.slot == slot ? $0 : nil }
    }

    func unreachable(slot: BotSlot, userID: Int64, now: Date, db: Database, queue: Queue) throws {
        guard let connection = try connection(slot: slot, userID: userID, db: db),
              let blocker = try User.fetchOne(db, key: userID),
              let otherID = connection.counterpart(of: userID), let other = try User.fetchOne(db, key: otherID)
        else { return }
        try db.execute(
            sql: "INSERT INTO connection_notices (connection_id, kind, since) VALUES (?, 'counterpart_unreachable', ?) ON CONFLICT DO NOTHING",
            arguments: [connection.id, now])
        guard db.changesCount == 1 else { return }  // told already
        try send(.relayCounterpartBlocked, to: other, about: blocker, slot: slot, queue: queue)
    }

    func restored(slot: BotSlot, userID: Int64, now: Date, db: Database, queue: Queue) throws {
        guard let connection = try connection(slot: slot, userID: userID, db: db),
              let returning = try User.fetchOne(db, key: userID),
              let otherID = connection.counterpart(of: userID), let other = try User.fetchOne(db, key: otherID)
        else { return }
        try db.execute(sql: "DELETE FROM connection_notices WHERE connection_id = ? AND kind = 'counterpart_unreachable'", arguments: [connection.id])
        guard db.changesCount == 1 else { return }  // nobody was told it was broken
        try send(.relayLineRestored, to: other, about: returning, slot: slot, queue: queue)
        try send(.relayLineRestored, to: returning, about: other, slot: slot, queue: queue)
    }

    private func send(_ key: TextKey, to recipient: User, about person: User, slot: BotSlot, queue: Queue) throws {
        let text = localizer.text(key, recipient.language, ["name": person.displayName])
        try queue(SendMessage(chatID: .id(recipient.id), text: text), slot, recipient.id)
    }
}
