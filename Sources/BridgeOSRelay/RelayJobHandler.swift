import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import CoreMetrics
import Foundation
import Logging

/// The job side: translates with the conversation as context and delivers through the connection's bot.
/// A provider outage keeps the job (and every later one of the conversation) waiting, and tells the sender
/// once; a translation that loses a protected span is tried once more, then the original goes with a note.
public struct RelayJobHandler: JobHandler {
    public let kind = RelayJob.kind
    let database: AppDatabase
    let translator: any Translator
    let localizer: Localizer
    let settings: RelaySettings
    let signals: RuntimeSignals
    let logger: Logger
    let metrics: any MetricsFactory
    /// How long the provider takes per translation.
    let latency: CoreMetrics.Timer

    public init(database: AppDatabase, translator: any Translator, localizer: Localizer, settings: RelaySettings,
                signals: RuntimeSignals, metrics: any MetricsFactory = NOOPMetricsHandler.instance, logger: Logger) {
        self.metrics = metrics
        self.latency = CoreMetrics.Timer(label: "bridgeos_translation_duration", factory: metrics)
        self.database = database
        self.translator = translator
        self.localizer = localizer
        self.settings = settings
        self.signals = signals
        self.logger = logger
    }

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(RelayJob.self, from: Data(job.payload.utf8))
        let contextMessages = settings.contextMessages
        // A synchronous read: an async one would hold a pooled reader across a suspension, and with every
        // cooperative thread blocked in a synchronous read waiting for a reader, nothing could give it back.
        let loaded = try database.read { tx -> (ConversationMessage, Connection, User, User, String, [ConversationMessage])? in
            guard let message = try tx.message(payload.messageID),
                  let connection = try tx.connection(message.connectionID),
                  let sender = try tx.user(message.senderID),
                  let recipientID = connection.counterpart(of: sender.id), let recipient = try tx.user(recipientID)
            else { return nil }
            let industry = try tx.manager(connection.managerID)?.industry ?? "other"
            let earlier = try tx.messages(connection: connection.id, before: message.id, limit: contextMessages)
            return (message, connection, sender, recipient, industry, earlier)
        }
        guard let (message, connection, sender, recipient, industry, earlier) = loaded else {
            throw JobFailure.final("message \(payload.messageID) or its connection no longer exists")
        }
        let localizer = localizer
        guard connection.isActive else {
            // Ended (/disconnect, /reset) before it ran: not translated (no provider call), not delivered,
            // and its sender is told.
            return JobCompletion { context in
                try CounterpartNotices.tellSender(of: message.id, .relayUndeliveredEnded, localizer: localizer, context: context)
            }
        }
        let protected = ProtectedText(message.originalText, entities: payload.entities)
        var delivered = message.originalText
        var entities = payload.entities
        if ProtectedText.needsTranslation(protected.text, from: sender.language, to: recipient.language) {
            let request = TranslationRequest(
                text: protected.text, sourceLanguage: sender.language, targetLanguage: recipient.language,
                context: earlier.map { .init(role: $0.senderID == connection.managerID ? .manager : .worker, text: $0.originalText) },
                speaker: sender.id == connection.managerID ? .manager : .worker,
                speakerGender: sender.gender.rawValue, addresseeGender: recipient.gender.rawValue, industry: industry,
                placeholders: protected.placeholders)
            (delivered, entities) = try await translate(request, protected: protected, original: message, connection: connection, sender: sender, recipientLanguage: recipient.language)
        }
        let text = delivered
        let carried = entities?.isEmpty == false ? entities : nil
        // (A connection that ends while the translation runs is caught where every row is: the sender checks
        // the message's connection before it sends, and tells the sender instead.)
        return JobCompletion { context in
            try context.tx.setTranslation(of: message.id, to: text)
            // Delivered again after an outage: the next outage gets its own notice.
            try context.tx.clearConnectionNotice(connection: connection.id, kind: .delayed)
            if payload.isMedia {
                try context.send(
                    CopyMessage(chatID: .id(recipient.id), fromChatID: .id(payload.fromChatID), messageID: payload.sourceMessageID,
                                caption: text.isEmpty ? nil : text, captionEntities: text.isEmpty ? nil : carried),
                    chatID: recipient.id, slot: connection.slot, messageID: message.id)
            } else {
                let composed = try WorkDelivery(localizer: localizer).compose(
                    payload.purpose, text: text, entities: carried, recipient: recipient, connection: connection, context: context)
                try context.send(SendMessage(chatID: .id(recipient.id), text: composed.text, entities: composed.entities,
                                             replyMarkup: composed.keyboard.map { .inline($0) }),
                                 chatID: recipient.id, slot: connection.slot, messageID: message.id, reportDelivery: composed.reportDelivery)
            }
        }
    }

    /// The job failed for good (its translation never came, or it kept failing): the sender is told.
    public func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {
        guard let payload = try? JSONDecoder().decode(RelayJob.self, from: Data(job.payload.utf8)) else { return }
        try CounterpartNotices.tellSender(of: payload.messageID, .relayUndeliveredFailed, localizer: localizer, context: context)
    }

    /// The translation with the protected spans' entities, or the original (with its entities) and a note.
    private func translate(_ request: TranslationRequest, protected: ProtectedText, original: ConversationMessage,
                           connection: Connection, sender: User, recipientLanguage: String) async throws -> (String, [MessageEntity]?) {
        let fallback = (untranslated(original.originalText, language: recipientLanguage), protected.originalEntities)
        for attempt in 1...2 {
            let translation: String
            let start = ContinuousClock.now
            do {
                translation = try await translator.translate(request)
                let elapsed = ContinuousClock.now - start
                latency.recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            } catch let error as TranslationError {
                countError(error)
                switch error {
                case let .retryable(reason, after):
                    try await noticeDelay(connection: connection, sender: sender)
                    throw JobFailure.retryable(reason, after: after)
                case let .final(reason, _):
                    logger.error("translation refused for good; sending the original", metadata: ["message": "\(original.id)", "error": "\(reason)"])
                    return fallback
                }
            }
            if let restored = protected.restoreWithEntities(in: translation) { return (restored.text, restored.entities) }
            Counter(label: "bridgeos_translation_errors", dimensions: [("kind", "lost_placeholder")], factory: metrics).increment()
            logger.warning("translation lost a protected span", metadata: ["message": "\(original.id)", "attempt": "\(attempt)"])
        }
        return fallback
    }

    /// Errors by kind: retryable (outages), authentication, quota_exhausted, bad_request, invalid_answer.
    private func countError(_ error: TranslationError) {
        let kind: String = switch error {
        case .retryable: "retryable"
        case let .final(_, finalKind):
            switch finalKind {
            case .authentication: "authentication"
            case .quotaExhausted: "quota_exhausted"
            case .badRequest: "bad_request"
            case .invalidAnswer: "invalid_answer"
            }
        }
        Counter(label: "bridgeos_translation_errors", dimensions: [("kind", kind)], factory: metrics).increment()
    }

    private func untranslated(_ text: String, language: String) -> String {
        "\(text)\n\(localizer.text(.relayUntranslatedNote, language))"
    }

    /// Tells the sender, once per outage, that delivery is delayed.
    private func noticeDelay(connection: Connection, sender: User) async throws {
        let now = database.clock.now()
        let text = localizer.text(.relayDelayed, sender.language)
        let first = try await database.write { tx -> Bool in
            guard try tx.claimConnectionNotice(connection: connection.id, kind: .delayed, now: now) else { return false }
            try OutboxWriter.queue(SendMessage(chatID: .id(sender.id), text: text), slot: connection.slot, chatID: sender.id, now: now, tx)
            return true
        }
        if first { signals.wakeAll() }
    }
}
