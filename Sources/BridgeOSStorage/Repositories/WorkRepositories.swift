import BridgeOSCore
import Foundation
import GRDB

/// Tasks inside the caller's transaction: given, completed once, declined with a reason, reminded once.
enum Tasks {
    static func create(connection: Int64, description: String, translated: String? = nil, messageID: Int64?, dueAt: Date?, now: Date,
                       _ db: Database) throws -> WorkerTask {
        let description = try Validate.text(description, field: "task description", maxLength: 4096)
        guard let found = try Connection.find(cached: db, id: connection) else { throw DomainError.connectionNotFound(connection) }
        guard found.isActive else { throw DomainError.connectionNotActive(connection) }
        return try WorkerTask.inserting(
            db,
            sql: """
                INSERT INTO tasks (connection_id, description, description_translated, status, created_at, message_id, due_at)
                VALUES (?, ?, ?, 'open', ?, ?, ?)
                RETURNING *
                """,
            arguments: [connection, description, translated, StoreDate(now), messageID, dueAt.map(StoreDate.init)])
    }

    /// Marks the task done; nil when it was done already (the first completion is kept).
    static func complete(_ id: Int64, now: Date, _ db: Database) throws -> WorkerTask? {
        try WorkerTask.fetchOne(cached: db,
            sql: "UPDATE tasks SET status = 'done', completed_at = ? WHERE id = ? AND status = 'open' RETURNING *",
            arguments: [StoreDate(now), id])
    }

    static func decline(_ id: Int64, reason: String, now: Date, _ db: Database) throws -> WorkerTask? {
        let reason = try Validate.text(reason, field: "reason", maxLength: 1024)
        return try WorkerTask.fetchOne(cached: db,
            sql: "UPDATE tasks SET declined_at = ?, decline_reason = ? WHERE id = ? AND status = 'open' RETURNING *",
            arguments: [StoreDate(now), reason, id])
    }

    /// Claims the task's one reminder: true when it is still open and was not reminded yet.
    static func claimReminder(_ id: Int64, now: Date, _ db: Database) throws -> Bool {
        try db.executeCached(
            sql: "UPDATE tasks SET reminded_at = ? WHERE id = ? AND status = 'open' AND reminded_at IS NULL",
            arguments: [StoreDate(now), id])
        return db.changesCount > 0
    }

    /// How many tasks the manager gave (of every connection they had), and how many are open.
    static func counts(manager managerID: Int64, _ db: Database) throws -> (total: Int, open: Int) {
        let counts = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT count(*) AS total, coalesce(sum(tasks.status = 'open'), 0) AS open
            FROM connections JOIN tasks ON tasks.connection_id = connections.id WHERE connections.manager_id = ?
            """), arguments: [managerID])
        return (counts?["total"] ?? 0, counts?["open"] ?? 0)
    }

    /// One page of the manager's tasks (open and done, of every connection they had), grouped by worker (by
    /// name), newest first in each group.
    static func forManager(_ managerID: Int64, offset: Int, limit: Int, _ db: Database) throws -> [ManagerTaskEntry] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT tasks.*, connections.worker_id AS worker_id_, users.display_name AS worker_name_
            FROM connections
            JOIN tasks ON tasks.connection_id = connections.id
            JOIN users ON users.id = connections.worker_id
            WHERE connections.manager_id = ?
            ORDER BY users.display_name, connections.worker_id, tasks.id DESC
            LIMIT ? OFFSET ?
            """), arguments: [managerID, limit, offset])
        return try rows.map { row in
            ManagerTaskEntry(task: try WorkerTask(row: row), workerID: row["worker_id_"], workerName: row["worker_name_"])
        }
    }

    /// The worker's tasks, oldest first: by default only the open ones of their current connection.
    static func forWorker(_ workerID: Int64, includeDone: Bool = false, currentConnectionOnly: Bool = true, _ db: Database) throws -> [WorkerTask] {
        try WorkerTask.fetchAll(cached: db,
            sql: """
                SELECT tasks.* FROM connections
                JOIN tasks ON tasks.connection_id = connections.id
                WHERE connections.worker_id = ?
                \(currentConnectionOnly ? "AND connections.status = 'active'" : "")
                \(includeDone ? "" : "AND tasks.status = 'open'")
                ORDER BY tasks.id
                """,
            arguments: [workerID])
    }

    /// The open tasks of one connection, oldest first.
    static func open(connection: Int64, _ db: Database) throws -> [WorkerTask] {
        try WorkerTask.fetchAll(cached: db,
            sql: "SELECT * FROM tasks WHERE connection_id = ? AND status = 'open' ORDER BY id",
            arguments: [connection])
    }
}

