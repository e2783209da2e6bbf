import BridgeOSCore
import Foundation
import GRDB

/// The outcome of counting one translated message against a manager's quota.
public struct UsageIncrement: Sendable, Equatable {
    /// Messages counted in the current period, including this one if it was accepted.
    public let count: Int
    /// The quota it was counted against; nil means unlimited.
    public let limit: Int?
    /// False when the quota was already used up: the message was not counted and must not be relayed.
    public let accepted: Bool
    /// Extra free messages left after this one (referral rewards).
    public var bonusLeft: Int = 0

    /// The quota is used up: the next message will not be accepted.
    public var limitReached: Bool { limit.map { count >= $0 && bonusLeft == 0 } ?? false }
}

/// Free-tier metering. The period is the calendar month in UTC.
public struct UsageRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// The start (00:00 UTC on the 1st) of the calendar month holding `date`.
    public static func periodStart(for date: Date) -> Date {
        UTCDate(date).monthStart
    }

    /// Counts one message against the manager's quota, atomically: the read, the check and the write are
    /// one IMMEDIATE transaction, so concurrent messages from several bots can never overshoot the limit.
    /// A new period starts from zero.
    ///
    /// - Parameter limit: the quota for this period; nil counts without limit (subscribers, whitelisted users).
    @discardableResult
    public func increment(manager: Int64, limit: Int?) throws -> UsageIncrement {
        let now = clock.now()
        return try writer.write { db in try Self.increment(manager: manager, limit: limit, now: now, db) }
    }

    /// The manager's usage in the current period (zero if nothing was counted yet this period).
    public func current(manager: Int64) throws -> UsageRecord {
        let now = clock.now()
        let period = Self.periodStart(for: now)
        return try writer.read { db in
            if let record = try UsageRecord.fetchOne(db, key: manager), record.periodStart >= period {
                return record
            }
            return UsageRecord(managerID: manager, periodStart: period, messagesCount: 0, isBlocked: false, updatedAt: now)
        }
    }

    /// `current`, inside the caller's transaction (the extra messages carry over into a new period).
    static func current(manager: Int64, now: Date, _ db: Database) throws -> UsageRecord {
        let period = periodStart(for: now)
        guard var record = try UsageRecord.fetchOne(cached: db, sql: "SELECT * FROM usage_tracking WHERE manager_id = ?", arguments: [manager]) else {
            return UsageRecord(managerID: manager, periodStart: period, messagesCount: 0, isBlocked: false, updatedAt: now)
        }
        if record.periodStart < period {
            record.periodStart = period
            record.messagesCount = 0
            record.isBlocked = false
        }
        return record
    }

    /// Starts the manager's current period over from zero (support action, or after an upgrade).
    public func reset(manager: Int64) throws {
        let now = clock.now()
        try writer.write { db in
            let bonus = try Int.fetchOne(db, sql: "SELECT bonus_messages FROM usage_tracking WHERE manager_id = ?", arguments: [manager]) ?? 0
            try UsageRecord(
                managerID: manager, periodStart: Self.periodStart(for: now), messagesCount: 0,
                isBlocked: false, updatedAt: now, bonusMessages: bonus
            ).save(db)
        }
    }

    /// `increment`, inside the caller's transaction.
    static func increment(manager: Int64, limit: Int?, now: Date, _ db: Database) throws -> UsageIncrement {
        if let limit, limit < 0 { throw DomainError.invalidInput("a usage limit cannot be negative") }
        guard try Bool.fetchOne(cached: db, sql: "SELECT EXISTS (SELECT 1 FROM managers WHERE id = ?)", arguments: [manager]) == true else {
            throw DomainError.managerNotFound(manager)
        }
        let period = periodStart(for: now)
        var record = try UsageRecord.fetchOne(cached: db, sql: "SELECT * FROM usage_tracking WHERE manager_id = ?", arguments: [manager])
            ?? UsageRecord(managerID: manager, periodStart: period, messagesCount: 0, isBlocked: false, updatedAt: now)
        if record.periodStart < period {
            record.periodStart = period
            record.messagesCount = 0
        }
        // The month's free messages first, then the extra ones earned (referrals), which do not expire.
        var accepted = true
        if let limit, record.messagesCount >= limit {
            accepted = record.bonusMessages > 0
            if accepted { record.bonusMessages -= 1 }
        }
        if accepted { record.messagesCount += 1 }
        record.isBlocked = limit.map { record.messagesCount >= $0 && record.bonusMessages == 0 } ?? false
        record.updatedAt = now
        try db.executeCached(
            sql: """
                INSERT INTO usage_tracking (manager_id, period_start, messages_count, is_blocked, updated_at, bonus_messages) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (manager_id) DO UPDATE SET period_start = excluded.period_start, messages_count = excluded.messages_count,
                    is_blocked = excluded.is_blocked, updated_at = excluded.updated_at, bonus_messages = excluded.bonus_messages
                """,
            arguments: [manager, StoreDate(record.periodStart), record.messagesCount, record.isBlocked, StoreDate(now), record.bonusMessages])
        return UsageIncrement(count: record.messagesCount, limit: limit, accepted: accepted, bonusLeft: record.bonusMessages)
    }
}
