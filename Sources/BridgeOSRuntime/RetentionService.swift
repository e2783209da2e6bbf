import BridgeOSCore
import BridgeOSStorage
import Foundation
import Logging
import ServiceLifecycle

/// Deletes what BridgeOS keeps only for a while, in small batches so the bots keep writing in between:
/// conversation messages past the retention period, the update log past a week (Telegram redelivers
/// nothing older than 24 hours), expired conversation states, sent outbox rows and done jobs past a week,
/// and dead letters, undelivered rows and failed jobs past the message retention period.
public final class RetentionService: Service, Sendable {
    public struct Settings: Sendable {
        public var messageRetention: TimeInterval
        public var updateLogRetention: TimeInterval
        /// Sent outbox rows and done jobs; dead letters, undelivered rows and failed jobs stay as long as messages.
        public var finishedWorkRetention: TimeInterval
        public var interval: Duration
        public var batchSize: Int

        public init(messageRetentionDays: Int = 30, updateLogRetention: TimeInterval = 7 * 86400, finishedWorkRetention: TimeInterval = 7 * 86400,
                    interval: Duration = .seconds(3600), batchSize: Int = 500) {
            self.messageRetention = TimeInterval(max(1, messageRetentionDays)) * 86400
            self.updateLogRetention = updateLogRetention
            self.finishedWorkRetention = finishedWorkRetention
            self.interval = interval
            self.batchSize = max(1, batchSize)
        }
    }

    public struct Sweep: Sendable, Equatable {
        public let messages: Int
        public let updates: Int
        public let states: Int
        public let outboxRows: Int
        public let jobs: Int

        public init(messages: Int, updates: Int, states: Int, outboxRows: Int = 0, jobs: Int = 0) {
            self.messages = messages
            self.updates = updates
            self.states = states
            self.outboxRows = outboxRows
            self.jobs = jobs
        }
    }

    let database: AppDatabase
    let settings: Settings
    let logger: Logger
    /// Told about held messages that expire undelivered (their senders learn it).
    let observer: (any DeliveryObserver)?
    let bots: BotDirectory
    /// Woken when notices were queued.
    let signals: RuntimeSignals?

    public init(database: AppDatabase, settings: Settings, observer: (any DeliveryObserver)? = nil, bots: BotDirectory = BotDirectory(),
                signals: RuntimeSignals? = nil, logger: Logger) {
        self.database = database
        self.settings = settings
        self.logger = logger
        self.observer = observer
        self.bots = bots
        self.signals = signals
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let sweep = try self.sweep()
                if sweep != Sweep(messages: 0, updates: 0, states: 0) {
                    logger.info("retention sweep", metadata: [
                        "messages": "\(sweep.messages)", "updates": "\(sweep.updates)", "states": "\(sweep.states)",
                        "outbox": "\(sweep.outboxRows)", "jobs": "\(sweep.jobs)",
                    ])
                }
            } catch {
                logger.error("retention sweep failed; will try again", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.settings.interval) }
        }
    }

    /// One pass: everything past its time, in batches. Each kind is purged on its own: one that fails (and
    /// is logged) does not keep the others from running.
    public func sweep() throws -> Sweep {
        let now = database.clock.now()
        let workCutoff = now.addingTimeInterval(-settings.finishedWorkRetention)
        let problemCutoff = now.addingTimeInterval(-settings.messageRetention)
        var failures: [String] = []
        func purge(_ what: String, _ body: () throws -> Int) -> Int {
            do { return try body() } catch {
                logger.error("retention: purging \(what) failed", metadata: ["error": "\(error)"])
                failures.append("\(what): \(error)")
                return 0
            }
        }
        // Rows held for a chat that stayed unreachable for the whole retention period will not be delivered:
        // they become dead letters, and the senders of the messages they carried are told (first: the
        // messages themselves are purged next).
        var expiryFailed = false
        let expired = purge("expired held rows") {
            do { return try expireHeld(before: problemCutoff, now: now) } catch { expiryFailed = true; throw error }
        }
        if expired > 0 {
            logger.notice("held rows expired undelivered; their senders are told", metadata: ["rows": "\(expired)"])
            signals?.wakeAll()
        }
        // The messages are what the notices quote: kept until their held rows were dealt with.
        let messages = expiryFailed ? 0 : purge("messages") {
            try database.messages.purge(olderThan: now.addingTimeInterval(-settings.messageRetention), batchSize: settings.batchSize)
        }
        let updates = purge("update log") { try database.updateLog.prune(receivedBefore: now.addingTimeInterval(-settings.updateLogRetention), batchSize: settings.batchSize) }
        let states = purge("conversation states") { try database.write { try $0.purgeExpiredConversationStates(now: now) } }
        // Sent rows and undelivered ones can depend on each other (a reply to a media copy): a row is purged
        // only once nothing depends on it, so the two are repeated until neither frees anything more.
        var outboxRows = 0
        while true {
            // (Held rows are live: they become dead letters above, with their senders told, before they go.)
            let freed = purge("dead letters") { try database.outbox.purgeFinished([.dead], updatedBefore: problemCutoff, batchSize: settings.batchSize) }
                + purge("sent outbox rows") { try database.outbox.purgeFinished([.sent], updatedBefore: workCutoff, batchSize: settings.batchSize) }
            outboxRows += freed
            if freed == 0 { break }
        }
        let jobs = purge("done jobs") { try database.jobs.purgeFinished([.done], updatedBefore: workCutoff, batchSize: settings.batchSize) }
            + purge("failed jobs") { try database.jobs.purgeFinished([.failed], updatedBefore: problemCutoff, batchSize: settings.batchSize) }
        // The dashboard's expired sessions and used or expired one-time links.
        _ = purge("dashboard sessions and links") { try database.admin.prune() }
        let sweep = Sweep(messages: messages, updates: updates, states: states, outboxRows: outboxRows, jobs: jobs)
        if !failures.isEmpty { throw RetentionError(sweep: sweep, failures: failures) }
        return sweep
    }
}

extension RetentionService {
    /// Turns held rows older than `cutoff` into dead letters, telling their messages' senders, in batches.
    func expireHeld(before cutoff: Date, now: Date) throws -> Int {
        let days = Int(settings.messageRetention / 86400)
        let (observer, slots) = (observer, bots.all)
        var total = 0
        while true {
            let count = try database.write { tx -> Int in
                let rows = try tx.expiredHeldRows(before: cutoff, limit: settings.batchSize)
                for row in rows {
                    guard let dead = try tx.markDead(row.id, error: "held past the retention period", now: now) else { continue }
                    let context = IntakeContext(tx: tx, now: now, slot: row.botSlot, bots: slots, observer: observer)
                    try context.deliveryFailed(dead, reason: .expired(days: days))
                    context.logNoticeErrors(logger)
                }
                return rows.count
            }
            total += count
            if count < settings.batchSize { return total }
        }
    }
}

/// Some purges of a sweep failed; the others ran (`sweep` says what they deleted).
public struct RetentionError: Error, CustomStringConvertible {
    public let sweep: RetentionService.Sweep
    public let failures: [String]
    public var description: String { "retention sweep incomplete: \(failures.joined(separator: "; "))" }
}
