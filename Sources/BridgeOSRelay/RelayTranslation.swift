import BridgeOSCore
import BridgeOSFlows
import BridgeOSRuntime
import BridgeOSStorage
import BridgeOSTelegram
import BridgeOSTranslation
import CoreMetrics
import Foundation
import Logging

/// A message's text as it was written, and everything its translation needs (read before the provider call).
struct TranslationInput: Sendable {
    let message: ConversationMessage
    let connection: Connection
    let sender: User
    let recipient: User
    let industry: String
    let earlier: [ConversationMessage]
    /// The manager's glossary for the sender's and recipient's languages.
    let glossary: [GlossaryTerm]

    /// Reads what translating `messageID` needs; nil when the message or its people are gone.
    static func load(_ messageID: Int64, contextMessages: Int, database: AppDatabase) throws -> TranslationInput? {
        // A synchronous read: an async one would hold a pooled reader across a suspension, and with every
        // cooperative thread blocked in a synchronous read waiting for a reader, nothing could give it back.
        try database.read { tx -> TranslationInput? in
            guard let message = try tx.message(messageID),
                  let connection = try tx.connection(message.connectionID),
                  let sender = try tx.user(message.senderID),
                  let recipientID = connection.counterpart(of: sender.id), let recipient = try tx.user(recipientID)
            else { return nil }
            let industry = try tx.manager(connection.managerID)?.industry ?? "other"
            let earlier = try tx.messages(connection: connection.id, before: message.id, limit: contextMessages)
            let glossary = try tx.glossaryPair(manager: connection.managerID, source: sender.language, target: recipient.language)
                .map { $0.keep ? GlossaryTerm(keep: $0.source) : GlossaryTerm(source: $0.source, target: $0.target) }
            return TranslationInput(message: message, connection: connection, sender: sender, recipient: recipient,
                                    industry: industry, earlier: earlier, glossary: glossary)
        }
    }
}

/// A translation ready to deliver.
struct Translated: Sendable {
    var text: String
    var entities: [MessageEntity]?
    /// False when the text went as it was (same language, nothing to translate).
    var isTranslation: Bool
    /// The provider that translated it (nil: untranslated).
    var provider: String? = nil
    /// A voice message's text came from its transcript.
    var transcribed = false
}

/// Translates a conversation message with the conversation as context. A provider outage keeps the job (and
/// every later one of the conversation) waiting and tells the sender once; a translation that loses a
/// protected span is tried once more, then the original goes with a note.
struct RelayTranslation: Sendable {
    let database: AppDatabase
    /// The providers, in order; each one's latency and errors are counted by provider.
    let translator: TranslatorChain
    let localizer: Localizer
    let signals: RuntimeSignals
    let logger: Logger
    let metrics: any MetricsFactory
    /// Messages whose copy was queued for their recipient.
    let relayed: Counter
    let health: ApplianceHealth?

    init(database: AppDatabase, translator: any Translator, localizer: Localizer, signals: RuntimeSignals,
         metrics: any MetricsFactory, health: ApplianceHealth?, logger: Logger) {
        self.database = database
        self.translator = translator as? TranslatorChain ?? TranslatorChain([translator], metrics: metrics)
        self.localizer = localizer
        self.signals = signals
        self.logger = logger
        self.metrics = metrics
        self.health = health
        self.relayed = Counter(label: "bridgeos_messages_relayed_total", factory: metrics)
    }

    /// The request for `text` (placeholders in place of protected spans) of `input`'s message.
    static func request(_ text: String, placeholders: [String], _ input: TranslationInput) -> TranslationRequest {
        let (connection, sender, recipient) = (input.connection, input.sender, input.recipient)
        return TranslationRequest(
            text: text, sourceLanguage: sender.language, targetLanguage: recipient.language,
            context: input.earlier.map { .init(role: $0.senderID == connection.managerID ? .manager : .worker, text: $0.originalText) },
            speaker: sender.id == connection.managerID ? .manager : .worker,
            speakerGender: sender.gender.rawValue, addresseeGender: recipient.gender.rawValue, industry: input.industry,
            placeholders: placeholders, glossary: input.glossary, glossaryOwner: connection.managerID)
    }

    /// `text` (with `entities`) of `input`'s message, in the recipient's language.
    func translate(_ text: String, entities: [MessageEntity]?, _ input: TranslationInput) async throws -> Translated {
        let (connection, sender, recipient) = (input.connection, input.sender, input.recipient)
        let protected = ProtectedText(text, entities: entities)
        guard ProtectedText.needsTranslation(protected.text, from: sender.language, to: recipient.language) else {
            return Translated(text: text, entities: entities, isTranslation: false)
        }
        let request = Self.request(protected.text, placeholders: protected.placeholders, input)
        let fallback = Translated(text: untranslated(text, language: recipient.language), entities: protected.originalEntities, isTranslation: true)
        var unusable: Set<String> = []
        for attempt in 1...2 {
            let translation: Translation
            do {
                // A second try goes to the next provider, when there is one.
                translation = try await translator.translation(request, excluding: unusable)
                health?.translationSucceeded(at: database.clock.now())
            } catch let error as TranslationError {
                health?.translationFailed(at: database.clock.now(), kind: error.kindLabel)
                switch error {
                case let .retryable(reason, after):
                    try await noticeDelay(connection: connection, sender: sender)
                    throw JobFailure.retryable(reason, after: after)
                case let .final(reason, _):
                    logger.error("translation refused for good; sending the original", metadata: ["message": "\(input.message.id)", "error": "\(reason)"])
                    return fallback
                }
            }
            if let restored = protected.restoreWithEntities(in: translation.text) {
                return Translated(text: restored.text, entities: restored.entities, isTranslation: true, provider: translation.provider)
            }
            Counter(label: "bridgeos_translation_errors_total", dimensions: [("provider", translation.provider), ("kind", "lost_placeholder")],
                    factory: metrics).increment()
            logger.warning("translation lost a protected span", metadata: ["message": "\(input.message.id)", "attempt": "\(attempt)"])
            unusable.insert(translation.provider)
        }
        return fallback
    }

    /// A voice message's caption and words (`ConversationMessage.spoken`), translated as one text.
    func translateVoice(_ text: String, _ input: TranslationInput) async throws -> Translated {
        var translated = try await translate(text, entities: nil, input)
        translated.transcribed = true
        return translated
    }

    private func untranslated(_ text: String, language: String) -> String {
        "\(text)\n\(localizer.text(.relayUntranslatedNote, language))"
    }

    /// Tells the sender, once per outage, that delivery is delayed (each side of the connection that writes
    /// during it: the other side's notice does not tell them).
    private func noticeDelay(connection: Connection, sender: User) async throws {
        let now = database.clock.now()
        let text = localizer.text(.relayDelayed, sender.language)
        let first = try await database.write { tx -> Bool in
            guard try tx.claimConnectionNotice(connection: connection.id, kind: .delayed, user: sender.id, now: now) else { return false }
            try OutboxWriter.queue(SendMessage(chatID: .id(sender.id), text: text), slot: connection.slot, chatID: sender.id, now: now, tx)
            return true
        }
        if first { signals.wakeAll() }
    }
}

extension ConversationMessage {
    /// The entities stored with the text (nil when none, or unreadable).
    var storedEntities: [MessageEntity]? {
        guard let entities else { return nil }
        return try? JSONDecoder().decode([MessageEntity].self, from: Data(entities.utf8))
    }
}

extension Array where Element == MessageEntity {
    /// As stored with a message: JSON, nil when empty.
    var storedJSON: String? {
        guard !isEmpty, let data = try? JSONEncoder().encode(self) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
