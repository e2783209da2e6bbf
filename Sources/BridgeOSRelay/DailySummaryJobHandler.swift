import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import Foundation
import Logging

/// The daily summary: per connected worker, the last 24 hours of conversation (times in the manager's
/// time zone) summarized in the manager's language with the open tasks; a long day is summarized in parts
/// first, never cut. A scheduled one claims its day when it is delivered, and queues the next day's.
public struct DailySummaryJobHandler: JobHandler {
    public let kind = WorkJobs.dailySummary
    let database: AppDatabase
    let summarizer: (any Summarizer)?
    let localizer: Localizer
    /// The most characters of conversation given to the provider at once.
    let chunkCharacters: Int
    let logger: Logger

    public init(database: AppDatabase, summarizer: (any Summarizer)?, localizer: Localizer, chunkCharacters: Int = 12_000, logger: Logger) {
        self.database = database
        self.summarizer = summarizer
        self.localizer = localizer
        self.chunkCharacters = chunkCharacters
        self.logger = logger
    }

    struct Worker {
        let name: String
        let lines: [String]
        let openTasks: [String]
    }

    struct Loaded {
        let manager: User
        let industry: String
        let zone: TimeZone
        let workers: [Worker]
    }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(DailySchedule.Job.self, from: Data(job.payload.utf8))
        let until = payload.until ?? database.clock.now()
        let since = until.addingTimeInterval(-86400)
        let loaded = try database.read { tx -> Loaded? in
            guard let manager = try tx.user(payload.manager), let record = try tx.manager(payload.manager), !record.isDeleted else { return nil }
            let zone = TimeZone(identifier: record.timeZone) ?? .gmt
            if let day = payload.day {
                // A schedule changed (hour, time zone) or stopped since this was queued: a newer job has it.
                // Its day given already (a copy of this job ran): no second one, and no provider call.
                guard try Self.isCurrent(payload, zone: zone, tx), !(try tx.dailySummaryClaimed(manager: manager.id, localDay: day))
                else { return nil }
            }
            var workers: [Worker] = []
            for connection in try tx.activeConnections(manager: manager.id).sorted(by: { $0.key < $1.key }).map(\.value) {
                guard let worker = try tx.user(connection.workerID) else { continue }
                let lines = try tx.messages(connection: connection.id, since: since, until: until).map { message in
                    let speaker = message.senderID == manager.id ? manager.displayName : worker.displayName
                    let text = message.senderID == manager.id ? message.originalText : (message.translatedText ?? message.originalText)
                    let time = WorkClock.time(message.createdAt, language: manager.language, timeZone: zone)
                    return "\(time) \(speaker): \(text.isEmpty ? "📎" : text)"
                }
                let tasks = try tx.openTasks(connection: connection.id).map(\.description)
                workers.append(Worker(name: worker.displayName, lines: lines, openTasks: tasks))
            }
            return Loaded(manager: manager, industry: record.industry, zone: zone, workers: workers)
        }
        guard let loaded else { return .nothing }
        let language = loaded.manager.language
        let (from, to) = (WorkClock.due(since, language: language, timeZone: loaded.zone, now: until),
                          WorkClock.due(until, language: language, timeZone: loaded.zone, now: until))
        let period = from + " – " + to
        var texts: [String] = []
        for worker in loaded.workers {
            var text = localizer.text(.dailyHeader, language, ["worker": worker.name, "from": from, "to": to])
            if worker.lines.isEmpty {
                text += "\n" + localizer.text(.dailyNoMessages, language) + "\n" + taskList(worker.openTasks, language: language)
            } else if let summarizer {
                let request = SummaryRequest(language: language, workerName: worker.name, managerName: loaded.manager.displayName,
                                             industry: loaded.industry, period: period, transcript: worker.lines, openTasks: worker.openTasks)
                do {
                    text += "\n" + (try await summarize(request, with: summarizer))
                } catch let error as TranslationError {
                    if case .retryable = error, job.attempts < 3 { throw JobFailure.retryable("summary: \(error)", after: .seconds(5)) }
                    logger.error("the daily summary could not be made", metadata: ["manager": "\(payload.manager)", "error": "\(error)"])
                    text = localizer.text(.dailyFailed, language, ["worker": worker.name]) + "\n\n" + taskList(worker.openTasks, language: language)
                }
            } else {
                text += "\n" + taskList(worker.openTasks, language: language)
            }
            texts.append(text)
        }
        let (manager, zone, summaries) = (loaded.manager, loaded.zone, texts)
        return JobCompletion { context in
            if let day = payload.day, let hour = payload.hour {
                // Checked again: the schedule may have changed while the summary was being written.
                guard try Self.isCurrent(payload, zone: zone, context.tx),
                      try context.tx.claimDailySummary(manager: manager.id, localDay: day, now: context.now)
                else { return }
                let slot = BotSlot(payload.slot) ?? BotSlot.all[0]
                try DailySchedule.queueNext(manager: manager.id, hour: hour, slot: slot, zone: zone, after: day, context: context)
            }
            guard let slot = Self.slot(payload.slot, manager: manager.id, context: context) else { return }
            for text in summaries {
                try context.send(SendMessage(chatID: .id(manager.id), text: text), chatID: manager.id, slot: slot)
            }
        }
    }

    /// Whether a scheduled job is still the manager's schedule (its hour, in the zone it was queued for).
    static func isCurrent(_ payload: DailySchedule.Job, zone: TimeZone, _ tx: StoreTransaction) throws -> Bool {
        guard let record = try tx.manager(payload.manager), !record.isDeleted else { return false }
        return try tx.dailySummaryHour(manager: payload.manager) == payload.hour
            && (payload.zone == nil || payload.zone == record.timeZone) && record.timeZone == zone.identifier
    }

    /// The job failed for good (not a provider outage, which is answered with a notice): the manager is not
    /// left with "preparing…", and a schedule goes on with tomorrow's.
    public func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {
        guard let payload = try? JSONDecoder().decode(DailySchedule.Job.self, from: Data(job.payload.utf8)),
              let manager = try context.tx.user(payload.manager),
              let slot = Self.slot(payload.slot, manager: manager.id, context: context)
        else { return }
        if let day = payload.day, let hour = payload.hour, let record = try context.tx.manager(manager.id),
           let zone = TimeZone(identifier: record.timeZone), try Self.isCurrent(payload, zone: zone, context.tx) {
            try DailySchedule.queueNext(manager: manager.id, hour: hour, slot: slot, zone: zone, after: day, context: context)
        }
        let names = try context.tx.activeConnections(manager: manager.id).values.compactMap { try context.tx.user($0.workerID)?.displayName }
        let text = localizer.text(.dailyFailed, manager.language, ["worker": names.sorted().joined(separator: ", ")])
        try context.send(SendMessage(chatID: .id(manager.id), text: text), chatID: manager.id, slot: slot)
    }

    /// One summary, in parts first when the conversation is longer than a request may be.
    func summarize(_ request: SummaryRequest, with summarizer: any Summarizer) async throws -> String {
        let parts = SummaryChunks.split(request.transcript, budget: chunkCharacters)
        guard parts.count > 1 else { return try await summarizer.summarize(request) }
        var notes: [String] = []
        for part in parts {
            var partial = request
            partial.transcript = part
            partial.isPart = true
            partial.openTasks = []
            notes.append(try await summarizer.summarize(partial))
        }
        var final = request
        final.transcript = []
        final.partNotes = notes
        return try await summarizer.summarize(final)
    }

    func taskList(_ tasks: [String], language: String) -> String {
        guard !tasks.isEmpty else { return localizer.text(.dailyNoOpenTasks, language) }
        return ([localizer.text(.dailyOpenTasks, language)] + tasks.map { "⬜ " + shortQuote($0, limit: 80) }).joined(separator: "\n")
    }

    /// The bot to send through: the one asked, else the manager's home bot, else any they opened.
    static func slot(_ number: Int, manager: Int64, context: IntakeContext) -> BotSlot? {
        if let slot = BotSlot(number), context.bots[slot] != nil { return slot }
        let home = try? context.tx.manager(manager)?.homeSlot
        if let home, context.bots[home] != nil { return home }
        return BotSlot.all.first { context.bots[$0] != nil && ((try? context.tx.hasBotChat(slot: $0, user: manager)) ?? false) }
    }
}
