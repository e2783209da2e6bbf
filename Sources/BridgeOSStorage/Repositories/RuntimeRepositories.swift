import BridgeOSCore
import Foundation
import GRDB

/// The exactly-once record of incoming updates.
public struct UpdateLog: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// The update's record, read inside an intake transaction.
    static func find(slot: BotSlot, updateID: Int64, _ db: Database) throws -> UpdateRecord? {
        try UpdateRecord.fetchOne(cached: db, sql: "SELECT * FROM updates WHERE bot_slot = ? AND update_id = ?", arguments: [slot.number, updateID])
    }

    /// Records the update as handled, inside the transaction that applied its effects.
    static func markHandled(slot: BotSlot, updateID: Int64, kind: String, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: """
                INSERT INTO updates (bot_slot, update_id, status, kind, attempts, received_at, updated_at)
                VALUES (?, ?, 'handled', ?, 1, ?, ?)
                ON CONFLICT (bot_slot, update_id) DO UPDATE SET
                    status = 'handled', attempts = attempts + 1, last_error = NULL, updated_at = excluded.updated_at
                """,
            arguments: [slot.number, updateID, kind, StoreDate(now), StoreDate(now)])
    }

    /// Counts a failed attempt (in its own transaction, after the handling one rolled back). After
    /// `maxAttempts` the update is marked failed, so the poller can confirm it and move on.
    @discardableResult
    public func recordFailure(slot: BotSlot, updateID: Int64, kind: String, error: String, maxAttempts: Int) throws -> UpdateRecord {
        let now = clock.now()
        return try writer.write { db in
            try Self.recordFailure(slot: slot, updateID: updateID, kind: kind, error: error, maxAttempts: maxAttempts, now: now, db)
        }
    }

    /// `recordFailure` inside the caller's transaction.
    static func recordFailure(slot: BotSlot, updateID: Int64, kind: String, error: String, maxAttempts: Int, now: Date,
                                     _ db: Database) throws -> UpdateRecord {
        let previous = try find(slot: slot, updateID: updateID, db)
        let attempts = (previous?.attempts ?? 0) + 1
        var record = previous ?? UpdateRecord(
            botSlot: slot, updateID: updateID, status: .failing, kind: kind, attempts: 1,
            lastError: nil, receivedAt: now, updatedAt: now)
        record.attempts = attempts
        record.status = attempts >= maxAttempts ? .failed : .failing
        record.lastError = String(error.prefix(2000))
        record.updatedAt = now
        try record.save(db)
        return record
    }

    public func find(slot: BotSlot, updateID: Int64) throws -> UpdateRecord? {
        try writer.read { db in try Self.find(slot: slot, updateID: updateID, db) }
    }

    /// Updates in a status, newest first (failed ones, for the operator).
    public func list(status: UpdateStatus, limit: Int = 100) throws -> [UpdateRecord] {
        try writer.read { db in
            try UpdateRecord.filter(Column("status") == status.rawValue).order(Column("updated_at").desc).limit(limit).fetchAll(db)
        }
    }

    public func count(status: UpdateStatus) throws -> Int {
        try writer.read { db in try UpdateRecord.filter(Column("status") == status.rawValue).fetchCount(db) }
    }

    /// Forgets updates received before `cutoff` (Telegram redelivers nothing older than 24 hours).
    @discardableResult
    public func prune(receivedBefore cutoff: Date, batchSize: Int = 1000) throws -> Int {
        try writer.deleteInBatches(
            sql: """
                DELETE FROM updates WHERE (bot_slot, update_id) IN (
                    SELECT bot_slot, update_id FROM updates WHERE received_at < ? ORDER BY received_at LIMIT ?)
                """,
            arguments: [StoreDate(cutoff)], batchSize: batchSize)
    }
}

