import BridgeOSCore
import BridgeOSFlows
import BridgeOSOperations
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The conditions the admins are told of, by name (`slot_stopped:2`, `dead_letters`, …).
public enum AlertCondition {
    public static let deadLetters = "dead_letters"
    public static let translatorFailing = "translator_failing"
    public static let backlog = "outbox_backlog"
    public static let diskLow = "disk_low"
    public static let backupFailed = "backup_failed"
    public static func slotStopped(_ slot: BotSlot) -> String { "slot_stopped:\(slot.number)" }

    /// The dashboard's words for a condition.
    public static func title(of condition: String) -> String {
        switch condition {
        case deadLetters: "Messages could not be delivered"
        case translatorFailing: "Translation failing for over 5 minutes"
        case backlog: "A message waited over 10 minutes to go out"
        case diskLow: "Disk space low"
        case backupFailed: "Scheduled backup failed"
        default: condition.hasPrefix("slot_stopped:") ? "Bot slot \(condition.dropFirst("slot_stopped:".count)) stopped receiving" : condition
        }
    }
}

/// Watches the appliance and tells the admins (`BRIDGEOS_ADMIN_IDS`) on Telegram when a slot stops polling,
/// messages are dead-lettered, translation fails for over 5 minutes, the oldest waiting message is over
/// 10 minutes old, the disk is low, or the scheduled backup failed — once per condition until it clears
/// (then they hear that it cleared), never more than `maxPerHour` messages an hour.
public final class AlertService: Service, Sendable {
    public struct Settings: Sendable {
        public var admins: Set<Int64>
        public var slots: [BotSlot]
        public var interval: Duration
        /// A slot whose last poll is older than this has stopped.
        public var slotStaleAfter: TimeInterval
        public var translatorFailingFor: TimeInterval = 5 * 60
        public var backlogAge: TimeInterval = 10 * 60
        /// Low: less free than this many bytes, or than 5 % of the disk.
        public var minimumFreeBytes: Int64 = 1 << 30
        public var deadLetterWindow: TimeInterval = 3600
        /// A condition that clears and comes back within this time is not told again.
        public var quiet: TimeInterval = 30 * 60
        public var maxPerHour = 12
        public var dashboardURL: String?

        public init(admins: Set<Int64>, slots: [BotSlot], interval: Duration = .seconds(30), slotStaleAfter: TimeInterval, dashboardURL: String?) {
            self.admins = admins
            self.slots = slots
            self.interval = interval
            self.slotStaleAfter = slotStaleAfter
            self.dashboardURL = dashboardURL
        }
    }

    /// Where the facts come from (tests give their own disk and backup readings).
    public struct Probes: Sendable {
        public var disk: @Sendable () -> (free: Int64, total: Int64)?
        public var backup: @Sendable () -> BackupStatus?

        public init(disk: @escaping @Sendable () -> (free: Int64, total: Int64)?, backup: @escaping @Sendable () -> BackupStatus?) {
            self.disk = disk
            self.backup = backup
        }

        public static func live(dataDirectory: String, backupDirectory: String) -> Probes {
            Probes(disk: { DiskSpace.available(at: dataDirectory) }, backup: { BackupStatus.read(in: backupDirectory) })
        }
    }

    let database: AppDatabase
    let intake: Intake
    let status: SlotStatusBoard
    let health: ApplianceHealth
    let localizer: Localizer
    let settings: Settings
    let probes: Probes
    let started: Date
    let logger: Logger
    private let sentTimes = Mutex<[Date]>([])

    public init(database: AppDatabase, intake: Intake, status: SlotStatusBoard, health: ApplianceHealth, localizer: Localizer,
                settings: Settings, probes: Probes, logger: Logger) {
        self.database = database
        self.intake = intake
        self.status = status
        self.health = health
        self.localizer = localizer
        self.settings = settings
        self.probes = probes
        self.started = database.clock.now()
        self.logger = logger
    }

    public func run() async throws {
        // With no admins the conditions are still recorded: the dashboard shows them.
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await check()
            } catch {
                logger.warning("alerts: a check failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.settings.interval) }
        }
    }

    /// One reading of every condition: what holds is recorded, and the admins told of what started or
    /// cleared, in the same transaction (a notice is recorded as sent only when it was queued).
    public func check() async throws {
        let now = database.clock.now()
        let readings = try readings(now: now)
        let receiving = Set(status.all.filter { $0.value.isReceiving }.map(\.key))
        let logger = logger
        try await intake.external { [self] context in
            for (condition, holds, key, values) in readings {
                let transition = try context.tx.recordAlert(condition, holds: holds, detail: values["detail"], quiet: settings.quiet, now: now) {
                    try queue($0 == .cleared ? .alertCleared : .alertRaised, what: key, values, receiving: receiving, now: now, context)
                }
                switch transition {
                case .raised: logger.error("alert", metadata: ["condition": "\(condition)"])
                case .cleared: logger.notice("alert cleared", metadata: ["condition": "\(condition)"])
                case .raisedQuietly: logger.warning("alert holds; the admins are not told (yet)", metadata: ["condition": "\(condition)"])
                case .unchanged: break
                }
            }
        }
    }

