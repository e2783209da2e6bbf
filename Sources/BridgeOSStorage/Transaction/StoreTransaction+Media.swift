import BridgeOSCore
import Foundation
import GRDB

/// The copy map (which Telegram message in the other chat is a message's copy), edits, withdrawals, and the
/// per-person display settings.
extension StoreTransaction {
    // MARK: The copy map

    /// Records where a message's copy landed (more parts of it are appended after the known ones).
    public func recordCopies(message: Int64, connection: Int64, parts: [(chatMessageID: Int64, kind: MessageCopy.Kind)],
                             revision: Int, now: Date) throws {
        try MessageCopies.record(message: message, connection: connection, parts: parts, revision: revision, now: now, db)
    }

    /// The parts of a message's copy, in order (empty until Telegram took it).
    public func copies(of message: Int64) throws -> [MessageCopy] {
        try MessageCopies.of(message, db)
    }

    public func setCopiesRevision(message: Int64, revision: Int) throws {
        try MessageCopies.setRevision(message: message, revision: revision, db)
    }

    /// The conversation message that Telegram message `telegramID` of `user`'s chat stands for: one they sent
    /// (its original), or the copy of one sent to them. Nil for anything else (BridgeOS's own texts).
    public func conversationMessage(connection: Connection, chatOf user: Int64, telegramID: Int64) throws -> ConversationMessage? {
        if let own = try MessageChanges.bySource(connection: connection.id, sender: user, sourceMessageID: telegramID, db) { return own }
        guard let copy = try MessageCopies.find(connection: connection.id, chatMessageID: telegramID, db),
              let message = try message(copy.messageID), message.senderID != user
        else { return nil }
        return message
    }

    /// The message `sender` sent as Telegram message `sourceMessageID` in the connection.
    public func message(connection: Int64, sender: Int64, sourceMessageID: Int64) throws -> ConversationMessage? {
        try MessageChanges.bySource(connection: connection, sender: sender, sourceMessageID: sourceMessageID, db)
    }

    // MARK: Edits and withdrawals

    /// Stores an edited text; returns the message's new revision (nil when it was withdrawn).
    public func editMessage(_ id: Int64, text: String, entities: String?, now: Date) throws -> Int? {
        try MessageChanges.edit(id, text: text, entities: entities, now: now, db)
    }

    /// Records the translation of the message as of `revision`, and the provider that made it (nil: none).
    public func setTranslation(of message: Int64, to text: String, revision: Int, provider: String?) throws {
        try MessageChanges.setTranslation(message, text: text, revision: revision, provider: provider.map { String($0.prefix(32)) }, db)
    }

    /// Records what a voice message says (kept to the column's 16,384 characters).
    public func setTranscript(of message: Int64, to text: String) throws {
        try db.executeCached(sql: "UPDATE messages SET transcript = ? WHERE id = ? AND \(MessageChanges.notErased)",
                             arguments: [String(String.UnicodeScalarView(text.unicodeScalars.prefix(16384))), message])
    }

    /// Withdraws the message (its undelivered rows are dropped); false when it was withdrawn already.
    public func withdraw(_ message: Int64, now: Date) throws -> Bool {
        try MessageChanges.withdraw(message, now: now, db)
    }

    /// The album's messages not relayed yet, from message `first` on, in sending order (at most ten).
    public func pendingAlbum(connection: Int64, sender: Int64, mediaGroupID: String, from first: Int64) throws -> [ConversationMessage] {
        try MessageChanges.pendingAlbum(connection: connection, sender: sender, mediaGroupID: mediaGroupID, from: first, db)
    }

    // MARK: Display settings

    public func setShowOriginal(of user: Int64, to on: Bool, now: Date) throws {
        try db.executeCached(sql: "UPDATE users SET show_original = ?, updated_at = ? WHERE id = ?", arguments: [on, StoreDate(now), user])
    }

    public func setDeliveryMarks(of user: Int64, to on: Bool, now: Date) throws {
        try db.executeCached(sql: "UPDATE users SET delivery_marks = ?, updated_at = ? WHERE id = ?", arguments: [on, StoreDate(now), user])
    }
}

extension StoreTransaction {
    /// The rows putting a message in its recipient's chat (sent or not), in sending order.
    public func carryingRows(of message: Int64) throws -> [OutboxRow] {
        try CarryingRows.of(message, db)
    }

    /// Whether another row carrying the message waits: it is delivered when the last one is.
    public func carryingRowsOpen(of message: Int64, except row: Int64) throws -> Bool {
        try CarryingRows.open(message, except: row, db)
    }

    /// Whether the message is a task's, a confirmed instruction's or an announcement's.
    public func messageHasPurpose(_ message: Int64) throws -> Bool {
        try CarryingRows.hasPurpose(message, db)
    }
}
