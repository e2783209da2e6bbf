import BridgeOSCore
import Foundation
import GRDB

/// Work on top of the conversation: tasks, receipts of followed messages, announcements, daily summaries.
extension StoreTransaction {
    // MARK: Tasks

    /// An open task on an active connection.
    public func createTask(connection: Int64, description: String, messageID: Int64?, dueAt: Date?, now: Date) throws -> WorkerTask {
        try Tasks.create(connection: connection, description: description, messageID: messageID, dueAt: dueAt, now: now, db)
    }

    public func task(_ id: Int64) throws -> WorkerTask? {
        try WorkerTask.find(cached: db, id: id)
    }

    public func setTaskTranslation(_ id: Int64, to text: String) throws {
        try db.executeCached(sql: "UPDATE tasks SET description_translated = ? WHERE id = ?", arguments: [text, id])
    }

    /// Marks the task done; nil when it was done already (a double tap: the first completion is kept).
    public func completeTask(_ id: Int64, now: Date) throws -> WorkerTask? {
        try Tasks.complete(id, now: now, db)
    }

    /// Records the worker's "can't do it" and why; nil when the task is not open.
    public func declineTask(_ id: Int64, reason: String, now: Date) throws -> WorkerTask? {
        try Tasks.decline(id, reason: reason, now: now, db)
    }

    /// Claims the overdue task's one reminder.
    public func claimTaskReminder(_ id: Int64, now: Date) throws -> Bool {
        try Tasks.claimReminder(id, now: now, db)
    }

    /// How many tasks the manager gave, and how many are open.
    public func managerTaskCounts(_ managerID: Int64) throws -> (total: Int, open: Int) {
        try Tasks.counts(manager: managerID, db)
    }

    /// One page of the manager's tasks, grouped by worker, newest first.
    public func managerTasks(_ managerID: Int64, offset: Int, limit: Int) throws -> [ManagerTaskEntry] {
        try Tasks.forManager(managerID, offset: offset, limit: limit, db)
    }

    /// The worker's open tasks on their current line, oldest first.
    public func openTasks(worker: Int64) throws -> [WorkerTask] {
        try Tasks.forWorker(worker, db)
    }

    /// A connection's open tasks, oldest first.
    public func openTasks(connection: Int64) throws -> [WorkerTask] {
        try Tasks.open(connection: connection, db)
    }

    // MARK: Receipts and announcements

    public func createReceipt(messageID: Int64?, connection: Int64, announcement: Int64? = nil, needsConfirmation: Bool,
                              state: ReceiptState = .sending, now: Date) throws -> Receipt {
        try Receipts.create(messageID: messageID, connection: connection, announcement: announcement, needsConfirmation: needsConfirmation,
                            state: state, now: now, db)
    }

    public func receipt(_ id: Int64) throws -> Receipt? {
        try Receipt.find(cached: db, id: id)
    }

    public func receipt(message: Int64) throws -> Receipt? {
        try Receipts.find(message: message, db)
    }

    /// Remembers the manager's status line of a receipt (the row that sends it, once) and the text it shows.
    public func setReceiptStatusLine(_ id: Int64, outboxID: Int64?, text: String) throws {
        try Receipts.setStatusLine(id, outboxID: outboxID, text: text, db)
    }

    /// The message's receipt, moved from sending to `state` (delivered, failed); nil when there is none or
    /// it was settled already.
    public func settleReceipt(message: Int64, to state: ReceiptState, now: Date) throws -> Receipt? {
        try Receipts.settle(message: message, to: state, now: now, db)
    }

    /// Confirms; nil when it was confirmed already (the first time is kept).
    public func confirmReceipt(_ id: Int64, now: Date) throws -> Receipt? {
        try Receipts.confirm(id, now: now, db)
    }

    /// Claims the one reminder to the worker (or, `escalation`, the one notice to the manager) of an
    /// unconfirmed receipt.
    public func claimReceiptFollowUp(_ id: Int64, escalation: Bool, now: Date) throws -> Bool {
        try Receipts.claimFollowUp(id, escalation: escalation, now: now, db)
    }

    public func createAnnouncement(manager: Int64, slot: BotSlot, needsConfirmation: Bool, now: Date) throws -> Announcement {
        try Receipts.createAnnouncement(manager: manager, slot: slot, needsConfirmation: needsConfirmation, now: now, db)
    }

    public func announcement(_ id: Int64) throws -> Announcement? {
        try Announcement.find(cached: db, id: id)
    }

    public func receipts(announcement: Int64) throws -> [Receipt] {
        try Receipts.forAnnouncement(announcement, db)
    }

    /// Remembers the announcement's summary message (the row that sends it, once) and the text it shows.
    public func setAnnouncementSummary(_ id: Int64, outboxID: Int64?, text: String) throws {
        try Receipts.setSummary(id, outboxID: outboxID, text: text, db)
    }

    /// Whether outbox row `id` is still kept (retention deletes sent rows after a while).
    public func outboxRowExists(_ id: Int64) throws -> Bool {
        try Bool.fetchOne(cached: db, sql: "SELECT EXISTS (SELECT 1 FROM outbox WHERE id = ?)", arguments: [id]) ?? false
    }

    // MARK: Daily summaries

    /// Whether the scheduled summary of `localDay` was given already.
    public func dailySummaryClaimed(manager: Int64, localDay: String) throws -> Bool {
        try Bool.fetchOne(cached: db, sql: "SELECT EXISTS (SELECT 1 FROM daily_summaries WHERE manager_id = ? AND local_day = ?)",
                          arguments: [manager, localDay]) ?? false
    }

    /// The hour (manager's time zone) of their scheduled daily summary, if they set one.
    public func dailySummaryHour(manager: Int64) throws -> Int? {
        try DailySummaries.hour(manager: manager, db)
    }

    public func setDailySummaryHour(manager: Int64, hour: Int?, now: Date) throws {
        try DailySummaries.setHour(manager: manager, hour: hour, now: now, db)
    }

    public func setTimeZone(manager: Int64, to identifier: String, now: Date) throws {
        try ManagerRepository.setTimeZone(manager, to: identifier, now: now, db)
    }

    /// Claims the scheduled summary of `localDay` (YYYY-MM-DD in the manager's time zone): true the first time.
    public func claimDailySummary(manager: Int64, localDay: String, now: Date) throws -> Bool {
        try DailySummaries.claim(manager: manager, localDay: localDay, now: now, db)
    }

    /// A connection's messages in [since, until), oldest first.
    public func messages(connection: Int64, since: Date, until: Date) throws -> [ConversationMessage] {
        try DailySummaries.messages(connection: connection, since: since, until: until, db)
    }
}