/// Receipts and announcements inside the caller's transaction.
enum Receipts {
    static func create(messageID: Int64?, connection: Int64, announcement: Int64?, needsConfirmation: Bool, state: ReceiptState,
                       now: Date, _ db: Database) throws -> Receipt {
        try Receipt.inserting(
            db,
            sql: """
                INSERT INTO receipts (message_id, connection_id, announcement_id, needs_confirmation, state, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                RETURNING *
                """,
            arguments: [messageID, connection, announcement, needsConfirmation, state.rawValue, StoreDate(now)])
    }

    static func find(message: Int64, _ db: Database) throws -> Receipt? {
        try Receipt.fetchOne(cached: db, sql: "SELECT * FROM receipts WHERE message_id = ?", arguments: [message])
    }

    static func setStatusLine(_ id: Int64, outboxID: Int64?, text: String, _ db: Database) throws {
        try db.executeCached(
            sql: "UPDATE receipts SET status_outbox_id = coalesce(?, status_outbox_id), status_digest = ? WHERE id = ?",
            arguments: [outboxID, TextDigest.of(text), id])
    }

    /// Moves a receipt that is still sending to `state`; nil when it was not sending any more.
    static func settle(message: Int64, to state: ReceiptState, now: Date, _ db: Database) throws -> Receipt? {
        try Receipt.fetchOne(cached: db,
            sql: """
                UPDATE receipts SET state = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
                WHERE message_id = ? AND state = 'sending'
                RETURNING *
                """,
            arguments: [state.rawValue, state.rawValue, StoreDate(now), message])
    }

    /// Confirms; nil when it was confirmed already (the first time is kept) or needs no confirmation.
    static func confirm(_ id: Int64, now: Date, _ db: Database) throws -> Receipt? {
        try Receipt.fetchOne(cached: db,
            sql: "UPDATE receipts SET confirmed_at = ? WHERE id = ? AND needs_confirmation AND confirmed_at IS NULL RETURNING *",
            arguments: [StoreDate(now), id])
    }

    /// Claims the reminder (`escalation`: the manager's notice) of an unconfirmed receipt, once.
    static func claimFollowUp(_ id: Int64, escalation: Bool, now: Date, _ db: Database) throws -> Bool {
        let column = escalation ? "escalated_at" : "reminded_at"
        try db.executeCached(
            sql: """
                UPDATE receipts SET \(column) = ?
                WHERE id = ? AND needs_confirmation AND confirmed_at IS NULL AND \(column) IS NULL AND state <> 'refused'
                """,
            arguments: [StoreDate(now), id])
        return db.changesCount > 0
    }

    static func forAnnouncement(_ id: Int64, _ db: Database) throws -> [Receipt] {
        try Receipt.fetchAll(cached: db,
            sql: "SELECT * FROM receipts WHERE announcement_id = ? ORDER BY id",
            arguments: [id])
    }

    static func createAnnouncement(manager: Int64, slot: BotSlot, needsConfirmation: Bool, now: Date, _ db: Database) throws -> Announcement {
        try Announcement.inserting(
            db,
            sql: """
                INSERT INTO announcements (manager_id, bot_slot, needs_confirmation, created_at) VALUES (?, ?, ?, ?)
                RETURNING *
                """,
            arguments: [manager, slot.number, needsConfirmation, StoreDate(now)])
    }

    static func setSummary(_ id: Int64, outboxID: Int64?, text: String, _ db: Database) throws {
        try db.executeCached(
            sql: "UPDATE announcements SET summary_outbox_id = coalesce(?, summary_outbox_id), summary_digest = ? WHERE id = ?",
            arguments: [outboxID, TextDigest.of(text), id])
    }
}

/// The daily summary's schedule and the claims that make a scheduled one go out once per day.
enum DailySummaries {
    static func hour(manager: Int64, _ db: Database) throws -> Int? {
        try Int.fetchOne(cached: db, sql: "SELECT daily_hour FROM managers WHERE id = ?", arguments: [manager])
    }

    static func setHour(manager: Int64, hour: Int?, now: Date, _ db: Database) throws {
        if let hour, !(0...23).contains(hour) { throw DomainError.invalidInput("the hour of the daily summary must be 0-23") }
        try db.executeCached(
            sql: "UPDATE managers SET daily_hour = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL",
            arguments: [hour, StoreDate(now), manager])
        guard db.changesCount > 0 else { throw DomainError.managerNotFound(manager) }
    }

    /// True the first time for this manager and local day.
    static func claim(manager: Int64, localDay: String, now: Date, _ db: Database) throws -> Bool {
        try db.executeCached(
            sql: "INSERT INTO daily_summaries (manager_id, local_day, sent_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            arguments: [manager, localDay, StoreDate(now)])
        return db.changesCount > 0
    }

    /// A connection's messages in [since, until), oldest first.
    static func messages(connection: Int64, since: Date, until: Date, _ db: Database) throws -> [ConversationMessage] {
        try ConversationMessage.fetchAll(cached: db,
            sql: "SELECT * FROM messages WHERE connection_id = ? AND created_at >= ? AND created_at < ? ORDER BY id",
            arguments: [connection, StoreDate(since), StoreDate(until)])
    }
}
