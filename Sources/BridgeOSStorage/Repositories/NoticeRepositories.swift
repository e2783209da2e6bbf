import BridgeOSCore
import Foundation
import GRDB

/// Notices a person gets at most once per period (the monthly quota refusal and upsell, the hourly cap).
public enum PersonNotices {
    public enum Kind: String, Sendable {
        case quotaRefused = "quota_refused"
        case upsell
        case hourlyCap = "hourly_cap"
    }

    /// Claims the notice of `kind` for `period` (inside the caller's transaction): true the first time for
    /// that period, false when the person was told already.
    static func claim(user: Int64, kind: Kind, period: String, now: Date, _ db: Database) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT INTO person_notices (user_id, kind, period, sent_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (user_id, kind) DO UPDATE SET period = excluded.period, sent_at = excluded.sent_at
                WHERE person_notices.period <> excluded.period
                """,
            arguments: [user, kind.rawValue, period, StoreDate(now)])
        return db.changesCount > 0
    }

    /// Forgets this month's quota refusal and upsell notices of a manager and the workers connected to them,
    /// when the quota changes under them (extra messages granted, a subscription ended): the next refusal is
    /// told again instead of bouncing in silence.
    static func clearQuotaNotices(manager: Int64, _ db: Database) throws {
        try db.executeCached(
            sql: """
                DELETE FROM person_notices WHERE kind IN ('quota_refused', 'upsell')
                  AND (user_id = ?1 OR user_id IN (SELECT worker_id FROM connections WHERE manager_id = ?1))
                """,
            arguments: [manager])
    }
}

/// What the relay needs to know about one message's delivery, inside the caller's transaction.
public enum MessageDelivery {
    /// Records that the message's sender is being told it was not delivered: true the first time only.
    static func claimUndeliveredNotice(message: Int64, now: Date, _ db: Database) throws -> Bool {
        try db.executeCached(
            sql: "UPDATE messages SET undelivered_notice_at = ? WHERE id = ? AND undelivered_notice_at IS NULL",
            arguments: [StoreDate(now), message])
        return db.changesCount > 0
    }

    /// Messages `sender` sent since `since`, an album (media group) counting as one.
    static func sentCount(sender: Int64, since: Date, _ db: Database) throws -> Int {
        try Int.fetchOne(cached: db,
            sql: """
                SELECT count(*) - count(media_group_id) + count(DISTINCT media_group_id)
                FROM messages WHERE sender_id = ? AND created_at >= ?
                """,
            arguments: [sender, StoreDate(since)]) ?? 0
    }

    /// Whether a message of this album was stored already (the album counts once).
    static func albumSeen(sender: Int64, mediaGroupID: String, since: Date, _ db: Database) throws -> Bool {
        try Bool.fetchOne(cached: db,
            sql: "SELECT EXISTS (SELECT 1 FROM messages WHERE sender_id = ? AND created_at >= ? AND media_group_id = ?)",
            arguments: [sender, StoreDate(since), mediaGroupID]) ?? false
    }
}
