import BridgeOSCore
import BridgeOSTestSupport
import Foundation
import GRDB
import Synchronization
import Testing
@testable import BridgeOSStorage

@Suite("Query plans")
struct QueryPlanTests {
    /// Every statement the connections of one pool execute.
    final class StatementLog: Sendable {
        let statements = Mutex<Set<String>>([])
        /// Transaction openings on the writer connection.
        let writerBegins = Mutex<[String]>([])
    }

    /// Runs every repository method once and checks that no statement it issued scans a table:
    /// each lookup must be served by an index (primary key, unique or secondary).
    @Test("no repository lookup scans a table")
    func everyLookupUsesAnIndex() throws {
        try withTemporaryDirectory { directory in
            let log = StatementLog()
            var configuration = AppDatabase.configuration(StoreOptions())
            configuration.prepareDatabase { db in
                let isWriter = !db.configuration.readonly
                db.trace(options: .statement) { event in
                    guard case let .statement(statement) = event else { return }
                    _ = log.statements.withLock { $0.insert(statement.sql) }
                    if isWriter, statement.sql.uppercased().hasPrefix("BEGIN") {
                        log.writerBegins.withLock { $0.append(statement.sql) }
                    }
                }
            }
            let clock = ManualWallClock()
            let pool = try DatabasePool(path: directory.appendingPathComponent("plan.sqlite").path, configuration: configuration)
            let database = try AppDatabase(pool, clock: clock)
            log.statements.withLock { $0.removeAll() }  // migration statements are not lookups
            log.writerBegins.withLock { $0.removeAll() }

            try exerciseEveryRepositoryMethod(database, clock: clock)

            // Every write takes the write lock up front (no deferred upgrade that could fail with SQLITE_BUSY).
            let begins = log.writerBegins.withLock { $0 }
            #expect(begins.count > 40)
            #expect(begins.allSatisfy { $0.uppercased().hasPrefix("BEGIN IMMEDIATE") }, "\(Set(begins))")

            let statements = log.statements.withLock { $0 }
            #expect(statements.count > 30)
            var scans: [String] = []
            try pool.read { db in
                for sql in statements.sorted() where Self.isLookup(sql) {
                    let parameters = Array(repeating: DatabaseValue.null, count: Self.placeholderCount(sql))
                    let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: StatementArguments(parameters))
                    for row in plan {
                        let detail: String = row["detail"]
                        if Self.isTableScan(detail) || Self.isUnindexedSearch(detail), !Self.isExempt(sql, detail: detail) {
                            scans.append("\(detail)  ←  \(sql)")
                        }
                    }
                }
            }
            #expect(scans.isEmpty, "table scans:\n\(scans.joined(separator: "\n"))")
        }
    }

    static func isLookup(_ sql: String) -> Bool {
        let upper = sql.uppercased()
        guard ["SELECT", "UPDATE", "DELETE", "INSERT"].contains(where: upper.hasPrefix) else { return false }
        // GRDB's own schema introspection is not ours to index.
        return !["SQLITE_MASTER", "SQLITE_TEMP_MASTER", "SQLITE_SCHEMA", "GRDB_MIGRATIONS", "PRAGMA"].contains(where: upper.contains)
    }

    /// Partial indexes that hold only open work (pending or in-flight rows): passing over them is the
    /// point of a work queue, and they stay as small as the backlog.
    static let workQueueIndexes = ["outbox_open", "outbox_problems", "jobs_open", "jobs_open_by_id"]

    /// `SCAN users`, `SCAN connections USING INDEX …`: a pass over a whole table or index.
    /// (`SCAN CONSTANT ROW`, subquery scans and the work-queue partial indexes are not table scans.)
    /// Tables small by construction (a row per alert condition, per admin account, session or link, per fact).
    static let smallTables = ["alerts", "admin_accounts", "admin_sessions", "admin_links", "app_state"]

    /// Statements that read a whole table on purpose, each at most once per admin action: the dashboard
    /// overview's totals (timed at 100,000 users by `bridgeos-bench dashboard`), and an erasure's sweep of
    /// the finished and the waiting calls that carried the erased person's words.
    static let adminAggregates = [
        "SELECT count(*) FROM managers WHERE deleted_at IS NULL", "SELECT count(*) FROM workers WHERE deleted_at IS NULL",
        "SELECT count(*) FROM subscriptions", "SELECT count(*) FROM feedback WHERE status = 'new'",
        "SELECT bot_slot, count(*) AS n FROM connections WHERE status = 'active'",
        "DELETE FROM outbox WHERE status IN ('sent', 'dead', 'unreachable')",
        // (the calls not sent yet, through the partial index of waiting rows: as small as the backlog)
        "UPDATE outbox SET status = 'dead', payload = '{}'",
    ]

    static func isExempt(_ sql: String, detail: String) -> Bool {
        smallTables.contains { detail.hasPrefix("SCAN \($0)") } || adminAggregates.contains { sql.hasPrefix($0) }
    }

    static func isTableScan(_ detail: String) -> Bool {
        guard detail.hasPrefix("SCAN ") else { return false }
        if workQueueIndexes.contains(where: { detail.hasSuffix("INDEX \($0)") }) { return false }
        return !detail.hasPrefix("SCAN CONSTANT") && !detail.hasPrefix("SCAN (")
    }

    /// `SEARCH jobs` with neither an index nor the rowid: a pass in disguise.
    static func isUnindexedSearch(_ detail: String) -> Bool {
        detail.hasPrefix("SEARCH ") && !detail.contains(" USING ")
    }

    /// The statement's parameters: one per `?`, or the highest `?N` when numbered.
    static func placeholderCount(_ sql: String) -> Int {
        var count = 0
        var highest = 0
        var inString = false
        let characters = Array(sql)
        for (index, character) in characters.enumerated() {
            if character == "'" { inString.toggle() } else if character == "?", !inString {
                let digits = characters[(index + 1)...].prefix { $0.isNumber }
                if let number = Int(String(digits)), !digits.isEmpty { highest = max(highest, number) } else { count += 1 }
            }
        }
        return count + highest
    }

    func exerciseEveryRepositoryMethod(_ database: AppDatabase, clock: ManualWallClock) throws {
        // Enough rows that the planner has a real choice to make.
        for n in 0..<40 {
            try database.managers.register(profile(Int64(1000 + n)), industry: "retail")
            try database.workers.register(profile(Int64(2000 + n)))
        }
        let manager = try database.managers.register(profile(1), industry: "construction", timeZone: "Europe/Kyiv")
        try database.managers.setTimeZone(1, to: "UTC")
        _ = try database.managers.find(1)
        _ = try database.managers.find(code: manager.code)
        try database.users.setLanguage(1, to: "uk")
        _ = try database.users.find(1)
        _ = try database.users.role(of: 1)
        try database.workers.register(profile(10))
        _ = try database.workers.find(10)

        let connection = try database.connections.connect(manager: 1, worker: 10, slot: BotSlot(1)!)
        _ = try? database.connections.connect(manager: 1, worker: 2000, slot: BotSlot(1)!)  // SlotOccupied path
        _ = try? database.connections.connect(manager: 1000, worker: 10, slot: BotSlot(1)!)  // WorkerAlreadyConnected path
        _ = try database.connections.find(connection.id)
        _ = try database.connections.active(manager: 1, slot: BotSlot(1)!)
        _ = try database.connections.active(worker: 10)
        _ = try database.connections.active(manager: 1)
        _ = try database.connections.history(manager: 1)
        _ = try database.connections.history(worker: 10)

        for n in 0..<20 {
            try database.messages.append(NewMessage(
                connectionID: connection.id, senderID: n.isMultiple(of: 2) ? 1 : 10, originalText: "m\(n)",
                sourceLanguage: "en", targetLanguage: "es"))
        }
        let message = try database.messages.append(NewMessage(
            connectionID: connection.id, senderID: 1, originalText: "last", sourceLanguage: "en", targetLanguage: "es"))
        try database.messages.recordDelivery(message.id, deliveredMessageID: 9, translatedText: "último")
        _ = try database.messages.context(connection: connection.id)
        _ = try database.messages.lastDay(connection: connection.id)
        _ = try database.messages.count(connection: connection.id)
        try database.messages.purge(olderThan: clock.now().addingTimeInterval(-3600), batchSize: 5)

        let task = try database.tasks.create(connection: connection.id, description: "Fix the fence")
        try database.tasks.setTranslation(task.id, to: "Arreglar la cerca")
        try database.tasks.complete(task.id)
        _ = try database.tasks.find(task.id)
        _ = try database.tasks.forManager(1, includeDone: true)
        _ = try database.tasks.forManager(1)
        _ = try database.tasks.forWorker(10, includeDone: true, currentConnectionOnly: false)
        _ = try database.tasks.forWorker(10)

        try database.usage.increment(manager: 1, limit: 50)
        _ = try database.usage.current(manager: 1)
        try database.usage.reset(manager: 1)

        try database.subscriptions.record(SubscriptionUpdate(managerID: 1, externalID: "sub_9", status: .active))
        try database.subscriptions.record(SubscriptionUpdate(managerID: 1, externalID: "sub_9", status: .cancelled))
        _ = try database.subscriptions.find(externalID: "sub_9")
        _ = try database.subscriptions.isActive(manager: 1)

        let feedback = try database.feedback.submit(user: 10, message: "Great")
        try database.feedback.markRead(feedback.id)
        _ = try database.feedback.list(status: .new)
        _ = try database.feedback.count(status: .read)

        // Work: tasks, receipts of followed messages, announcements, daily summaries.
        try database.write { tx in
            let now = clock.now()
            let work = try tx.createTask(connection: connection.id, description: "Paint the door", messageID: message.id, dueAt: now, now: now)
            try tx.setTaskTranslation(work.id, to: "Pintar la puerta")
            _ = try tx.declineTask(work.id, reason: "no paint", now: now)
            _ = try tx.claimTaskReminder(work.id, now: now)
            _ = try tx.completeTask(work.id, now: now)
            _ = try tx.task(work.id)
            _ = try tx.managerTaskCounts(1)
            _ = try tx.managerTasks(1, offset: 0, limit: 8)
            _ = try tx.openTasks(worker: 10)
            _ = try tx.openTasks(connection: connection.id)
            let announcement = try tx.createAnnouncement(manager: 1, slot: BotSlot(1)!, needsConfirmation: true, now: now)
            let receipt = try tx.createReceipt(messageID: message.id, connection: connection.id, announcement: announcement.id,
                                               needsConfirmation: true, now: now)
            _ = try tx.createReceipt(messageID: nil, connection: connection.id, needsConfirmation: false, state: .refused, now: now)
            try tx.setReceiptStatusLine(receipt.id, outboxID: nil, text: "x")
            _ = try tx.receipt(receipt.id)
            _ = try tx.receipt(message: message.id)
            _ = try tx.settleReceipt(message: message.id, to: .delivered, now: now)
            _ = try tx.confirmReceipt(receipt.id, now: now)
            _ = try tx.claimReceiptFollowUp(receipt.id, escalation: false, now: now)
            _ = try tx.claimReceiptFollowUp(receipt.id, escalation: true, now: now)
            _ = try tx.announcement(announcement.id)
            _ = try tx.receipts(announcement: announcement.id)
            try tx.setAnnouncementSummary(announcement.id, outboxID: nil, text: "y")
            try tx.setDailySummaryHour(manager: 1, hour: 18, now: now)
            _ = try tx.dailySummaryHour(manager: 1)
            try tx.setTimeZone(manager: 1, to: "Europe/Madrid", now: now)
            _ = try tx.claimDailySummary(manager: 1, localDay: "2026-12-03", now: now)
            _ = try tx.dailySummaryClaimed(manager: 1, localDay: "2026-12-03")
            _ = try tx.outboxRowExists(1)
            _ = try tx.messages(connection: connection.id, since: now.addingTimeInterval(-86400), until: now)
            _ = try tx.queueJob(kind: "task-reminder", queueKey: "task-reminder:1", payload: "{}", now: now, notBefore: now)
            // Media: the copy map, edits, withdrawals, albums, settings.
            try tx.recordCopies(message: message.id, connection: connection.id, parts: [(chatMessageID: 77, kind: .text)], revision: 0, now: now)
            _ = try tx.copies(of: message.id)
            try tx.setCopiesRevision(message: message.id, revision: 1)
            _ = try tx.conversationMessage(connection: connection, chatOf: 10, telegramID: 77)
            _ = try tx.message(connection: connection.id, sender: 10, sourceMessageID: 5)
            _ = try tx.editMessage(message.id, text: "edited", entities: nil, now: now)
            try tx.setTranslation(of: message.id, to: "editado", revision: 1, provider: "deepl")
            try tx.setTranscript(of: message.id, to: "hola")
            _ = try tx.pendingAlbum(connection: connection.id, sender: 10, mediaGroupID: "g1", from: message.id)
            _ = try tx.carryingRows(of: message.id)
            _ = try tx.carryingRowsOpen(of: message.id, except: 0)
            _ = try tx.messageHasPurpose(message.id)
            _ = try tx.withdraw(message.id, now: now)
            try tx.setShowOriginal(of: 10, to: true, now: now)
            try tx.setDeliveryMarks(of: 10, to: false, now: now)

            // Billing, referrals, feedback (0009).
            let digest = String(repeating: "a1", count: 32)
            _ = try tx.claimWebhookDelivery(digest: digest, provider: "lemonsqueezy", event: "subscription_created", now: now)
            try tx.settleWebhookDelivery(digest: digest, outcome: .applied, detail: nil)
            _ = try tx.webhookOutcome(digest: digest)
            _ = try tx.webhookDeliveryCount(since: .distantPast)
            _ = try tx.applySubscription(SubscriptionEvent(managerID: 1, externalID: "sub_1", status: .active, providerUpdatedAt: now), now: now)
            _ = try tx.subscription(externalID: "sub_1")
            _ = try tx.recordPayment(externalID: "sub_1", status: .failed, at: now)
            _ = try tx.usage(manager: 1, now: now)
            _ = try tx.recordReferral(code: manager.code, referred: 1000, reward: 5, now: now)
            _ = try tx.referrals(referrer: 1)
            _ = try tx.referrer(of: 1000)
            let feedback = try tx.submitFeedback(user: 10, text: "idea", language: "es", slot: BotSlot(1)!, now: now)
            _ = try tx.feedback(feedback.id)
            try tx.recordFeedbackNotice(feedback: feedback.id, admin: 1, slot: BotSlot(1)!, outbox: 424242, now: now)
            try tx.feedbackNoticeDelivered(outbox: 424242, chatMessageID: 99)
            _ = try tx.feedbackForNotice(slot: BotSlot(1)!, admin: 1, chatMessageID: 99)
            _ = try tx.answerFeedback(feedback.id, by: 1, answer: "thanks", now: now)
            // Glossaries (0011).
            let entry = try tx.addGlossaryEntry(manager: 1, terms: ["en": "rebar", "es": "ferralla"], keep: false, origin: .manager, now: now)
            try tx.addGlossaryEntry(manager: 1, terms: ["*": "Hilti TE-30"], keep: true, origin: .manager, now: now)
            _ = try tx.seedGlossary(manager: 1, entries: [["en": "drywall", "es": "pladur"]], now: now)
            _ = try tx.glossary(manager: 1)
            _ = try tx.glossaryPair(manager: 1, source: "en", target: "es")
            _ = try tx.lastMessage(connection: connection.id, sender: 10)
            _ = try tx.removeGlossaryEntry(manager: 1, id: entry.id)
            _ = try tx.erasedAt(10)
        }

        // The dashboard, its accounts and sessions, alerts, erasure (0010).
        let hash = "$2b$12$" + String(repeating: "a", count: 53)
        _ = try database.admin.setPassword(username: "ada", passwordHash: hash)
        _ = try database.admin.setPassword(username: "ada", passwordHash: hash)
        _ = try database.admin.accountCount()
        let account = try #require(try database.admin.account(username: "ada"))
        _ = try database.admin.account(id: account.id)
        try database.admin.recordLogin(account.id)
        let token = try database.admin.makeLink(account: account.id, validFor: 60)
        _ = try database.admin.link(token)
        _ = try database.admin.useLink(token)
        _ = try database.admin.setUpFirstAccount(link: token, username: "bob", passwordHash: hash)
        _ = try database.admin.putSession(key: "k", value: "{}", expiresIn: 60, create: true)
        _ = try database.admin.putSession(key: "k", value: "{}", expiresIn: nil, create: false)
        _ = try database.admin.session(key: "k")
        try database.admin.removeSession(key: "k")
        try database.admin.prune()
        try database.admin.probeWrite()
        _ = try database.admin.state("ready.probe")
        _ = try database.dashboard.overview()
        let days = database.dashboard.last30Days()
        _ = try database.dashboard.overview(pastDays: try database.dashboard.messagesPerDay(from: days[0], before: days[29]))
        _ = try database.dashboard.activeConnectionsBySlot()
        _ = try database.dashboard.managers(search: nil, after: nil)
        _ = try database.dashboard.managers(search: "Ana", after: 5)
        _ = try database.dashboard.person(1)
        _ = try database.dashboard.person(10)
        _ = try database.dashboard.conversation(1, before: nil)
        _ = try database.dashboard.conversation(1, before: 100)
        _ = try database.dashboard.feedback(open: true, before: nil)
        _ = try database.dashboard.feedback(open: false, before: 9)
        _ = try database.dashboard.subscriptions(before: nil)
        _ = try database.dashboard.system()
        _ = try database.alerts.record("disk_low", holds: true, detail: "x", quiet: 60)
        _ = try database.alerts.record("disk_low", holds: false, detail: nil, quiet: 60)
        _ = try database.alerts.all()
        _ = try database.alerts.deadLetters(since: clock.now())
        _ = try database.alerts.failedJobs(since: clock.now())
        _ = try database.alerts.oldestWaiting()
        _ = try database.write { tx in try tx.eraseUser(10, now: clock.now()) }

        // The runtime's plumbing.
        let slot = BotSlot(1)!
        let rows = try database.outbox.enqueue([
            NewOutboxRow(slot: slot, chatID: 10, method: "sendMessage", payload: #"{"chat_id":10,"text":"a"}"#),
            NewOutboxRow(slot: slot, chatID: 10, method: "sendMessage", payload: #"{"chat_id":10,"text":"b"}"#, dependsOn: nil),
        ])
        _ = try database.outbox.find(rows[0].id)
        _ = try database.outbox.rows(slot: slot, chatID: 10)
        try database.outbox.markInFlight(rows[0].id)
        try database.outbox.markSent(rows[0].id, result: "{}", messageID: 5)
        try database.outbox.reschedule(rows[1].id, notBefore: clock.now(), countAttempt: true, error: "x")
        _ = try database.outbox.resetInFlight(slot: slot)
        _ = try database.outbox.unreachable(slot: slot, chatID: 10)
        try database.outbox.markUnreachable(slot: slot, chatID: 10, reason: .blocked, error: "403")
        _ = try database.writer.write { try OutboxRepository.markReachable(slot: slot, chatID: 10, now: clock.now(), $0) }
        _ = try database.outbox.pending(slot: slot, afterID: 0)
        try database.writer.write { db in
            _ = try OutboxRepository.olderRowWaits(slot: slot, chatID: 10, before: rows[1].id, db)
            _ = try OutboxRepository.claimForSending(rows[1].id, now: clock.now(), db)
            _ = try OutboxRepository.messageConnectionEnded(1, db)
            _ = try OutboxRepository.expiredHeld(before: clock.now(), limit: 10, db)
            _ = try OutboxRepository.reopenedAt(slot: slot, chatID: 10, db)
            try OutboxRepository.reschedule(rows[1].id, notBefore: clock.now(), countAttempt: false, error: "x", now: clock.now(), db)
            _ = try OutboxRepository.holdChat(slot: slot, chatID: 10, reason: .blocked, error: "403", inFlight: rows[1].id, now: clock.now(), db)
            _ = try OutboxRepository.holdChat(slot: slot, chatID: 10, reason: .notStarted, error: "held", now: clock.now(), db)
            _ = try OutboxRepository.requeueHeld(slot: slot, chatID: 10, now: clock.now(), db)
            _ = try OutboxRepository.markDead(rows[1].id, error: "400", now: clock.now(), db)
            _ = try PersonNotices.claim(user: 10, kind: .hourlyCap, period: "2026-12-02 08", now: clock.now(), db)
            _ = try MessageDelivery.sentCount(sender: 10, since: clock.now(), db)
            _ = try MessageDelivery.albumSeen(sender: 10, mediaGroupID: "album", since: clock.now(), db)
            _ = try MessageDelivery.claimUndeliveredNotice(message: 1, now: clock.now(), db)
            _ = try ConnectionRepository.latest(worker: 10, db)
        }
        _ = try database.outbox.counts()
        let job = try database.jobs.enqueue(kind: "translate", queueKey: "connection:1", payload: "{}")
        _ = try database.jobs.claim(limit: 4)
        _ = try database.jobs.queueState()
        _ = try database.jobs.queueState(backlog: false)
        try database.jobs.reschedule(job.id, notBefore: clock.now(), error: "x")
        try database.writer.write { try JobRepository.complete(job.id, now: clock.now(), $0) }
        _ = try database.jobs.backlog()
        _ = try database.jobs.resetRunning()
        _ = try database.outbox.purgeFinished([.sent], updatedBefore: clock.now())
        _ = try database.outbox.purgeFinished([.dead, .unreachable], updatedBefore: clock.now())
        _ = try database.jobs.purgeFinished([.done, .failed], updatedBefore: clock.now())
        try database.updateLog.recordFailure(slot: slot, updateID: 1, kind: "message", error: "x", maxAttempts: 3)
        try database.writer.write { try UpdateLog.markHandled(slot: slot, updateID: 2, kind: "message", now: clock.now(), $0) }
        _ = try database.updateLog.find(slot: slot, updateID: 2)
        _ = try database.updateLog.list(status: .failed)
        _ = try database.updateLog.count(status: .handled)
        try database.updateLog.prune(receivedBefore: clock.now().addingTimeInterval(-86400))

        try database.connections.disconnect(connection.id)
        try database.connections.disconnect(manager: 1, slot: BotSlot(2)!)
        try database.workers.softDelete(10)
        try database.managers.softDelete(1)
    }
}
