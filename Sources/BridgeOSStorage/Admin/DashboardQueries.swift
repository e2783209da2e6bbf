import BridgeOSCore
import Foundation
import GRDB

/// The admin dashboard's reads: each page is one short read transaction over indexed queries, sized for
/// 100,000 users and millions of messages (keyset pages, never OFFSET; no whole-table loads).
public struct DashboardQueries: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    public static let pageSize = 50

    public struct Overview: Sendable {
        public var managers: Int
        public var workers: Int
        /// Active connections per bot slot (1...5).
        public var activeBySlot: [Int: Int]
        /// Messages per UTC day ("2026-12-03"), the last 30 days, oldest first, days without messages as 0.
        public var messagesPerDay: [(day: String, count: Int)]
        /// Outbox rows waiting over a minute, and rows held for chats that cannot be written to.
        public var delayed: Int
        public var held: Int
        public var activeSubscriptions: Int
        public var newFeedback: Int
    }

    /// The last 30 UTC days, oldest first, as "yyyy-MM-dd".
    public func last30Days() -> [String] {
        let today = Calendar.utc.startOfDay(for: clock.now())
        return (0..<30).map { String(StoreDate.text(today.addingTimeInterval(Double($0 - 29) * 86400)).prefix(10)) }
    }

    /// Messages per UTC day from `first` ("yyyy-MM-dd") up to, not including, `end` (nil: up to now).
    public func messagesPerDay(from first: String, before end: String?) throws -> [String: Int] {
        try writer.read { db in
            var counts: [String: Int] = [:]
            let rows = try Row.fetchAll(db, sql: """
                SELECT substr(created_at, 1, 10) AS day, count(*) AS n FROM messages
                WHERE created_at >= ? AND created_at < ? GROUP BY day
                """, arguments: [first, end ?? "9999"])
            for row in rows { counts[row["day"]] = row["n"] }
            return counts
        }
    }

    /// The overview. `pastDays`: messages per day before today, when the caller has them (they change only
    /// as retention deletes old messages); otherwise all 30 days are counted (an index pass over the month).
    public func overview(pastDays: [String: Int]? = nil) throws -> Overview {
        let now = clock.now()
        let days = last30Days()
        let today = days[29]
        return try writer.read { db in
            let managers = try Int.fetchOne(db, sql: "SELECT count(*) FROM managers WHERE deleted_at IS NULL") ?? 0
            let workers = try Int.fetchOne(db, sql: "SELECT count(*) FROM workers WHERE deleted_at IS NULL") ?? 0
            let bySlot = try Self.activeBySlot(db)
            var counts = pastDays ?? [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT substr(created_at, 1, 10) AS day, count(*) AS n FROM messages WHERE created_at >= ? GROUP BY day
                """, arguments: [pastDays == nil ? days[0] : today]) {
                counts[row["day"]] = row["n"]
            }
            let perDay = days.map { (day: $0, count: counts[$0] ?? 0) }
            let delayed = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE status IN ('pending', 'in_flight') AND status = 'pending' AND created_at < ?",
                                           arguments: [StoreDate(now.addingTimeInterval(-60))]) ?? 0
            let held = try Int.fetchOne(db, sql: "SELECT count(*) FROM outbox WHERE status IN ('dead', 'unreachable') AND status = 'unreachable'") ?? 0
            let subscriptions = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM subscriptions
                WHERE status IN ('on_trial', 'active', 'past_due') OR (status = 'cancelled' AND ends_at > ?)
                """, arguments: [StoreDate(now)]) ?? 0
            let feedback = try Int.fetchOne(db, sql: "SELECT count(*) FROM feedback WHERE status = 'new'") ?? 0
            return Overview(managers: managers, workers: workers, activeBySlot: bySlot, messagesPerDay: perDay, delayed: delayed,
                            held: held, activeSubscriptions: subscriptions, newFeedback: feedback)
        }
    }

    /// Active connections per bot slot.
    public func activeConnectionsBySlot() throws -> [Int: Int] {
        try writer.read { db in try Self.activeBySlot(db) }
    }

    static func activeBySlot(_ db: Database) throws -> [Int: Int] {
        var bySlot: [Int: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT bot_slot, count(*) AS n FROM connections WHERE status = 'active' GROUP BY bot_slot") {
            bySlot[row["bot_slot"]] = row["n"]
        }
        return bySlot
    }

    // MARK: Managers

    public struct ManagerRow: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var username: String?
        public var code: String
        public var language: String
        public var activeWorkers: Int
        public var subscription: String?
        public var createdAt: Date
        public var erased: Bool
    }

    /// A page of managers by id (ascending), after `after`; `search` matches a manager code exactly, or a part
    /// of the name or @username (case-insensitive).
    public func managers(search: String?, after: Int64?, limit: Int = pageSize) throws -> (rows: [ManagerRow], next: Int64?) {
        let search = search?.trimmingCharacters(in: .whitespacesAndNewlines).prefix(64).description ?? ""
        var filter = ""
        var arguments: StatementArguments = [after ?? 0]
        if !search.isEmpty {
            // LIKE ignores the case of ASCII letters (as lower() would: SQLite folds no other letters without ICU).
            let pattern = "%" + search.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            filter = "AND (m.code = ? OR u.display_name LIKE ? ESCAPE '\\' OR u.username LIKE ? ESCAPE '\\')"
            arguments += [search.uppercased(), pattern, pattern]
        }
        arguments += [limit + 1]
        return try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT m.id, u.display_name, u.username, m.code, u.language, m.created_at, u.erased_at,
                       (SELECT count(*) FROM connections c WHERE c.manager_id = m.id AND c.status = 'active') AS active_workers,
                       (SELECT s.status FROM subscriptions s WHERE s.manager_id = m.id) AS subscription
                FROM managers m JOIN users u ON u.id = m.id
                WHERE m.deleted_at IS NULL AND m.id > ? \(filter)
                ORDER BY m.id LIMIT ?
                """, arguments: arguments).map { row in
                ManagerRow(id: row["id"], name: row["display_name"], username: row["username"], code: row["code"], language: row["language"],
                           activeWorkers: row["active_workers"], subscription: row["subscription"], createdAt: row["created_at"],
                           erased: (row["erased_at"] as String?) != nil)
            }
            return rows.count > limit ? (Array(rows.prefix(limit)), rows[limit - 1].id) : (rows, nil)
        }
    }

    public struct PersonDetail: Sendable {
        public var user: User
        public var role: String
        public var code: String?
        public var timeZone: String?
        public var erasedAt: Date?
        public var connections: [ConnectionRow]
        public var usage: UsageRecord?
        public var subscription: Subscription?
        public var openTasks: [WorkerTask]
        public var referrals: (count: Int, reward: Int)
        public var referredBy: Int64?
    }

    public struct ConnectionRow: Sendable, Equatable {
        public var id: Int64
        public var slot: Int
        public var managerID: Int64
        public var managerName: String
        public var workerID: Int64
        public var workerName: String
        public var workerLanguage: String
        public var active: Bool
        public var connectedAt: Date
        public var lastMessageAt: Date?
    }

    /// A manager or worker with their lines, usage, subscription, open tasks and referrals.
    public func person(_ id: Int64) throws -> PersonDetail? {
        let now = clock.now()
        return try writer.read { db in
            guard let user = try User.fetchOne(db, key: id) else { return nil }
            let manager = try Row.fetchOne(db, sql: "SELECT code, time_zone FROM managers WHERE id = ? AND deleted_at IS NULL", arguments: [id])
            let isWorker = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM workers WHERE id = ? AND deleted_at IS NULL)", arguments: [id]) ?? false
            let erasedAt = try Date.fetchOne(db, sql: "SELECT erased_at FROM users WHERE id = ?", arguments: [id])
            let connections = try Self.connections(db, where: "c.manager_id = ?1 OR c.worker_id = ?1", [id])
            let usage = manager == nil ? nil : try UsageRepository.current(manager: id, now: now, db)
            let subscription = try Subscription.fetchOne(db, sql: "SELECT * FROM subscriptions WHERE manager_id = ?", arguments: [id])
            let tasks = try WorkerTask.fetchAll(db, sql: """
                SELECT * FROM tasks
                WHERE connection_id IN (SELECT id FROM connections WHERE manager_id = ?1 OR worker_id = ?1) AND status = 'open'
                ORDER BY id DESC LIMIT 20
                """, arguments: [id])
            let referrals = try Row.fetchOne(db, sql: "SELECT count(*) AS n, coalesce(sum(reward_messages), 0) AS r FROM referrals WHERE referrer_id = ?",
                                             arguments: [id])
            let referredBy = try Int64.fetchOne(db, sql: "SELECT referrer_id FROM referrals WHERE referred_id = ?", arguments: [id])
            return PersonDetail(
                user: user, role: manager != nil ? "manager" : isWorker ? "worker" : "unregistered", code: manager?["code"],
                timeZone: manager?["time_zone"], erasedAt: erasedAt, connections: connections, usage: usage, subscription: subscription,
                openTasks: tasks, referrals: (referrals?["n"] ?? 0, referrals?["r"] ?? 0), referredBy: referredBy)
        }
    }

    static func connections(_ db: Database, where condition: String, _ arguments: StatementArguments) throws -> [ConnectionRow] {
        try Row.fetchAll(db, sql: """
            SELECT c.id, c.bot_slot, c.manager_id, mu.display_name AS manager_name, c.worker_id, wu.display_name AS worker_name,
                   wu.language AS worker_language, c.status = 'active' AS active, c.connected_at,
                   (SELECT g.created_at FROM messages g WHERE g.connection_id = c.id ORDER BY g.id DESC LIMIT 1) AS last_message_at
            FROM connections c JOIN users mu ON mu.id = c.manager_id JOIN users wu ON wu.id = c.worker_id
            WHERE \(condition) ORDER BY c.status = 'active' DESC, c.bot_slot, c.id DESC LIMIT 50
            """, arguments: arguments).map { row in
            ConnectionRow(id: row["id"], slot: row["bot_slot"], managerID: row["manager_id"], managerName: row["manager_name"],
                          workerID: row["worker_id"], workerName: row["worker_name"], workerLanguage: row["worker_language"],
                          active: row["active"], connectedAt: row["connected_at"], lastMessageAt: row["last_message_at"])
        }
    }

    // MARK: One conversation

    public struct ConversationLine: Sendable, Equatable {
        public var id: Int64
        public var senderID: Int64
        public var original: String
        public var translation: String?
        public var sourceLanguage: String
        public var targetLanguage: String
        public var kind: String
        public var createdAt: Date
        public var edited: Bool
        public var withdrawn: Bool
        /// The provider that translated it (nil: untranslated).
        public var translatedBy: String? = nil
        /// A voice message's transcript.
        public var transcript: String? = nil
    }

    /// A page of a connection's messages, newest first, older than `before`.
    public func conversation(_ connection: Int64, before: Int64?, limit: Int = pageSize) throws
        -> (connection: ConnectionRow, lines: [ConversationLine], next: Int64?)? {
        try writer.read { db in
            guard let header = try Self.connections(db, where: "c.id = ?", [connection]).first else { return nil }
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, sender_id, original_text, translated_text, source_language, target_language, kind, created_at,
                       edited_at IS NOT NULL AS edited, withdrawn_at IS NOT NULL AS withdrawn, translated_by, transcript
                FROM messages WHERE connection_id = ? AND id < ? ORDER BY id DESC LIMIT ?
                """, arguments: [connection, before ?? Int64.max, limit + 1]).map { row in
                ConversationLine(id: row["id"], senderID: row["sender_id"], original: row["original_text"], translation: row["translated_text"],
                                 sourceLanguage: row["source_language"], targetLanguage: row["target_language"], kind: row["kind"],
                                 createdAt: row["created_at"], edited: row["edited"], withdrawn: row["withdrawn"],
                                 translatedBy: row["translated_by"], transcript: row["transcript"])
            }
            return rows.count > limit ? (header, Array(rows.prefix(limit)), rows[limit - 1].id) : (header, rows, nil)
        }
    }

    // MARK: Feedback and subscriptions

    public struct FeedbackRow: Sendable, Equatable {
        public var feedback: Feedback
        public var writerName: String
        public var role: String
    }

    /// Feedback, newest first, older than `before`; unanswered only when `open`.
    public func feedback(open: Bool, before: Int64?, limit: Int = pageSize) throws -> (rows: [FeedbackRow], next: Int64?) {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT f.*, u.display_name AS writer_name,
                       CASE WHEN EXISTS (SELECT 1 FROM managers m WHERE m.id = f.user_id) THEN 'manager' ELSE 'worker' END AS role
                FROM feedback f JOIN users u ON u.id = f.user_id
                WHERE f.id < ? \(open ? "AND f.answered_at IS NULL" : "") ORDER BY f.id DESC LIMIT ?
                """, arguments: [before ?? Int64.max, limit + 1]).map { row in
                FeedbackRow(feedback: try Feedback(row: row), writerName: row["writer_name"], role: row["role"])
            }
            return rows.count > limit ? (Array(rows.prefix(limit)), rows[limit - 1].feedback.id) : (rows, nil)
        }
    }

    public struct SubscriptionRow: Sendable, Equatable {
        public var subscription: Subscription
        public var managerName: String
    }

    /// Subscriptions by id, newest first, older than `before`.
    public func subscriptions(before: Int64?, limit: Int = pageSize) throws -> (rows: [SubscriptionRow], next: Int64?) {
        try writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT s.*, u.display_name AS manager_name FROM subscriptions s JOIN users u ON u.id = s.manager_id
                WHERE s.id < ? ORDER BY s.id DESC LIMIT ?
                """, arguments: [before ?? Int64.max, limit + 1]).map { row in
                SubscriptionRow(subscription: try Subscription(row: row), managerName: row["manager_name"])
            }
            return rows.count > limit ? (Array(rows.prefix(limit)), rows[limit - 1].subscription.id) : (rows, nil)
        }
    }

    // MARK: System

    public struct SystemFacts: Sendable {
        public var schemaVersion: Int
        public var lastMigration: String?
        public var outbox: [String: Int]
        public var jobsWaiting: Int
        public var oldestJob: Date?
    }

    public func system() throws -> SystemFacts {
        try writer.read { db in
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            let last = try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier DESC LIMIT 1")
            let outbox = Dictionary(uniqueKeysWithValues: try OutboxRepository.counts(db).map { ($0.key.rawValue, $0.value) })
            let backlog = try JobRepository.backlog(db)
            return SystemFacts(schemaVersion: version, lastMigration: last, outbox: outbox, jobsWaiting: backlog.waiting, oldestJob: backlog.oldest)
        }
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}

extension AppDatabase {
    public var dashboard: DashboardQueries { DashboardQueries(writer: writer, clock: clock) }
}