/// Calls to Telegram waiting to be made. One sender per bot works through them.
public struct OutboxRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Queues a row inside the caller's transaction (the one that decided to send it). A `held` row is
    /// stored `unreachable`: it waits for its chat to become reachable (`requeueHeld`).
    static func insert(_ row: NewOutboxRow, now: Date, _ db: Database) throws -> OutboxRow {
        if row.dependsOnField != nil, row.dependsOn == nil {
            throw DomainError.invalidInput("an outbox row names a dependency field without a dependency")
        }
        return try OutboxRow.inserting(
            db,
            sql: """
                INSERT INTO outbox (bot_slot, chat_id, method, payload, lane, is_group, depends_on, depends_on_field,
                                    status, attempts, created_at, updated_at, message_id, last_error, report_delivery)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)
                RETURNING *
                """,
            arguments: [
                row.slot.number, row.chatID, row.method, row.payload, row.lane.rawValue, row.isGroup, row.dependsOn,
                row.dependsOnField, row.held ? "unreachable" : "pending", StoreDate(now), StoreDate(now), row.messageID,
                row.held ? "held: the chat cannot be written to yet" : nil, row.reportDelivery,
            ])
    }

    /// Puts a chat's held rows (`unreachable`) back in the queue, in their original order, when the chat
    /// can be written to again. Returns how many.
    @discardableResult
    static func requeueHeld(slot: BotSlot, chatID: Int64, now: Date, _ db: Database) throws -> Int {
        // (status IN ('pending', 'unreachable') repeats the partial index's condition so SQLite uses it.)
        try db.executeCached(
            sql: """
                UPDATE outbox SET status = 'pending', not_before = NULL, last_error = NULL, updated_at = ?
                WHERE bot_slot = ? AND chat_id = ? AND status IN ('pending', 'unreachable') AND status = 'unreachable'
                """,
            arguments: [StoreDate(now), slot.number, chatID])
        return db.changesCount
    }

    /// Whether a chat-lane row of the chat older than `id` is not delivered yet (waiting or held): a newer
    /// row must not overtake it.
    static func olderRowWaits(slot: BotSlot, chatID: Int64, before id: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(cached: db,
            sql: """
                SELECT EXISTS (SELECT 1 FROM outbox
                               WHERE bot_slot = ? AND chat_id = ? AND id < ? AND status IN ('pending', 'unreachable') AND lane = 'chat')
                """,
            arguments: [slot.number, chatID, id]) ?? false
    }

    /// Marks a row in flight, just before its call; false when it is no longer open (sent, held or dead
    /// meanwhile), so it must not be sent. A row still `in_flight` is the calling sender's own (one sender
    /// per bot, one process per data directory): a call of it that was cut short.
    /// Claims the row (in flight); its payload as stored, or nil when it is no longer open.
    static func claimForSending(_ id: Int64, now: Date, _ db: Database) throws -> String? {
        try String.fetchOne(cached: db,
            sql: "UPDATE outbox SET status = 'in_flight', updated_at = ? WHERE id = ? AND status IN ('pending', 'in_flight') RETURNING payload",
            arguments: [StoreDate(now), id])
    }

    /// Replaces the payload of a row not taken yet (pending or held); false when it is in flight or done.
    static func replaceWaitingPayload(_ id: Int64, payload: String, now: Date, _ db: Database) throws -> Bool {
        try db.executeCached(
            sql: "UPDATE outbox SET payload = ?, updated_at = ? WHERE id = ? AND status IN ('pending', 'unreachable')",
            arguments: [payload, StoreDate(now), id])
        return db.changesCount > 0
    }

    /// Whether the conversation a message belongs to has ended (so the message must not be delivered).
    static func messageConnectionEnded(_ messageID: Int64, _ db: Database) throws -> Bool {
        try Bool.fetchOne(cached: db,
            sql: """
                SELECT connections.status <> 'active' FROM messages JOIN connections ON connections.id = messages.connection_id
                WHERE messages.id = ?
                """,
            arguments: [messageID]) ?? false
    }

    /// Held rows that will not be delivered any more: held since before `cutoff` (the retention period), or
    /// carrying a message that retention is about to delete.
    static func expiredHeld(before cutoff: Date, limit: Int, _ db: Database) throws -> [OutboxRow] {
        try OutboxRow.fetchAll(cached: db,
            sql: """
                SELECT * FROM outbox INDEXED BY outbox_problems
                WHERE status IN ('dead', 'unreachable') AND status = 'unreachable'
                  AND (updated_at < ? OR EXISTS (SELECT 1 FROM messages WHERE messages.id = outbox.message_id AND messages.created_at < ?))
                ORDER BY id LIMIT ?
                """,
            arguments: [StoreDate(cutoff), StoreDate(cutoff), limit])
    }

    /// Marks a row dead (a final failure) inside the caller's transaction; returns it as it is now.
    @discardableResult
    static func markDead(_ id: Int64, error: String, now: Date, _ db: Database) throws -> OutboxRow? {
        try OutboxRow.fetchOne(cached: db,
            sql: """
                UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ?
                WHERE id = ? RETURNING *
                """,
            arguments: [String(error.prefix(2000)), StoreDate(now), id])
    }

    /// Queues rows in one transaction of their own.
    @discardableResult
    public func enqueue(_ rows: [NewOutboxRow]) throws -> [OutboxRow] {
        let now = clock.now()
        return try writer.write { db in try rows.map { try Self.insert($0, now: now, db) } }
    }

    public func find(_ id: Int64) throws -> OutboxRow? {
        try writer.read { db in try OutboxRow.find(cached: db, id: id) }
    }

    /// Pending rows of a bot with ids above `afterID`, oldest first: what a sender may still send (rows in
    /// flight are its own; after a crash `resetInFlight` makes them pending again).
    public func pending(slot: BotSlot, afterID: Int64 = 0, limit: Int = 1000) throws -> [OutboxRow] {
        try writer.read { db in
            try OutboxRow.fetchAll(cached: db,
                sql: """
                    SELECT * FROM outbox WHERE bot_slot = ? AND id > ? AND status IN ('pending', 'in_flight') AND status = 'pending'
                    ORDER BY id LIMIT ?
                    """,
                arguments: [slot.number, afterID, limit])
        }
    }

    /// Rows of one chat, oldest first (for inspection and tests).
    public func rows(slot: BotSlot, chatID: Int64) throws -> [OutboxRow] {
        try writer.read { db in
            try OutboxRow.filter(Column("bot_slot") == slot.number && Column("chat_id") == chatID).order(Column("id")).fetchAll(db)
        }
    }

    public func markInFlight(_ id: Int64) throws {
        try update(id) { row, _ in row.status = .inFlight }
    }

    /// Records a successful call and what Telegram answered.
    public func markSent(_ id: Int64, result: String?, messageID: Int64?) throws {
        let now = clock.now()
        try writer.write { db in try Self.markSent(id, result: result, messageID: messageID, now: now, db) }
    }

    /// `markSent` inside the caller's transaction.
    static func markSent(_ id: Int64, result: String?, messageID: Int64?, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: """
                UPDATE outbox SET status = 'sent', attempts = attempts + 1, result = ?, result_message_id = ?, last_error = NULL,
                                  sent_at = ?, updated_at = ?
                WHERE id = ?
                """,
            arguments: [result, messageID, StoreDate(now), StoreDate(now), id])
        guard db.changesCount > 0 else { throw DomainError.invalidInput("outbox row \(id) does not exist") }
    }

    /// `reschedule` inside the caller's transaction.
    static func reschedule(_ id: Int64, notBefore: Date, countAttempt: Bool, error: String, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: """
                UPDATE outbox SET status = 'pending', attempts = attempts + ?, not_before = ?, last_error = ?, updated_at = ?
                WHERE id = ?
                """,
            arguments: [countAttempt ? 1 : 0, StoreDate(notBefore), String(error.prefix(2000)), StoreDate(now), id])
    }

    /// Puts a row back in the queue until `notBefore`; `countAttempt` is false for flood waits, which are not failures.
    public func reschedule(_ id: Int64, notBefore: Date, countAttempt: Bool, error: String) throws {
        let now = clock.now()
        try writer.write { db in
            try Self.reschedule(id, notBefore: notBefore, countAttempt: countAttempt, error: error, now: now, db)
            guard db.changesCount > 0 else { throw DomainError.invalidInput("outbox row \(id) does not exist") }
        }
    }

    /// A call that can never succeed: kept with the reason, not retried.
    public func markDead(_ id: Int64, error: String) throws {
        let now = clock.now()
        try writer.write { db in
            guard try Self.markDead(id, error: error, now: now, db) != nil else { throw DomainError.invalidInput("outbox row \(id) does not exist") }
        }
    }

    /// A group moved to a supergroup: the row goes to the new chat id.
    public func retarget(_ id: Int64, to chatID: Int64) throws {
        try update(id) { row, _ in
            row.chatID = chatID
            row.status = .pending
            if var payload = try? JSONSerialization.jsonObject(with: Data(row.payload.utf8)) as? [String: Any] {
                payload["chat_id"] = chatID
                if let data = try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]) {
                    row.payload = String(decoding: data, as: UTF8.self)
                }
            }
        }
    }

    /// The bot may not write to this chat: remembers that, and holds the chat's waiting rows (`unreachable`:
    /// kept, not retried, queued again when the chat is reachable). Inside the caller's transaction; returns
    /// the ids of the rows held.
    /// Only chat-lane rows are held (callback answers and menu edits are worthless later), and of the rows in
    /// flight only `inFlight`, the one whose call found the chat unreachable (another in flight is still
    /// being sent).
    @discardableResult
    static func holdChat(slot: BotSlot, chatID: Int64, reason: UnreachableReason, error: String, inFlight: Int64? = nil,
                                now: Date, _ db: Database) throws -> [Int64] {
        try markUnreachable(slot: slot, chatID: chatID, reason: reason, now: now, db)
        let error = String(error.prefix(2000))
        // (status IN ('pending', 'unreachable') repeats the partial index's condition so SQLite uses it.)
        var held = try Int64.fetchAll(cached: db,
            sql: """
                UPDATE outbox SET status = 'unreachable', last_error = ?, updated_at = ?
                WHERE bot_slot = ? AND chat_id = ? AND status IN ('pending', 'unreachable') AND status = 'pending' AND lane = 'chat'
                RETURNING id
                """,
            arguments: [error, StoreDate(now), slot.number, chatID])
        if let inFlight {
            held += try Int64.fetchAll(cached: db,
                sql: """
                    UPDATE outbox SET status = 'unreachable', last_error = ?, updated_at = ?
                    WHERE id = ? AND bot_slot = ? AND chat_id = ? AND status = 'in_flight' AND lane = 'chat'
                    RETURNING id
                    """,
                arguments: [error, StoreDate(now), inFlight, slot.number, chatID])
        }
        return held
    }

    /// `holdChat` in a transaction of its own.
    @discardableResult
    public func markUnreachable(slot: BotSlot, chatID: Int64, reason: UnreachableReason, error: String) throws -> [Int64] {
        let now = clock.now()
        return try writer.write { db in try Self.holdChat(slot: slot, chatID: chatID, reason: reason, error: error, now: now, db) }
    }

    /// Remembers that the bot may not write to the chat (inside the caller's transaction). Keeps the
    /// earliest `since` when already known. Returns true when the chat was not known to be unreachable.
    @discardableResult
    static func markUnreachable(slot: BotSlot, chatID: Int64, reason: UnreachableReason, now: Date, _ db: Database) throws -> Bool {
        let known = try unreachable(slot: slot, chatID: chatID, db) != nil
        try db.executeCached(
            sql: """
                INSERT INTO unreachable_chats (bot_slot, chat_id, reason, since) VALUES (?, ?, ?, ?)
                ON CONFLICT (bot_slot, chat_id) DO UPDATE SET reason = excluded.reason
                """,
            arguments: [slot.number, chatID, reason.rawValue, StoreDate(now)])
        return !known
    }

    /// The chat works again (the user unblocked the bot, pressed Start or wrote to it): forgets that it was
    /// unreachable and queues its held rows again, in order. Returns how many rows were queued again.
    @discardableResult
    static func markReachable(slot: BotSlot, chatID: Int64, now: Date, _ db: Database) throws -> Int {
        try db.executeCached(sql: "DELETE FROM unreachable_chats WHERE bot_slot = ? AND chat_id = ?", arguments: [slot.number, chatID])
        guard db.changesCount > 0 else { return 0 }
        try db.executeCached(sql: "UPDATE bot_chats SET reopened_at = ? WHERE bot_slot = ? AND user_id = ?", arguments: [StoreDate(now), slot.number, chatID])
        return try requeueHeld(slot: slot, chatID: chatID, now: now, db)
    }

    /// When the chat last became reachable again after it was not, if it ever did.
    static func reopenedAt(slot: BotSlot, chatID: Int64, _ db: Database) throws -> Date? {
        try Date.fetchOne(cached: db, sql: "SELECT reopened_at FROM bot_chats WHERE bot_slot = ? AND user_id = ?", arguments: [slot.number, chatID])
    }

    /// Why the bot may not write to the chat, if it may not (inside the caller's transaction).
    static func unreachable(slot: BotSlot, chatID: Int64, _ db: Database) throws -> UnreachableChat? {
        try UnreachableChat.fetchOne(cached: db, sql: "SELECT * FROM unreachable_chats WHERE bot_slot = ? AND chat_id = ?", arguments: [slot.number, chatID])
    }

    public func unreachable(slot: BotSlot, chatID: Int64) throws -> UnreachableChat? {
        try writer.read { db in try Self.unreachable(slot: slot, chatID: chatID, db) }
    }

    /// After a crash, rows that were being sent are sent again (at most one duplicate per chat: a sender
    /// has at most one row of a chat in flight).
    @discardableResult
    public func resetInFlight(slot: BotSlot) throws -> Int {
        let now = clock.now()
        return try writer.write { db in
            try db.executeCached(
                sql: "UPDATE outbox SET status = 'pending', updated_at = ? WHERE bot_slot = ? AND status = 'in_flight'",
                arguments: [StoreDate(now), slot.number])
            return db.changesCount
        }
    }

    /// Marks one row undelivered because its chat is unreachable (without calling Telegram).
    public func markUndelivered(_ id: Int64, reason: String) throws {
        try update(id) { row, _ in
            row.status = .unreachable
            row.lastError = reason
        }
    }

    /// Deletes finished rows (`sent`, or `dead` and `unreachable`) last touched before `cutoff`, in batches.
    /// A row that another row still names as its dependency is kept until that row is gone (children are
    /// purged first, so the foreign key never refuses a batch).
    @discardableResult
    public func purgeFinished(_ statuses: Set<OutboxStatus>, updatedBefore cutoff: Date, batchSize: Int = 500) throws -> Int {
        let finished = statuses.intersection([.sent, .dead, .unreachable]).map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        guard !finished.isEmpty else { return 0 }
        // (status IN ('sent', 'dead', 'unreachable') repeats the partial index's condition so SQLite uses it.)
        // A pass frees the rows whose dependents it deleted: repeat until a pass deletes nothing.
        var total = 0
        while true {
            let deleted = try purgePass(finished: finished, cutoff: cutoff, batchSize: batchSize)
            total += deleted
            if deleted == 0 { return total }
        }
    }

    private func purgePass(finished: String, cutoff: Date, batchSize: Int) throws -> Int {
        try writer.deleteInBatches(
            sql: """
                DELETE FROM outbox WHERE id IN (
                    SELECT id FROM outbox
                    WHERE status IN ('sent', 'dead', 'unreachable') AND status IN (\(finished)) AND updated_at < ?
                      AND NOT EXISTS (SELECT 1 FROM outbox AS dependent WHERE dependent.depends_on = outbox.id)
                    ORDER BY updated_at LIMIT ?)
                """,
            arguments: [StoreDate(cutoff)], batchSize: batchSize)
    }

    /// How many rows wait (pending, in flight) and how many need attention (dead, undelivered). Sent rows
    /// are not counted: they only grow, and counting them would read the whole table.
    public func counts() throws -> [OutboxStatus: Int] {
        try writer.read { db in try Self.counts(db) }
    }

    /// `counts`, inside the caller's read.
    static func counts(_ db: Database) throws -> [OutboxStatus: Int] {
        var counts: [OutboxStatus: Int] = [.pending: 0, .inFlight: 0, .dead: 0, .unreachable: 0]
        let open = try Row.fetchAll(cached: db, sql: "SELECT status, count(*) AS n FROM outbox WHERE status IN ('pending', 'in_flight') GROUP BY status")
        let problems = try Row.fetchAll(cached: db, sql: "SELECT status, count(*) AS n FROM outbox WHERE status IN ('dead', 'unreachable') GROUP BY status")
        for row in open + problems {
            if let status = OutboxStatus(rawValue: row["status"]) { counts[status] = row["n"] }
        }
        return counts
    }

    private func update(_ id: Int64, _ change: (inout OutboxRow, Date) throws -> Void) throws {
        let now = clock.now()
        try writer.write { db in
            guard var row = try OutboxRow.find(cached: db, id: id) else { throw DomainError.invalidInput("outbox row \(id) does not exist") }
            try change(&row, now)
            row.updatedAt = now
            try row.update(db)
        }
    }
}

