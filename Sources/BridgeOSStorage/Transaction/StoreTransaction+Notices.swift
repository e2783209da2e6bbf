import BridgeOSCore
import Foundation
import GRDB

/// Notices that are given once: per person and period, per message, per connection and situation.
extension StoreTransaction {
    /// Claims the person's notice of `kind` for `period`: true the first time, false when told already.
    public func claimPersonNotice(user: Int64, kind: PersonNotices.Kind, period: String, now: Date) throws -> Bool {
        try PersonNotices.claim(user: user, kind: kind, period: period, now: now, db)
    }

    /// Claims telling a message's sender that it was not delivered: true the first time only.
    public func claimUndeliveredNotice(message: Int64, now: Date) throws -> Bool {
        try MessageDelivery.claimUndeliveredNotice(message: message, now: now, db)
    }

    /// Claims the connection's notice of `kind` until it is cleared: true the first time, false when the
    /// situation was told already.
    /// `user`: who is told, when each person of the connection is owed their own notice (0: the connection).
    public func claimConnectionNotice(connection: Int64, kind: ConnectionNoticeKind, user: Int64 = 0, now: Date) throws -> Bool {
        try db.executeCached(
            sql: "INSERT INTO connection_notices (connection_id, kind, user_id, since) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [connection, kind.rawValue, user, StoreDate(now)])
        return db.changesCount == 1
    }

    /// Whether anyone of the connection has been told of `kind` (the situation is on).
    public func hasConnectionNotice(connection: Int64, kind: ConnectionNoticeKind) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM connection_notices WHERE connection_id = ? AND kind = ? LIMIT 1"),
                          arguments: [connection, kind.rawValue]) ?? false
    }

    /// The situation is over: the next one is told again (to everyone told of this one). True when someone
    /// had been told of it.
    @discardableResult
    public func clearConnectionNotice(connection: Int64, kind: ConnectionNoticeKind) throws -> Bool {
        try db.executeCached(sql: "DELETE FROM connection_notices WHERE connection_id = ? AND kind = ?", arguments: [connection, kind.rawValue])
        return db.changesCount > 0
    }
}

/// The situations of a connection that its people are told of once.
public enum ConnectionNoticeKind: String, Sendable {
    /// The other side blocked their bot (or cannot be written to).
    case counterpartUnreachable = "counterpart_unreachable"
    /// Translation is failing; messages wait (each sender is told).
    case delayed
}
