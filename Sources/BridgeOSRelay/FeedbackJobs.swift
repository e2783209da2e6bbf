import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import Foundation
import Logging

/// Feedback's two trips, each translated outside any transaction: the notice to every admin (in the admin's
/// language, with the original), and an admin's answer back to its writer (in theirs). Without a translator,
/// or when it fails for good, the text goes as written rather than not at all.
struct FeedbackTranslation: Sendable {
    let translator: (any Translator)?
    let logger: Logger

    /// `text` in `target`; nil when it is in that language already or cannot be translated (then it goes as is).
    /// A provider outage is retried by the job (up to `attempts`).
    func translate(_ text: String, from source: String, to target: String, speaker: TranslationRequest.Role, job: JobRow,
                   attempts: Int = 4) async throws -> String? {
        guard let translator, (Language.named(source)?.code ?? source) != (Language.named(target)?.code ?? target) else { return nil }
        do {
            return try await translator.translate(TranslationRequest(text: text, sourceLanguage: source, targetLanguage: target, speaker: speaker))
        } catch let error as TranslationError {
            if case let .retryable(reason, after) = error, job.attempts < attempts {
                throw JobFailure.retryable("feedback translation: \(reason)", after: after ?? .seconds(2))
            }
            logger.warning("feedback goes untranslated", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// The bot to reach `user` through: `preferred` if they use it, else the first running bot they use.
    static func slot(for user: Int64, preferred: BotSlot?, context: IntakeContext) throws -> BotSlot? {
        let running = context.bots.keys.sorted()
        for slot in [preferred].compactMap({ $0 }).filter(running.contains) + running where try context.tx.hasBotChat(slot: slot, user: user) {
            return slot
        }
        return nil
    }
}

/// Passes a user's feedback on to every admin, as a message they can reply to.
public struct FeedbackNoticeJobHandler: JobHandler {
    public let kind = BusinessJobs.feedbackNotice
    let database: AppDatabase
    let translation: FeedbackTranslation
    let localizer: Localizer
    let admins: Set<Int64>

    public init(database: AppDatabase, translator: (any Translator)?, localizer: Localizer, admins: Set<Int64>, logger: Logger) {
        self.database = database
        self.translation = FeedbackTranslation(translator: translator, logger: logger)
        self.localizer = localizer
        self.admins = admins
    }

    struct Notice: Sendable {
        let admin: Int64
        let text: String
    }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(BusinessJobs.Notice.self, from: Data(job.payload.utf8))
        let loaded = try database.read { tx -> (Feedback, User, Role?, [Int64: String])? in
            guard let feedback = try tx.feedback(payload.feedback), let writer = try tx.user(feedback.userID) else { return nil }
            var languages: [Int64: String] = [:]
            for admin in admins { languages[admin] = try tx.user(admin)?.language ?? "en" }
            return (feedback, writer, try tx.role(of: writer.id), languages)
        }
        guard let (feedback, writer, role, languages) = loaded else { return .nothing }
        let source = feedback.language ?? writer.language
        var translated: [String: String?] = [:]
        for language in Set(languages.values) {
            translated[language] = try await translation.translate(feedback.message, from: source, to: language,
                                                                   speaker: role == .worker ? .worker : .manager, job: job)
        }
        let notices = languages.sorted { $0.key < $1.key }.map { admin, language in
            // The translation, then the original under it (when there is a translation).
            var text = feedback.message
            if let translation = translated[language] ?? nil {
                text = translation + "\n\n" + localizer.text(.feedbackNoticeOriginal, language, ["text": feedback.message])
            }
            let notice = localizer.text(.feedbackNotice, language, [
                "id": "\(feedback.id)", "name": writer.displayName, "role": localizer.text(role == .worker ? .roleWorker : .roleManager, language),
                "language": Language.named(source)?.nativeName ?? source, "text": text,
            ])
            return Notice(admin: admin, text: notice)
        }
        let (feedbackID, preferred, logger) = (feedback.id, feedback.botSlot, translation.logger)
        return JobCompletion { context in
            for notice in notices {
                // A bot the admin uses; else the feedback's bot (or the first running one), where the notice
                // waits, held, until the admin opens it: feedback is never dropped for want of a chat.
                let opened = try FeedbackTranslation.slot(for: notice.admin, preferred: preferred, context: context)
                guard let slot = opened ?? preferred.flatMap({ context.bots[$0] != nil ? $0 : nil }) ?? context.bots.keys.min() else { continue }
                if opened == nil {
                    logger.warning("feedback waits for an admin to start a bot", metadata: ["feedback": "\(feedbackID)", "admin": "\(notice.admin)", "slot": "\(slot)"])
                }
                let rows = try context.send(SendMessage(chatID: .id(notice.admin), text: notice.text), chatID: notice.admin, slot: slot,
                                            reportDelivery: true)
                for row in rows {
                    try context.tx.recordFeedbackNotice(feedback: feedbackID, admin: notice.admin, slot: slot, outbox: row.id, now: context.now)
                }
            }
        }
    }
}

/// Passes an admin's answer to the feedback's writer, translated, and tells the admin it went.
public struct FeedbackAnswerJobHandler: JobHandler {
    public let kind = BusinessJobs.feedbackAnswer
    let database: AppDatabase
    let translation: FeedbackTranslation
    let localizer: Localizer

    public init(database: AppDatabase, translator: (any Translator)?, localizer: Localizer, logger: Logger) {
        self.database = database
        self.translation = FeedbackTranslation(translator: translator, logger: logger)
        self.localizer = localizer
    }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(BusinessJobs.Answer.self, from: Data(job.payload.utf8))
        let loaded = try database.read { tx -> (Feedback, User, String)? in
            guard let feedback = try tx.feedback(payload.feedback), let writer = try tx.user(feedback.userID) else { return nil }
            return (feedback, writer, try payload.language ?? tx.user(payload.admin)?.language ?? "en")
        }
        guard let (feedback, writer, adminLanguage) = loaded else { return .nothing }
        let text = try await translation.translate(payload.text, from: adminLanguage, to: writer.language, speaker: .manager, job: job) ?? payload.text
        let answer = localizer.text(.feedbackAnswer, writer.language, ["text": text])
        let sent = localizer.text(.feedbackAnswerSent, adminLanguage, ["id": "\(feedback.id)", "name": writer.displayName])
        let (writerID, preferred, admin, adminSlot) = (writer.id, feedback.botSlot, payload.admin, BotSlot(payload.adminSlot))
        return JobCompletion { context in
            // The bot the feedback came through, else one the writer uses; else that bot, where it waits until
            // they open it again.
            guard let slot = try FeedbackTranslation.slot(for: writerID, preferred: preferred, context: context)
                ?? preferred.flatMap({ context.bots[$0] != nil ? $0 : nil }) ?? context.bots.keys.min()
            else { return }
            try context.send(SendMessage(chatID: .id(writerID), text: answer), chatID: writerID, slot: slot)
            if let adminSlot, context.bots[adminSlot] != nil {
                try context.send(SendMessage(chatID: .id(admin), text: sent), chatID: admin, slot: adminSlot)
            }
        }
    }
}
