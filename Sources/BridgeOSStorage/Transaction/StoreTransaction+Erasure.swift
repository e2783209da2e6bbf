import BridgeOSCore
import Foundation
import GRDB

/// What erasing a person removed.
public struct ErasureReport: Sendable, Equatable {
    public var messages: Int
    public var tasks: Int
    public var feedback: Int
    public var outboxRows: Int
    public var connectionsEnded: Int
}

/// Erasure of a person on an admin's request (the dashboard's button, `bridgeos admin erase-user`).
///
/// The rule: the person's name and @username are replaced ("Erased user"), their roles end (connections
/// disconnected, unused invites revoked), and the words of every conversation they were part of are removed —
/// message texts, voice transcripts and translations, a manager's glossary, task descriptions and decline reasons, their feedback and its answer,
/// their unfinished dialogs, and the sent, dead or held Bot API calls to them or carrying those messages. The
/// rows stay, with their times and languages, so counts, usage and billing (subscriptions, referrals) remain
/// correct. Erasing twice changes nothing more.
extension StoreTransaction {
    public static let erasedName = "Erased user"
    /// `last_error` of the calls an erasure ended (not counted as failed deliveries).
    public static let erasedCallError = "ended by an erasure"

    /// Whether a party of the message's conversation was erased after it was written: nothing may be
    /// written back into it (a translation or transcript made while the erasure ran).
    public func erasedSince(_ message: ConversationMessage) throws -> Bool {
        try Bool.fetchOne(cached: db, sql: """
            SELECT EXISTS (SELECT 1 FROM connections c JOIN users u ON u.id IN (c.manager_id, c.worker_id)
                           WHERE c.id = ? AND u.erased_at >= ?)
            """, arguments: [message.connectionID, StoreDate(message.createdAt)]) ?? false
    }

    public func eraseUser(_ id: Int64, now: Date) throws -> ErasureReport {
        guard try Bool.fetchOne(cached: db, sql: "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)", arguments: [id]) == true else {
            throw DomainError.userNotFound(id)
        }
        var ended = 0
        if try Manager.find(cached: db, id: id) != nil { ended += try ManagerRepository.softDelete(id, now: now, db).count }
        if try Worker.find(cached: db, id: id) != nil, try WorkerRepository.softDelete(id, now: now, db) != nil { ended += 1 }
        let at = StoreDate(now)
        try db.execute(sql: """
            UPDATE users SET display_name = ?, username = NULL, gender = 'unspecified', erased_at = ?, updated_at = ?
            WHERE id = ?
            """, arguments: [Self.erasedName, at, at, id])
        let theirs = "SELECT id FROM connections WHERE manager_id = ?1 OR worker_id = ?1"
        try db.execute(sql: """
            UPDATE messages SET original_text = '', translated_text = NULL, entities = NULL, transcript = NULL
            WHERE connection_id IN (\(theirs))
              AND (original_text <> '' OR translated_text IS NOT NULL OR entities IS NOT NULL OR transcript IS NOT NULL)
            """, arguments: [id])
        let messages = db.changesCount
        try db.execute(sql: """
            UPDATE tasks SET description = '—', description_translated = NULL, decline_reason = NULL
            WHERE connection_id IN (\(theirs)) AND description <> '—'
            """, arguments: [id])
        let tasks = db.changesCount
        try db.execute(sql: "UPDATE feedback SET message = '—', answer = NULL WHERE user_id = ? AND message <> '—'", arguments: [id])
        let feedback = db.changesCount
        // A manager's glossary may hold names (never-translate entries): it goes with them.
        try db.execute(sql: "DELETE FROM glossary_terms WHERE manager_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM glossary_entries WHERE manager_id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM conversation_states WHERE bot_slot IN (1, 2, 3, 4, 5) AND user_id = ?", arguments: [id])
        // Their feedback as it went to the admins (the notices carry its words).
        let notices = "SELECT outbox_id FROM feedback_notices WHERE feedback_id IN (SELECT id FROM feedback WHERE user_id = ?1)"
        // Calls not sent yet that carry their words or go to them: never sent, and emptied (a call in flight
        // right now is left to finish). Nobody is told they failed: the admin ended them.
        try db.execute(sql: """
            UPDATE outbox SET status = 'dead', payload = '{}', last_error = ?2, updated_at = ?3
            WHERE status IN ('pending', 'unreachable')
              AND (chat_id = ?1 OR message_id IN (SELECT m.id FROM messages m WHERE m.connection_id IN (\(theirs))) OR id IN (\(notices)))
            """, arguments: [id, Self.erasedCallError, at])
        try db.execute(sql: """
            UPDATE outbox SET payload = '{}' WHERE status IN ('sent', 'dead') AND id IN (\(notices))
            """, arguments: [id])
        try db.execute(sql: """
            DELETE FROM outbox WHERE status IN ('sent', 'dead', 'unreachable')
              AND (chat_id = ?1 OR message_id IN (SELECT m.id FROM messages m WHERE m.connection_id IN (\(theirs))))
              AND NOT EXISTS (SELECT 1 FROM outbox AS dependent WHERE dependent.depends_on = outbox.id)
            """, arguments: [id])
        let outbox = db.changesCount
        return ErasureReport(messages: messages, tasks: tasks, feedback: feedback, outboxRows: outbox, connectionsEnded: ended)
    }

    /// Whether the person was erased (and when).
    public func erasedAt(_ id: Int64) throws -> Date? {
        try Date.fetchOne(cached: db, sql: "SELECT erased_at FROM users WHERE id = ?", arguments: [id])
    }
}
