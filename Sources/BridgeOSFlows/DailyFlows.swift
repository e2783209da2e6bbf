import BridgeOSCore
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import Foundation

/// `/daily` (the summary now, or every day at an hour) and `/timezone`.
extension Flow {
    func daily(_ argument: String?, manager: User, language: String) throws {
        switch argument?.lowercased() {
        case nil:
            try dailyNow(manager: manager, language: language)
        case "off"?, "0ff"?, "no"?, "stop"?:
            try tx.setDailySummaryHour(manager: manager.id, hour: nil, now: now)
            try replies.send(.dailyScheduleOff, to: manager.id, language: language)
        case let value?:
            let digits = value.hasSuffix(":00") ? String(value.dropLast(3)) : value.hasSuffix("h") ? String(value.dropLast()) : value
            guard let hour = Int(digits), (0...23).contains(hour) else {
                return try replies.tell(.dailyScheduleUsage, to: manager.id, language: language)
            }
            try tx.setDailySummaryHour(manager: manager.id, hour: hour, now: now)
            let zone = try WorkClock.timeZone(manager: manager.id, tx)
            let next = try DailySchedule.queueNext(manager: manager.id, hour: hour, slot: slot, zone: zone, context: context)
            try replies.send(.dailyScheduled, to: manager.id, language: language, [
                "time": WorkClock.time(next, language: language, timeZone: zone), "zone": WorkClock.zoneName(zone),
            ])
        }
    }

    /// The summary of the last 24 hours: queued for the summary provider, or (without one) said so, with
    /// the open tasks instead.
    func dailyNow(manager: User, language: String) throws {
        let connections = try tx.activeConnections(manager: manager.id).sorted { $0.key < $1.key }.map(\.value)
        guard !connections.isEmpty else { return try replies.tell(.announceNoWorkers, to: manager.id, language: language) }
        guard router.work.summariesAvailable else {
            var lines = [localizer.text(.dailyNoProvider, language)]
            for connection in connections {
                guard let worker = try tx.user(connection.workerID) else { continue }
                lines.append("")
                lines.append("👷 \(worker.displayName)")
                let tasks = try tx.openTasks(connection: connection.id)
                if tasks.isEmpty { lines.append(localizer.text(.dailyNoOpenTasks, language)) }
                for task in tasks { lines.append("⬜ " + shortQuote(task.description, limit: 80)) }
            }
            try context.send(SendMessage(chatID: .id(manager.id), text: lines.joined(separator: "\n")), chatID: manager.id)
            return
        }
        try replies.send(.dailyWorking, to: manager.id, language: language)
        try context.enqueueJob(kind: WorkJobs.dailySummary, queueKey: "daily:\(manager.id)",
                               payload: DailySchedule.Job(manager: manager.id, slot: slot.number, until: now, day: nil, hour: nil))
    }

    func timeZoneCommand(_ argument: String?, manager: User, language: String) throws {
        guard let argument else {
            let zone = try WorkClock.timeZone(manager: manager.id, tx)
            return try replies.tell(.timezoneCurrent, to: manager.id, language: language, [
                "zone": WorkClock.zoneName(zone), "time": WorkClock.time(now, language: language, timeZone: zone),
            ])
        }
        guard let zone = DailySchedule.timeZone(named: argument) else {
            return try replies.tell(.timezoneInvalid, to: manager.id, language: language, ["value": String(argument.prefix(64))])
        }
        try tx.setTimeZone(manager: manager.id, to: zone.identifier, now: now)
        if let hour = try tx.dailySummaryHour(manager: manager.id) {
            // The scheduled hour now means that hour in the new zone.
            _ = try DailySchedule.queueNext(manager: manager.id, hour: hour, slot: slot, zone: zone, context: context)
        }
        try replies.send(.timezoneSet, to: manager.id, language: language, [
            "zone": WorkClock.zoneName(zone), "time": WorkClock.time(now, language: language, timeZone: zone),
        ])
    }
}