    typealias Reading = (condition: String, holds: Bool, key: TextKey, values: [String: String])

    func readings(now: Date) throws -> [Reading] {
        var readings: [Reading] = []
        let board = status.all
        let warmedUp = now.timeIntervalSince(started) > settings.slotStaleAfter
        for slot in settings.slots {
            let known = board[slot]
            let stale = known?.lastPollAt.map { now.timeIntervalSince($0) > settings.slotStaleAfter } ?? warmedUp
            // Refused, or Telegram reports it cannot deliver to the slot's webhook.
            let refused = known?.state == .unauthorized || (known?.state == .webhook && known?.lastError != nil)
            readings.append((AlertCondition.slotStopped(slot), refused || stale, .alertSlotStopped,
                             ["slot": "\(slot.number)", "bot": known?.username.map { "@" + $0 } ?? "", "detail": known?.lastError ?? ""]))
        }
        let since = now.addingTimeInterval(-settings.deadLetterWindow)
        let dead = try database.alerts.deadLetters(since: since) + database.alerts.failedJobs(since: since)
        readings.append((AlertCondition.deadLetters, dead > 0, .alertDeadLetters, ["count": "\(dead)", "detail": "\(dead) in the last hour"]))
        let failing = health.snapshot.translationFailing(longerThan: settings.translatorFailingFor, recent: settings.translatorFailingFor, now: now)
        readings.append((AlertCondition.translatorFailing, failing, .alertTranslatorFailing, ["detail": health.snapshot.lastTranslationError ?? ""]))
        let oldest = try database.alerts.oldestWaiting()
        let backlog = oldest.map { now.timeIntervalSince($0) > settings.backlogAge } ?? false
        readings.append((AlertCondition.backlog, backlog, .alertBacklog,
                         ["minutes": "\(oldest.map { Int(now.timeIntervalSince($0) / 60) } ?? 0)", "detail": ""]))
        if let disk = probes.disk() {
            let low = disk.free < settings.minimumFreeBytes || (disk.total > 0 && Double(disk.free) / Double(disk.total) < 0.05)
            let free = "\(disk.free / (1 << 20)) MB"
            readings.append((AlertCondition.diskLow, low, .alertDiskLow, ["free": free, "detail": "\(free) free"]))
        }
        if let backup = probes.backup() {
            readings.append((AlertCondition.backupFailed, !backup.ok, .alertBackupFailed, ["detail": backup.ok ? "" : String((backup.error ?? "").prefix(200))]))
        }
        return readings.map { reading in
            var values = reading.values
            if values["detail"]?.isEmpty == true { values["detail"] = nil }
            return (reading.condition, reading.holds, reading.key, values)
        }
    }

    /// Queues the message to every admin through a bot they have started (a receiving one first); false when
    /// nobody could be reached (no admins, none has started a running bot, the hourly limit).
    func queue(_ key: TextKey, what: TextKey, _ values: [String: String], receiving: Set<BotSlot>, now: Date, _ context: IntakeContext) throws -> Bool {
        guard !settings.admins.isEmpty else { return false }
        let running = context.bots.keys.sorted()
        let preferred = running.filter(receiving.contains) + running.filter { !receiving.contains($0) }
        var targets: [(admin: Int64, slot: BotSlot)] = []
        for admin in settings.admins.sorted() {
            if let slot = try preferred.first(where: { try context.tx.hasBotChat(slot: $0, user: admin) }) { targets.append((admin, slot)) }
        }
        guard !targets.isEmpty else { return false }
        let allowed: Bool = sentTimes.withLock { times in
            times.removeAll { now.timeIntervalSince($0) > 3600 }
            guard times.count < settings.maxPerHour else { return false }
            times.append(now)
            return true
        }
        guard allowed else {
            logger.warning("alerts: over the hourly limit, this one waits (it shows on the dashboard)", metadata: ["what": "\(what.rawValue)"])
            return false
        }
        for (admin, slot) in targets {
            let language = try context.tx.user(admin)?.language ?? "en"
            var text = localizer.text(key, language, ["what": localizer.text(what, language, values)])
            if let detail = values["detail"], key == .alertRaised { text += "\n" + detail }
            if let link = settings.dashboardURL { text += "\n" + link }
            try context.send(SendMessage(chatID: .id(admin), text: String(text.prefix(4000))), chatID: admin, slot: slot)
        }
        return true
    }
}
