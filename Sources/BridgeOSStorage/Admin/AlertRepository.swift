import BridgeOSCore
import Foundation
import GRDB

/// One alert condition as recorded.
public struct AlertRecord: Sendable, Equatable {
    public var condition: String
    public var detail: String?
    public var raisedAt: Date
    public var notifiedAt: Date?
    public var clearedAt: Date?

    public var isActive: Bool { clearedAt == nil }

    init(row: Row) {
        condition = row["condition"]
        detail = row["detail"]
        raisedAt = row["raised_at"]
        notifiedAt = row["notified_at"]
        clearedAt = row["cleared_at"]
    }
}

/// What to tell the admins after recording a condition's state.
public enum AlertTransition: Sendable, Equatable {
    /// Newly holding, and not told within the quiet time: tell the admins.
    case raised
    /// Newly holding again soon after it cleared (flapping): recorded, not told again.
    case raisedQuietly
    /// Stopped holding after the admins were told: tell them it cleared.
    case cleared
    /// Nothing to tell (still holding, still clear, or cleared before anyone was told).
    case unchanged
}

/// Alert conditions, one row each: the admins hear once when one starts to hold, and once when it clears.
public struct AlertRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Records whether `condition` holds now, as if every notice were queued (see `StoreTransaction.recordAlert`).
    public func record(_ condition: String, holds: Bool, detail: String?, quiet: TimeInterval) throws -> AlertTransition {
        let now = clock.now()
        return try writer.write { db in
            try StoreTransaction(db).recordAlert(condition, holds: holds, detail: detail, quiet: quiet, now: now) { _ in true }
        }
    }

    /// Every condition recorded, holding ones first.
    public func all() throws -> [AlertRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM alerts ORDER BY cleared_at IS NOT NULL, raised_at DESC").map(AlertRecord.init(row:))
        }
    }

    /// Outbox rows that became dead (given up) since `date`.
    public func deadLetters(since date: Date) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: """
                SELECT count(*) FROM outbox WHERE status IN ('sent', 'dead', 'unreachable') AND status = 'dead' AND updated_at >= ?
                  AND last_error IS NOT ?
                """, arguments: [StoreDate(date), StoreTransaction.erasedCallError]) ?? 0
        }
    }

    /// Jobs given up since `date` (a translation that failed for good, a summary that could not be made).
    public func failedJobs(since date: Date) throws -> Int {
        try writer.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM jobs WHERE status IN ('done', 'failed') AND status = 'failed' AND updated_at >= ?", arguments: [StoreDate(date)]) ?? 0
        }
    }

    /// When the oldest message still waiting to go out was queued (held rows for unreachable chats not counted).
    public func oldestWaiting() throws -> Date? {
        try writer.read { db in
            try Date.fetchOne(db, sql: "SELECT min(created_at) FROM outbox WHERE status IN ('pending', 'in_flight')")
        }
    }
}

extension AppDatabase {
    public var alerts: AlertRepository { AlertRepository(writer: writer, clock: clock) }
}

extension StoreTransaction {
    /// Records whether `condition` holds at `now`, and has the admins told through `notify`, in this same
    /// transaction: `notify` queues the message of a start (`.raised`) or an end (`.cleared`) and says whether
    /// it queued any. A start is recorded as told only when it was; one nobody could be told of (no bot
    /// running yet, no admin reachable, the hourly limit) is told at a later reading. A condition that starts
    /// again within `quiet` of the last notice is told once the quiet time has passed, if it still holds.
    /// The end is told only of a start that was.
    public func recordAlert(_ condition: String, holds: Bool, detail: String?, quiet: TimeInterval, now: Date,
                            notify: (AlertTransition) throws -> Bool) throws -> AlertTransition {
        let detail = detail.map { String($0.prefix(512)) }
        let existing = try Row.fetchOne(db, sql: "SELECT * FROM alerts WHERE condition = ?", arguments: [condition]).map(AlertRecord.init(row:))
        func told() throws {
            try db.execute(sql: "UPDATE alerts SET notified_at = ? WHERE condition = ?", arguments: [StoreDate(now), condition])
        }
        switch (existing, holds) {
        case (nil, false):
            return .unchanged
        case (nil, true):
            try db.execute(sql: "INSERT INTO alerts (condition, detail, raised_at, notified_at) VALUES (?, ?, ?, NULL)",
                           arguments: [condition, detail, StoreDate(now)])
            guard try notify(.raised) else { return .raisedQuietly }
            try told()
            return .raised
        case let (record?, true):
            let quietOver = record.notifiedAt.map { now.timeIntervalSince($0) >= quiet } ?? true
            if !record.isActive {
                try db.execute(sql: "UPDATE alerts SET detail = ?, raised_at = ?, cleared_at = NULL WHERE condition = ?",
                               arguments: [detail, StoreDate(now), condition])
                guard quietOver, try notify(.raised) else { return .raisedQuietly }
                try told()
                return .raised
            }
            // Still holding: told already of this start, or not (yet).
            let untold = record.notifiedAt.map { $0 < record.raisedAt } ?? true
            guard untold, quietOver, try notify(.raised) else { return .unchanged }
            try told()
            return .raised
        case let (record?, false):
            guard record.isActive else { return .unchanged }
            try db.execute(sql: "UPDATE alerts SET cleared_at = ? WHERE condition = ?", arguments: [StoreDate(now), condition])
            guard record.notifiedAt.map({ $0 >= record.raisedAt }) ?? false else { return .unchanged }
            _ = try notify(.cleared)
            return .cleared
        }
    }
}