/// The scheduled daily summary: one job per manager and local day, queued for the chosen hour; the job
/// that runs claims the day (so a restart, or a schedule changed twice, never gives two) and queues the
/// next day's.
public enum DailySchedule {
    public struct Job: Codable, Sendable {
        public let manager: Int64
        /// The bot whose chat gets it.
        public let slot: Int
        /// The end of the 24 hours summarized (nil: when the job runs).
        public let until: Date?
        /// A scheduled one: its local day (YYYY-MM-DD) and hour.
        public let day: String?
        public let hour: Int?
        /// The time zone it was scheduled in (a job of a zone changed since is stale).
        public let zone: String?

        public init(manager: Int64, slot: Int, until: Date?, day: String?, hour: Int?, zone: String? = nil) {
            self.zone = zone
            self.manager = manager
            self.slot = slot
            self.until = until
            self.day = day
            self.hour = hour
        }
    }

    /// Queues the next scheduled summary at `hour` (manager's zone) after `context.now`, of a later day than
    /// `after` (the day a summary was just given for), and of a day not given yet (a schedule changed after
    /// today's went out starts tomorrow); returns when.
    @discardableResult
    public static func queueNext(manager: Int64, hour: Int, slot: BotSlot, zone: TimeZone, after given: String? = nil,
                                 context: IntakeContext) throws -> Date {
        var (when, day) = next(hour: hour, after: context.now, zone: zone)
        func taken(_ day: String) throws -> Bool {
            if let given, day <= given { return true }
            return try context.tx.dailySummaryClaimed(manager: manager, localDay: day)
        }
        while try taken(day) { (when, day) = next(hour: hour, after: when, zone: zone) }
        try context.enqueueJob(kind: WorkJobs.dailySummary, queueKey: "daily:\(manager):\(day):\(hour):\(zone.identifier)",
                               payload: Job(manager: manager, slot: slot.number, until: nil, day: day, hour: hour, zone: zone.identifier),
                               notBefore: when)
        return when
    }

    /// The next time it is `hour`:00 in `zone` after `date`, and that local day.
    public static func next(hour: Int, after date: Date, zone: TimeZone) -> (Date, String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var when = calendar.date(bySettingHour: hour, minute: 0, second: 0, of: date) ?? date
        if when <= date { when = calendar.date(byAdding: .day, value: 1, to: when) ?? when }
        return (when, localDay(when, zone: zone))
    }

    public static func localDay(_ date: Date, zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// "Europe/Madrid", "UTC", "+2", "UTC-5", "GMT+5:30".
    public static func timeZone(named text: String) -> TimeZone? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if ["UTC", "GMT", "Z"].contains(trimmed.uppercased()) { return TimeZone(identifier: "UTC") }
        if trimmed.contains("/") { return TimeZone(identifier: trimmed) }
        var offset = trimmed.uppercased()
        for prefix in ["UTC", "GMT"] where offset.hasPrefix(prefix) { offset.removeFirst(prefix.count) }
        guard let sign = offset.first, sign == "+" || sign == "-" else { return nil }
        let parts = offset.dropFirst().split(separator: ":", maxSplits: 1)
        guard let hours = parts.first.flatMap({ Int($0) }), (0...14).contains(hours) else { return nil }
        let minutes = parts.count == 2 ? Int(parts[1]) ?? -1 : 0
        guard [0, 30, 45].contains(minutes) else { return nil }
        if minutes == 0 {
            // IANA's Etc zones count the other way: UTC+2 is Etc/GMT-2.
            return TimeZone(identifier: hours == 0 ? "UTC" : "Etc/GMT\(sign == "+" ? "-" : "+")\(hours)")
        }
        let seconds = (hours * 3600 + minutes * 60) * (sign == "+" ? 1 : -1)
        return TimeZone(secondsFromGMT: seconds).flatMap { TimeZone(identifier: $0.identifier) }
    }
}
