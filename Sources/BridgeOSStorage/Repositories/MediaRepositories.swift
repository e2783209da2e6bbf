import BridgeOSCore
import Foundation
import GRDB

/// Where relayed messages landed (the copy map both ways), their edits and withdrawals, inside the caller's
/// transaction.
enum MessageCopies {
    /// Records the parts of a message's copy, after those already known (a part recorded twice is kept once).
    static func record(message: Int64, connection: Int64, parts: [(chatMessageID: Int64, kind: MessageCopy.Kind)], revision: Int,
                       now: Date, _ db: Database) throws {
        var next = try Int.fetchOne(cached: db, sql: "SELECT COALESCE(MAX(part) + 1, 0) FROM message_copies WHERE message_id = ?",
                                    arguments: [message]) ?? 0
        for part in parts {
            try db.executeCached(
                sql: """
                    INSERT INTO message_copies (message_id, part, connection_id, chat_message_id, kind, revision, created_at)
                    SELECT ?, ?, ?, ?, ?, ?, ?
                    WHERE NOT EXISTS (SELECT 1 FROM message_copies WHERE connection_id = ? AND chat_message_id = ? AND message_id = ?)
                    """,
                arguments: [message, next, connection, part.chatMessageID, part.kind.rawValue, revision, StoreDate(now),
                            connection, part.chatMessageID, message])
            if db.changesCount > 0 { next += 1 }
        }
    }

    static func of(_ message: Int64, _ db: Database) throws -> [MessageCopy] {
        try Row.fetchAll(cached: db, sql: "SELECT * FROM message_copies WHERE message_id = ? ORDER BY part", arguments: [message])
            .map(MessageCopy.init(row:))
    }

    /// The copy a Telegram message id of the connection's recipient chat is part of.
    static func find(connection: Int64, chatMessageID: Int64, _ db: Database) throws -> MessageCopy? {
        try Row.fetchOne(cached: db,
            sql: "SELECT * FROM message_copies WHERE connection_id = ? AND chat_message_id = ? ORDER BY message_id DESC LIMIT 1",
            arguments: [connection, chatMessageID]).map(MessageCopy.init(row:))
    }

    static func setRevision(message: Int64, revision: Int, _ db: Database) throws {
        try db.executeCached(sql: "UPDATE message_copies SET revision = ? WHERE message_id = ? AND revision < ?",
                             arguments: [revision, message, revision])
    }
}

enum MessageChanges {
    /// The message `sender` sent as Telegram message `sourceMessageID` in this connection.
    static func bySource(connection: Int64, sender: Int64, sourceMessageID: Int64, _ db: Database) throws -> ConversationMessage? {
        try ConversationMessage.fetchOne(cached: db,
            sql: """
                SELECT * FROM messages INDEXED BY messages_by_source
                WHERE connection_id = ? AND source_message_id = ? AND sender_id = ? ORDER BY id DESC LIMIT 1
                """,
            arguments: [connection, sourceMessageID, sender])
    }

    /// A new text (an edit): the revision it became.
    static func edit(_ id: Int64, text: String, entities: String?, now: Date, _ db: Database) throws -> Int? {
        try Int.fetchOne(cached: db,
            sql: """
                UPDATE messages SET original_text = ?, entities = ?, revision = revision + 1, edited_at = ?
                WHERE id = ? AND withdrawn_at IS NULL RETURNING revision
                """,
            arguments: [text, entities, StoreDate(now), id])
    }

    /// Neither party of the message's conversation was erased after it was written (an erasure's words stay gone).
    static let notErased = """
        NOT EXISTS (SELECT 1 FROM connections c JOIN users u ON u.id IN (c.manager_id, c.worker_id)
                    WHERE c.id = messages.connection_id AND u.erased_at >= messages.created_at)
        """

    static func setTranslation(_ id: Int64, text: String, revision: Int, provider: String?, _ db: Database) throws {
        try db.executeCached(sql: """
            UPDATE messages SET translated_text = ?, translated_revision = ?, translated_by = ? WHERE id = ? AND \(notErased)
            """, arguments: [text, revision, provider, id])
    }

    /// Marks the message withdrawn; false when it was already. Its rows not yet taken by Telegram go with it.
    static func withdraw(_ id: Int64, now: Date, _ db: Database) throws -> Bool {
        try db.executeCached(sql: "UPDATE messages SET withdrawn_at = ? WHERE id = ? AND withdrawn_at IS NULL", arguments: [StoreDate(now), id])
        guard db.changesCount > 0 else { return false }
        try db.executeCached(sql: "DELETE FROM outbox WHERE message_id = ? AND status IN ('pending', 'unreachable')", arguments: [id])
        return true
    }

    /// The album's messages not yet relayed, from `first` on, in the order they were sent.
    static func pendingAlbum(connection: Int64, sender: Int64, mediaGroupID: String, from first: Int64, _ db: Database) throws -> [ConversationMessage] {
        try ConversationMessage.fetchAll(cached: db,
            sql: """
                SELECT * FROM messages INDEXED BY messages_by_connection
                WHERE connection_id = ? AND id >= ? AND sender_id = ? AND media_group_id = ?
                  AND translated_revision IS NULL AND withdrawn_at IS NULL
                ORDER BY source_message_id, id LIMIT 10
                """,
            arguments: [connection, first, sender, mediaGroupID])
    }
}

enum CarryingRows {
    /// The methods whose rows put a message in the recipient's chat.
    static let creating = "('sendMessage', 'copyMessage', 'copyMessages')"

    /// The rows putting the message in its recipient's chat, in sending order.
    static func of(_ message: Int64, _ db: Database) throws -> [OutboxRow] {
        try OutboxRow.fetchAll(cached: db,
            sql: "SELECT * FROM outbox WHERE message_id = ? AND method IN \(creating) ORDER BY id",
            arguments: [message])
    }

    /// Whether a row carrying the message, other than `except`, has not been delivered yet.
    static func open(_ message: Int64, except: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(cached: db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM outbox WHERE message_id = ? AND id <> ?
                               AND status IN ('pending', 'in_flight', 'unreachable') AND method IN \(creating))
                """,
            arguments: [message, except]) ?? false
    }

    /// Whether the message is a task's or a followed one's (a confirmed instruction, an announcement).
    static func hasPurpose(_ message: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(cached: db,
            sql: "SELECT EXISTS (SELECT 1 FROM tasks WHERE message_id = ?) OR EXISTS (SELECT 1 FROM receipts WHERE message_id = ?)",
            arguments: [message, message]) ?? false
    }
}