/// The job queue as the runner sees it on one pass.
public struct JobQueueState: Sendable, Equatable {
    /// A job is pending and due.
    public var dueNow: Bool
    /// Jobs pending or running (nil when not read).
    public var waiting: Int?
    /// When the oldest of them was queued.
    public var oldest: Date?
    /// The earliest `not_before` of the delayed ones.
    public var nextDue: Date?
}

/// Slow work, run in order per queue key.
public struct JobRepository: Sendable {
    let writer: any DatabaseWriter
    let clock: any WallClock

    /// Queues a job inside the caller's transaction.
    @discardableResult
    static func insert(kind: String, queueKey: String, payload: String, now: Date, notBefore: Date? = nil, _ db: Database) throws -> JobRow {
        try JobRow.inserting(
            db,
            sql: """
                INSERT INTO jobs (kind, queue_key, payload, status, attempts, not_before, created_at, updated_at)
                VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)
                RETURNING *
                """,
            arguments: [kind, queueKey, payload, notBefore.map(StoreDate.init), StoreDate(now), StoreDate(now)])
    }

    @discardableResult
    public func enqueue(kind: String, queueKey: String, payload: String) throws -> JobRow {
        let now = clock.now()
        return try writer.write { db in try Self.insert(kind: kind, queueKey: queueKey, payload: payload, now: now, db) }
    }

