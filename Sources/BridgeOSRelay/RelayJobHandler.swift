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
/// An album's first item waits a moment for the rest (`RelaySettings.albumWait`) and takes them all along:
/// the album goes as one, its caption translated once; the later items' own jobs find them relayed.
public struct RelayJobHandler: JobHandler {
    public let kind = RelayJob.kind
    let database: AppDatabase
    let localizer: Localizer
    let settings: RelaySettings
    let translation: RelayTranslation
    /// Voice messages transcribed (nil: they go with a label saying they were not).
    let voice: VoiceTranscription?

    public func run(_ job: JobRow) async throws -> JobCompletion {
        let payload = try JSONDecoder().decode(RelayJob.self, from: Data(job.payload.utf8))
        guard let input = try TranslationInput.load(payload.messageID, contextMessages: settings.contextMessages, database: database) else {
            throw JobFailure.final("message \(payload.messageID) or its connection no longer exists")
        }
        let (connection, sender, recipient) = (input.connection, input.sender, input.recipient)
        var message: ConversationMessage = {
            var message = input.message
            // A media message queued before messages knew their kind (schema 0008) is still a copy.
            if payload.isMedia, message.kind == .text { message.kind = .caption }
            return message
        }()
        let localizer = localizer
        // Relayed already (with its album), or withdrawn before it went: nothing to do.
        if message.translatedRevision != nil || message.withdrawnAt != nil { return JobCompletion { _ in } }
        guard connection.isActive else {
            // Ended (/disconnect, /reset) before it ran: not translated (no provider call), not delivered,
            // and its sender is told.
            return JobCompletion { [id = message.id] context in
                try CounterpartNotices.tellSender(of: id, .relayUndeliveredEnded, localizer: localizer, context: context)
            }
        }
        if let group = message.mediaGroupID {
            let items = try database.read { tx in
                try tx.pendingAlbum(connection: connection.id, sender: sender.id, mediaGroupID: group, from: message.id)
            }
            if items.count > 1 { return try await album(items, input: input, fromChatID: payload.fromChatID) }
        }
        var translated: Translated
        if payload.media == .voice, let voice, let file = payload.voice,
           let transcript = try await voice.transcript(of: message, voice: file, slot: connection.slot, language: sender.language, job: job) {
            // The words of the voice (after its caption, if it had one) are what is translated and shown as the original.
            message.originalText = message.spoken(transcript)
            translated = try await translation.translateVoice(message.originalText, input)
        } else {
            translated = try await translation.translate(message.originalText, entities: message.storedEntities ?? payload.entities, input)
        }
        let delivery = CopyDelivery(localizer: localizer)
        // (A connection that ends while the translation runs is caught where every row is: the sender checks
        // the message's connection before it sends, and tells the sender instead.)
        return JobCompletion { [message, translated] context in
            // The translator answered: the delay is over, whatever becomes of this message, and the next outage
            // gets its own notices.
            try context.tx.clearConnectionNotice(connection: connection.id, kind: .delayed)
            // Withdrawn, or taken along with its album, while it was being translated.
            guard let current = try context.tx.message(message.id), current.withdrawnAt == nil, current.translatedRevision == nil else { return }
            // Erased by an admin while it was translated: its words stay gone, and nothing goes.
            guard try !context.tx.erasedSince(current) else { return }
            try delivery.deliver(message, translated: translated, purpose: payload.purpose, media: payload.media, fromChatID: payload.fromChatID,
                                 sender: sender, recipient: recipient, connection: connection, context: context)
            context.tx.afterCommit { [relayed = translation.relayed] in relayed.increment() }
        }
    }

    /// An album: its captions (usually one) translated, then one copy of all its items.
    private func album(_ items: [ConversationMessage], input: TranslationInput, fromChatID: Int64) async throws -> JobCompletion {
        var translations: [Int64: Translated] = [:]
        for item in items where !item.originalText.isEmpty {
            translations[item.id] = try await translation.translate(item.originalText, entities: item.storedEntities, input)
        }
        let delivery = CopyDelivery(localizer: localizer)
        let (connection, recipient) = (input.connection, input.recipient)
        return JobCompletion { [translations] context in
            try context.tx.clearConnectionNotice(connection: connection.id, kind: .delayed)
            let current = try items.compactMap { try context.tx.message($0.id) }
                .filter { try $0.withdrawnAt == nil && $0.translatedRevision == nil && !context.tx.erasedSince($0) }
            guard !current.isEmpty else { return }
            try delivery.deliverAlbum(current, translations: translations, fromChatID: fromChatID, recipient: recipient,
                                      connection: connection, context: context)
            context.tx.afterCommit { [relayed = translation.relayed, count = current.count] in relayed.increment(by: count) }
        }
    }

    /// The job failed for good (its translation never came, or it kept failing): the sender is told.
    public func failed(_ job: JobRow, reason: String, context: IntakeContext) throws {
        guard let payload = try? JSONDecoder().decode(RelayJob.self, from: Data(job.payload.utf8)) else { return }
        // Given up on: whoever was told of a delay is told of this instead, and a later delay gets its own notice.
        if let message = try context.tx.message(payload.messageID) {
            try context.tx.clearConnectionNotice(connection: message.connectionID, kind: .delayed)
        }
        try CounterpartNotices.tellSender(of: payload.messageID, .relayUndeliveredFailed, localizer: localizer, context: context)
    }
}

/// The relay's job handlers: translating a message, and translating an edited one again.
public enum RelayJobs {
    public static func handlers(database: AppDatabase, translator: any Translator, localizer: Localizer, settings: RelaySettings,
                                signals: RuntimeSignals, metrics: any MetricsFactory = NOOPMetricsHandler.instance,
                                health: ApplianceHealth? = nil, voice: VoiceTranscription? = nil, logger: Logger) -> [any JobHandler] {
        let translation = RelayTranslation(database: database, translator: translator, localizer: localizer, signals: signals,
                                           metrics: metrics, health: health, logger: logger)
        return [
            RelayJobHandler(database: database, localizer: localizer, settings: settings, translation: translation, voice: voice),
            RelayEditJobHandler(database: database, localizer: localizer, settings: settings, translation: translation),
            BackTranslationJobHandler(database: database, localizer: localizer, translator: translation.translator, logger: logger),
        ]
    }
}
