import BridgeOSCore
import Foundation
import GRDB

/// Conversation history: what was said on each connection, in both languages.
public struct MessageRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Appends a message to an active connection.
    ///
    /// - Throws: `DomainError.connectionNotActive` for an ended connection, `.invalidInput` when the sender
    ///   is not one of its two people (the schema's trigger guards the same rule).
    @discardableResult
    public func append(_ message: NewMessage) throws -> ConversationMessage {
        let now = clock.now()
        return try writer.write { db in try Self.append(message, now: now, db) }
    }

    /// Records the translation and/or the Telegram id the message got in the recipient's chat.
    @discardableResult
    public func recordDelivery(
        _ id: Int64, deliveredMessageID: Int64?, translatedText: String? = nil
    ) throws -> ConversationMessage {
        try writer.write { db in
            guard var message = try ConversationMessage.find(cached: db, id: id) else {
                throw DomainError.invalidInput("message \(id) does not exist")
            }
            if let deliveredMessageID { message.deliveredMessageID = deliveredMessageID }
            if let translatedText { message.translatedText = translatedText }
            try message.update(db)
            return message
        }
    }

    /// The last `limit` messages of a connection, oldest first: the context a translation prompt needs.
    public func context(connection: Int64, limit: Int = 6) throws -> [ConversationMessage] {
        guard limit > 0 else { return [] }
        return try writer.read { db in
            try ConversationMessage
                .filter(Column("connection_id") == connection)
                .order(Column("id").desc)
                .limit(limit)
                .fetchAll(db)
                .reversed()
        }
    }

    /// Messages of a connection created at or after `since`, oldest first.
    public func window(connection: Int64, since: Date) throws -> [ConversationMessage] {
        try writer.read { db in
            try ConversationMessage
                .filter(Column("connection_id") == connection && Column("created_at") >= since)
                .order(Column("id"))
                .fetchAll(db)
        }
    }

    /// The last 24 hours of a connection, oldest first (the daily summary's input).
    public func lastDay(connection: Int64) throws -> [ConversationMessage] {
        try window(connection: connection, since: clock.now().addingTimeInterval(-24 * 3600))
    }

    public func count(connection: Int64) throws -> Int {
        try writer.read { db in try ConversationMessage.filter(Column("connection_id") == connection).fetchCount(db) }
    }

    /// Messages created before a cutoff, oldest first; the batch size is the last parameter.
    static let deleteOlderSQL = """
        DELETE FROM messages WHERE id IN (
            SELECT id FROM messages WHERE created_at < ? ORDER BY created_at LIMIT ?)
        """

    /// Deletes at most `batchSize` messages created before `cutoff`, oldest first, in one short transaction.
    ///
    /// Debian's SQLite is built without `DELETE … LIMIT`, hence the id subselect.
    /// - Returns: how many were deleted.
    @discardableResult
    public func deleteBatch(olderThan cutoff: Date, batchSize: Int = 500) throws -> Int {
        guard batchSize > 0 else { return 0 }
        return try writer.write { db in
            try db.executeCached(sql: Self.deleteOlderSQL, arguments: [StoreDate(cutoff), batchSize])
            return db.changesCount
        }
    }

    /// Deletes every message created before `cutoff`, in batches so no transaction holds the write
    /// lock for long (the bots keep writing in between).
    /// - Returns: how many were deleted.
    @discardableResult
    public func purge(olderThan cutoff: Date, batchSize: Int = 500) throws -> Int {
        try writer.deleteInBatches(sql: Self.deleteOlderSQL, arguments: [StoreDate(cutoff)], batchSize: batchSize)
    }

    /// `append`, inside the caller's transaction.
    static func append(_ message: NewMessage, now: Date, _ db: Database) throws -> ConversationMessage {
        let sourceLanguage = try Validate.language(message.sourceLanguage, field: "source language")
        let targetLanguage = try Validate.language(message.targetLanguage, field: "target language")
        guard let connection = try Connection.find(cached: db, id: message.connectionID) else {
            throw DomainError.connectionNotFound(message.connectionID)
        }
        guard connection.isActive else { throw DomainError.connectionNotActive(connection.id) }
        guard connection.counterpart(of: message.senderID) != nil else {
            throw DomainError.invalidInput(
                "user \(message.senderID) is not a party of connection \(connection.id)")
        }
        return try ConversationMessage.inserting(
            db,
            sql: """
                INSERT INTO messages (connection_id, sender_id, original_text, translated_text,
                                      source_language, target_language, source_message_id, media_group_id, created_at,
                                      reply_to_id, entities, kind)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
            arguments: [
                message.connectionID, message.senderID, message.originalText, message.translatedText,
                sourceLanguage, targetLanguage, message.sourceMessageID, message.mediaGroupID, StoreDate(now),
                message.replyToID, message.entities, message.kind.rawValue,
            ])
    }
}