    public func find(_ id: Int64) throws -> JobRow? {
        try writer.read { db in try JobRow.find(cached: db, id: id) }
    }

    /// What the job runner needs to know on each pass, in one read: whether a job is due now, when the next
    /// delayed one is due, and (`backlog`: it reads every open job, so not on every pass) how many wait and
    /// since when.
    public func queueState(backlog: Bool = true) throws -> JobQueueState {
        let now = clock.now()
        return try writer.read { db in
            let due = try Bool.fetchOne(
                cached: db,
                sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs INDEXED BY jobs_open_by_id
                                   WHERE status IN ('pending', 'running') AND status = 'pending' AND (not_before IS NULL OR not_before <= ?))
                    """,
                arguments: [StoreDate(now)]) ?? false
            // (The partial index jobs_delayed makes this a lookup, whatever the table's size.)
            let next = try Date.fetchOne(cached: db, sql: "SELECT min(not_before) FROM jobs WHERE status = 'pending' AND not_before IS NOT NULL")
            guard backlog else { return JobQueueState(dueNow: due, waiting: nil, oldest: nil, nextDue: next) }
            let open = try Self.backlog(db)
            return JobQueueState(dueNow: due, waiting: open.waiting, oldest: open.oldest, nextDue: next)
        }
    }

    /// Claims up to `limit` runnable jobs and marks them running: for each queue key only its oldest open
    /// job, and only when it is pending and due. So a later job never overtakes an earlier one of its key,
    /// even while the earlier one waits for a retry. (`queueState().dueNow` says whether to call it.)
    public func claim(limit: Int) throws -> [JobRow] {
        let now = clock.now()
        return try writer.write { db in
            // (status IN (…) repeats the partial indexes' condition so SQLite can use them.)
            let heads = try JobRow.fetchAll(cached: db,
                sql: """
                    SELECT * FROM jobs AS job
                    WHERE job.status IN ('pending', 'running') AND job.status = 'pending'
                      AND (job.not_before IS NULL OR job.not_before <= ?)
                      AND job.id = (SELECT min(earlier.id) FROM jobs AS earlier
                                    WHERE earlier.queue_key = job.queue_key AND earlier.status IN ('pending', 'running'))
                    ORDER BY job.id
                    LIMIT ?
                    """,
                arguments: [StoreDate(now), limit])
            for job in heads {
                try db.executeCached(sql: "UPDATE jobs SET status = 'running', attempts = attempts + 1, updated_at = ? WHERE id = ?",
                                     arguments: [StoreDate(now), job.id])
            }
            return heads.map { var job = $0; job.status = .running; job.attempts += 1; job.updatedAt = now; return job }
        }
    }

    /// Marks a job done inside the transaction that applies its result.
    static func complete(_ id: Int64, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: "UPDATE jobs SET status = 'done', last_error = NULL, updated_at = ? WHERE id = ?",
            arguments: [StoreDate(now), id])
    }

    public func reschedule(_ id: Int64, notBefore: Date, error: String) throws {
        let now = clock.now()
        try writer.write { db in
            try db.executeCached(
                sql: "UPDATE jobs SET status = 'pending', not_before = ?, last_error = ?, updated_at = ? WHERE id = ?",
                arguments: [StoreDate(notBefore), String(error.prefix(2000)), StoreDate(now), id])
        }
    }

    public func fail(_ id: Int64, error: String) throws {
        let now = clock.now()
        try writer.write { db in try Self.fail(id, error: error, now: now, db) }
    }

    /// Marks a job failed inside the caller's transaction.
    static func fail(_ id: Int64, error: String, now: Date, _ db: Database) throws {
        try db.executeCached(
            sql: "UPDATE jobs SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
            arguments: [String(error.prefix(2000)), StoreDate(now), id])
    }

    /// Deletes finished jobs (`done`, or `failed`) last touched before `cutoff`, in batches.
    @discardableResult
    public func purgeFinished(_ statuses: Set<JobStatus>, updatedBefore cutoff: Date, batchSize: Int = 500) throws -> Int {
        let finished = statuses.intersection([.done, .failed]).map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        guard !finished.isEmpty else { return 0 }
        return try writer.deleteInBatches(
            sql: """
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs WHERE status IN ('done', 'failed') AND status IN (\(finished)) AND updated_at < ?
                    ORDER BY updated_at LIMIT ?)
                """,
            arguments: [StoreDate(cutoff)], batchSize: batchSize)
    }

    /// After a crash, jobs that were running run again.
    @discardableResult
    public func resetRunning() throws -> Int {
        let now = clock.now()
        return try writer.write { db in
            try db.executeCached(
                sql: "UPDATE jobs SET status = 'pending', updated_at = ? WHERE status IN ('pending', 'running') AND status = 'running'",
                arguments: [StoreDate(now)])
            return db.changesCount
        }
    }

    /// Open jobs and the age of the oldest, for metrics and health.
    public func backlog() throws -> (waiting: Int, oldest: Date?) {
        try writer.read { db in try Self.backlog(db) }
    }

    /// `backlog`, inside the caller's read.
    static func backlog(_ db: Database) throws -> (waiting: Int, oldest: Date?) {
        let row = try Row.fetchOne(cached: db, sql: "SELECT count(*) AS n, min(created_at) AS oldest FROM jobs INDEXED BY jobs_open_by_id WHERE status IN ('pending', 'running')")
        return (row?["n"] ?? 0, row?["oldest"])
    }
}
